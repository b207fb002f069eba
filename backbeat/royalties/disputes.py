"""Disputes of plays: the step machine Pending → Verified → Resolving → Review → Resolved, read from event files.

A station or an artist disputes a play; each step is one row of a CSV under `inbox/royalties/disputes/`
(dispute_id, play_id, status, resolution, actor, at, note). Steps are taken in order, none skipped, each by a
named actor at a timestamp no earlier than the previous step's; `resolved` carries the resolution: `upheld`
(the play is not paid) or `rejected` (the play is paid as posted). Until then the play's credits sit in hold.

Rows are applied in the order they were recorded: files by name, rows top to bottom. A row that breaks a rule
is rejected with its file, row, field and reason, and the dispute stays at the step it had reached.
No Dagster here: the `royalties/disputes` asset and the `backbeat royalties dispute` commands both use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject
from backbeat.royalties.tables import DISPUTE_EVENTS, DISPUTES

STEPS = ("pending", "verified", "resolving", "review", "resolved")
RESOLUTIONS = ("upheld", "rejected")
EVENT_COLUMNS = ("dispute_id", "play_id", "status", "resolution", "actor", "at", "note")
DISPUTE_ID = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,79}"
# The step's timestamp in royalties.dispute_events (`at` in the event files): its one timestamp column, looked
# up rather than named, because `at` is a keyword DuckDB does not accept as a bare column name.
EVENT_TIME = next(c.name for c in DISPUTE_EVENTS.columns if c.type == "timestamp")


def timestamp(value: str) -> datetime:
    """An ISO 8601 timestamp as naive UTC; one without an offset is taken to be UTC already."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise f.FieldError("is not a timestamp (ISO 8601, e.g. 2026-11-03T09:30:00Z)") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _resolution(value: str) -> str | None:
    value = value.strip().lower()
    if value and value not in RESOLUTIONS:
        raise f.FieldError(f"is not one of {', '.join(RESOLUTIONS)}")
    return value or None


def _status(value: str) -> str:
    value = value.strip().lower()
    if value not in STEPS:
        raise f.FieldError(f"is not one of {', '.join(STEPS)}")
    return value


EVENT_FIELDS: dict[str, f.Parser] = {
    "dispute_id": f.matching(DISPUTE_ID, "a dispute id (letters, digits, . _ : -)"),
    "play_id": f.text,
    "status": _status,
    "resolution": _resolution,
    "actor": f.text,
    "at": timestamp,
    "note": f.optional_text,
}


@dataclass(frozen=True)
class DisputeEvent:
    """One step of one dispute, as recorded."""

    dispute_id: str
    play_id: str
    status: str
    resolution: str | None
    actor: str
    at: datetime
    note: str | None = None
    source_file: str = ""
    source_row: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DisputeEvent:
        return cls(
            row["dispute_id"],
            row["play_id"],
            row["status"],
            row["resolution"],
            row["actor"],
            row["at"],
            row.get("note"),
            row.get("_source_file", ""),
            row.get("_row"),
        )


@dataclass(frozen=True)
class DisputeState:
    """Where a dispute stands: its play, who opened it and when, and its latest step."""

    dispute_id: str
    play_id: str
    opened_by: str
    opened_at: datetime
    status: str
    resolution: str | None
    updated_at: datetime

    @property
    def open(self) -> bool:
        """Unresolved: the play's credits are held."""
        return self.status != "resolved"


class StepError(ValueError):
    """A step that does not follow from the dispute's current state; `field` names the offending column."""

    def __init__(self, field_name: str, value: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.value = value
        self.reason = reason


def next_step(status: str | None) -> str | None:
    """The step that may follow `status` (None: not opened yet); None after `resolved`."""
    if status is None:
        return STEPS[0]
    index = STEPS.index(status)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


def apply_step(
    state: DisputeState | None, event: DisputeEvent, known_plays: Mapping[str, Any] | None = None
) -> DisputeState:
    """The dispute's state after `event`, or StepError naming the field that breaks a rule.

    `known_plays` (play ids, e.g. a mapping to their station-day) rejects steps for plays that do not exist;
    None skips that check (the command line, which does not read the warehouse).
    """
    if known_plays is not None and event.play_id not in known_plays:
        raise StepError("play_id", event.play_id, f"play {event.play_id} is not in airplay.playlogs")
    if state is not None and event.play_id != state.play_id:
        raise StepError(
            "play_id", event.play_id, f"dispute {event.dispute_id} is about play {state.play_id}, not {event.play_id}"
        )
    expected = next_step(state.status if state else None)
    if event.status != expected:
        if expected is None:
            reason = f"dispute {event.dispute_id} is already resolved ({state.resolution})"
        elif state is not None and event.status == state.status:
            reason = f"dispute {event.dispute_id} is already at {event.status}"
        else:
            now = state.status if state else "not opened"
            reason = f"dispute {event.dispute_id} is {now}: the next step is {expected}, steps cannot be skipped"
        raise StepError("status", event.status, reason)
    if event.status == "resolved" and event.resolution is None:
        raise StepError("resolution", "", f"resolved needs a resolution: {' or '.join(RESOLUTIONS)}")
    if event.status != "resolved" and event.resolution is not None:
        raise StepError(
            "resolution", event.resolution, f"a resolution belongs to the resolved step, not to {event.status}"
        )
    if state is not None and event.at < state.updated_at:
        raise StepError(
            "at",
            event.at.isoformat(sep=" "),
            f"{event.status} at {event.at} is before the {state.status} step at {state.updated_at}",
        )
    if state is None:
        return DisputeState(event.dispute_id, event.play_id, event.actor, event.at, event.status, None, event.at)
    return replace(state, status=event.status, resolution=event.resolution, updated_at=event.at)


@dataclass
class DisputeHistory:
    """Accepted steps in the order applied, each dispute's current state, and the rejected rows."""

    events: list[DisputeEvent] = field(default_factory=list)
    states: dict[str, DisputeState] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)


