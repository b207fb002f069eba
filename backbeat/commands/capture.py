"""`backbeat capture` and `backbeat capture-all`: record live radio streams into the landing folder.

Both stop cleanly on SIGINT/SIGTERM (the chunk being written is finished as a short chunk) or after
`--duration` seconds, and exit 1 when a station captured no audio at all, so cron and systemd notice.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from backbeat.settings import Settings
from integrations.radio import CaptureConfig, CaptureResult, capture_station, capture_stations, read_stations
from integrations.radio.stations import STATION_ID

_LANDING_HELP = "Landing folder; defaults to $BACKBEAT_DATA_DIR/landing."
_DURATION_HELP = "Stop after this many seconds (default: until SIGINT/SIGTERM)."


def _landing(landing: Path | None) -> Path:
    return landing or Settings.from_env().data_dir / "landing"


def _check_station_id(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not STATION_ID.fullmatch(value):
        raise click.BadParameter("use lowercase letters, digits and hyphens")
    return value


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while capturing; the previous handlers come back afterwards."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # signals can only be caught there
        yield stop
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, _frame: stop.set())
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


def _summary(result: CaptureResult) -> str:
    missing = sum(g.seconds for g in result.gaps)
    line = f"{result.station_id}: {len(result.chunks)} chunks, {len(result.gaps)} gaps ({missing:.1f} s missing)"
    if result.gaps:
        line += f"; last gap: {result.gaps[-1].reason}"
    if result.error:
        line += f"; failed: {result.error}"
    return line


@click.command("capture")
@click.argument("station_id", callback=_check_station_id)
@click.argument("url")
@click.option("--landing", type=click.Path(path_type=Path, file_okay=False), help=_LANDING_HELP)
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help=_DURATION_HELP)
@click.option("--chunk-seconds", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True)
def capture(station_id: str, url: str, landing: Path | None, duration: float | None, chunk_seconds: float) -> None:
    """Record one station's stream URL (Icecast/SHOUTcast MP3 or AAC, or HLS .m3u8) into chunk files."""
    _configure_logging()
    with _stop_on_signals() as stop:
        result = capture_station(
            station_id,
            url,
            _landing(landing),
            config=CaptureConfig(chunk_seconds=chunk_seconds),
            stop=stop,
            duration=duration,
        )
    click.echo(_summary(result))
    if not result.chunks:
        raise SystemExit(1)


@click.command("capture-all")
@click.option(
    "--stations",
    "stations_csv",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="CSV with station_id,name,stream_url,active,timezone.",
)
@click.option("--max-concurrent", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--landing", type=click.Path(path_type=Path, file_okay=False), help=_LANDING_HELP)
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help=_DURATION_HELP + " Per station.")
@click.option("--chunk-seconds", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True)
def capture_all(
    stations_csv: Path, max_concurrent: int, landing: Path | None, duration: float | None, chunk_seconds: float
) -> None:
    """Record every station marked active in the stations CSV, at most --max-concurrent at a time."""
    _configure_logging()
    try:
        stations, problems = read_stations(stations_csv)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in problems:
        click.echo(f"skipped {stations_csv.name} {problem}", err=True)
    active = [s for s in stations if s.active]
    if not active:
        raise click.ClickException(f"{stations_csv}: no active stations")
    with _stop_on_signals() as stop:
        results = capture_stations(
            active,
            _landing(landing),
            max_concurrent=max_concurrent,
            config=CaptureConfig(chunk_seconds=chunk_seconds),
            stop=stop,
            duration=duration,
        )
    for result in results:
        click.echo(_summary(result))
    silent = [r.station_id for r in results if not r.chunks]
    if silent:
        click.echo(f"no audio captured from: {', '.join(silent)}", err=True)
        raise SystemExit(1)
