"""Progress for long commands: a bar on a terminal, silence elsewhere, and always a summary.

`track(...)` is a context manager. On a terminal (stderr is a TTY) it draws a rich progress bar on stderr with
items done / total, rate, elapsed time and ETA; in CI, cron or Dagster logs (no TTY) it draws nothing. Either way
it yields a `Tracker` whose `summary` dict the command fills in and prints: as its one human line, or as one JSON
object on stdout with `--json` (see `emit`). The core (`audio/`, `backbeat.pipeline`) takes a plain
`(done, total)` callback; only this CLI layer knows about rich.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print a one-object JSON summary on stdout instead of the summary line."
)


class RateColumn(ProgressColumn):
    """Items per second (rich's own speed column counts bytes)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None and task.completed and task.elapsed:
            speed = task.completed / task.elapsed  # rich's windowed estimate needs two items within 30 s
        if speed is None:
            return Text(f"? {self.unit}/s", style="progress.data.speed")
        if speed < 1:  # slow items (Dagster runs) read better per minute
            return Text(f"{speed * 60:.1f} {self.unit}/min", style="progress.data.speed")
        return Text(
            f"{speed:.1f} {self.unit}/s" if speed < 100 else f"{speed:.0f} {self.unit}/s", style="progress.data.speed"
        )


class Tracker:
    """Counts items done; draws them when a bar is live. `summary` always gets done, total and seconds."""

    def __init__(self, total: int | None, progress: Progress | None, task: TaskID | None) -> None:
        self.total = total
        self.done = 0
        self.summary: dict[str, Any] = {}
        self._progress = progress
        self._task = task
        self._started = time.perf_counter()

    @property
    def live(self) -> bool:
        """True when a progress bar is being drawn (stderr is a terminal)."""
        return self._progress is not None

    def update(self, done: int, total: int | None = None) -> None:
        """The core's callback: `done` items so far, out of `total` when it is known."""
        self.done = done
        if total is not None:
            self.total = total
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, total=self.total)

    def advance(self, step: int = 1) -> None:
        self.update(self.done + step)

    def echo(self, line: str, err: bool = False) -> None:
        """A log line that prints above the bar when one is live."""
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(line, err=err)

    def finish(self) -> dict[str, Any]:
        seconds = time.perf_counter() - self._started
        self.summary = {
            "done": self.done,
            "total": self.total,
            "seconds": round(seconds, 3),
            "per_second": round(self.done / seconds, 3) if seconds > 0 else None,
            **self.summary,
        }
        return self.summary


def _interactive(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def track(
    description: str, total: int | None, unit: str = "items", stream: IO[str] | None = None, enabled: bool | None = None
) -> Iterator[Tracker]:
    """Show progress over `total` items (None: not known yet) while the block runs.

    Drawn on `stream` (default: stderr) only when it is a terminal, unless `enabled` says otherwise. After the
    block, `tracker.summary` holds done, total, seconds and per_second plus what the block added.
    """
    stream = stream if stream is not None else sys.stderr
    if not (_interactive(stream) if enabled is None else enabled):
        tracker = Tracker(total, None, None)
        try:
            yield tracker
        finally:
            tracker.finish()
        return
    console = Console(file=stream, force_terminal=True if enabled else None)
    # With no total (the demo's runs: sensors decide how many) there is no percentage and no ETA to show.
    known = [TaskProgressColumn()] if total is not None else []
    eta = [TextColumn("ETA"), TimeRemainingColumn()] if total is not None else []
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *known,
        RateColumn(unit),
        TimeElapsedColumn(),
        *eta,
        console=console,
        # Lines printed to stdout go above the bar only when stdout is that terminal too; redirected output stays
        # on stdout.
        redirect_stdout=_interactive(sys.stdout),
        redirect_stderr=stream is sys.stderr,
    )
    with progress:
        tracker = Tracker(total, progress, progress.add_task(description, total=total))
        try:
            yield tracker
        finally:
            tracker.finish()


def emit(summary: dict[str, Any], line: str, as_json: bool) -> None:
    """Print the command's result: `line` for people, or `summary` as one JSON object for scripts."""
    click.echo(json.dumps(summary, default=str, sort_keys=True) if as_json else line)