def replay(
    events: Iterable[DisputeEvent], known_plays: Mapping[str, Any] | None = None, rejects: Iterable[Reject] = ()
) -> DisputeHistory:
    """Apply `events` in order; a step that breaks a rule becomes a Reject and leaves its dispute unchanged."""
    history = DisputeHistory(rejects=list(rejects))
    for event in events:
        try:
            state = apply_step(history.states.get(event.dispute_id), event, known_plays)
        except StepError as exc:
            history.rejects.append(Reject(event.source_file, event.source_row, exc.field, exc.value, exc.reason))
            continue
        history.states[event.dispute_id] = state
        history.events.append(event)
    return history


def dispute_files(folder: Path) -> list[Path]:
    """The event files of `folder`, by name (hidden and partial files skipped)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.csv") if p.is_file() and not p.name.startswith("."))


def read_events(folder: Path) -> f.ParsedFile:
    """Every row of every event file, field-validated, in recorded order."""
    parsed = f.ParsedFile()
    for path in dispute_files(folder):
        parsed.extend(f.read_csv(path, EVENT_FIELDS))
    return parsed


def read_disputes(folder: Path, known_plays: Mapping[str, Any] | None = None) -> DisputeHistory:
    """Read and replay the event files of `folder`: field errors and broken steps both become Rejects."""
    parsed = read_events(folder)
    return replay((DisputeEvent.from_row(r) for r in parsed.rows), known_plays, parsed.rejects)


def events_frame(history: DisputeHistory) -> pl.DataFrame:
    """The accepted steps as rows of royalties.dispute_events."""
    return DISPUTE_EVENTS.from_rows(
        [
            {
                "dispute_id": e.dispute_id,
                "play_id": e.play_id,
                "status": e.status,
                "resolution": e.resolution,
                "actor": e.actor,
                EVENT_TIME: e.at,
                "note": e.note,
                "source_file": e.source_file,
                "source_row": e.source_row,
            }
            for e in history.events
        ]
    )


def disputes_frame(history: DisputeHistory, play_station_days: Mapping[str, tuple[str, date]]) -> pl.DataFrame:
    """One row per dispute at its current step, with the play's station and day (royalties.disputes)."""
    rows = []
    for state in sorted(history.states.values(), key=lambda s: s.dispute_id):
        station, day = play_station_days.get(state.play_id, (None, None))
        rows.append(
            {
                "dispute_id": state.dispute_id,
                "play_id": state.play_id,
                "station_id": station,
                "play_date": day,
                "opened_by": state.opened_by,
                "opened_at": state.opened_at,
                "status": state.status,
                "resolution": state.resolution,
                "updated_at": state.updated_at,
            }
        )
    return DISPUTES.from_rows(rows)


def dispute_changes(before: pl.DataFrame, after: pl.DataFrame) -> tuple[list[str], list[tuple[str, date]]]:
    """Disputes that are new, gone, or at another step or resolution than before, and their station-days.

    Both frames have royalties.disputes' columns; what the ledger holds or pays for a play depends on them.
    """

    def keyed(frame: pl.DataFrame) -> dict[str, tuple]:
        return {
            r["dispute_id"]: (r["play_id"], r["status"], r["resolution"], r["station_id"], r["play_date"])
            for r in frame.iter_rows(named=True)
        }

    old, new = keyed(before), keyed(after)
    changed = sorted(d for d in old.keys() | new.keys() if old.get(d) != new.get(d))
    pairs = {
        (state[3], state[4])
        for d in changed
        for state in (old.get(d), new.get(d))
        if state is not None and state[3] is not None and state[4] is not None
    }
    return changed, sorted(pairs)


def step_order_violations(events: pl.DataFrame) -> list[str]:
    """Disputes whose stored steps are not a prefix of the step order with non-decreasing timestamps."""
    problems = []
    events = events.rename({EVENT_TIME: "at"}) if EVENT_TIME != "at" else events
    for (dispute_id,), group in events.group_by("dispute_id", maintain_order=True):
        ranked = sorted(group.iter_rows(named=True), key=lambda r: STEPS.index(r["status"]))
        statuses = [r["status"] for r in ranked]
        if statuses != list(STEPS[: len(statuses)]):
            problems.append(f"{dispute_id}: steps {statuses}")
        elif any(a["at"] > b["at"] for a, b in zip(ranked, ranked[1:], strict=False)):
            problems.append(f"{dispute_id}: timestamps go backwards")
        elif any((r["status"] == "resolved") != (r["resolution"] is not None) for r in ranked):
            problems.append(f"{dispute_id}: resolution on the wrong step")
        elif len({r["play_id"] for r in ranked}) != 1:
            problems.append(f"{dispute_id}: more than one play")
    return problems
