"""Disputes of plays: the step machine Pending → Verified → Resolving → Review → Resolved, read from event files.

A station or an artist disputes a play; each step is one row of a CSV under `inbox/royalties/disputes/`
(dispute_id, play_id, status, resolution, actor, at, note). Steps are taken in order, none skipped, each by a
named actor at a timestamp no earlier than the previous step's; `resolved` carries the resolution: `upheld`
(the play is not paid) or `rejected` (the play is paid as posted). Until then the play's credits sit in hold.

Besides steps, a dispute's file holds its thread: `comment` rows (the text in `note`) and `attach` rows (the
evidence's sha256, name, media type and size; the file itself is in the content-addressed store of
`royalties.evidence`), each carrying the dispute's step at the time. The `action` column says which (empty: a
step, as in files written before threads existed).

Roles: each row may name the `role` its actor acted in. A station or artist may open a dispute, comment and
attach; an analyst or rights administrator may also verify and move it on; only a rights administrator may
resolve it. A step naming a role that may not take it is refused (field `role`); comments and attachments need
a role. A step without one is accepted as before roles existed (old files, and `dispute open|step` without
`--as`, kept for existing scripts); `dispute resolve|comment|attach` always record one.

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
from backbeat.royalties.evidence import ALLOWED_TYPES, MAX_BYTES, SHA256, Evidence, EvidenceStore
from backbeat.royalties.tables import DISPUTE_ACTIONS, DISPUTE_ACTIVITY, DISPUTE_EVENTS, DISPUTES

STEPS = ("pending", "verified", "resolving", "review", "resolved")
RESOLUTIONS = ("upheld", "rejected")
EVENT_COLUMNS = (
    "dispute_id",
    "play_id",
    "status",
    "resolution",
    "actor",
    "at",
    "note",
    "action",
    "role",
    "evidence_sha256",
    "evidence_name",
    "evidence_type",
    "evidence_bytes",
)
LEGACY_COLUMNS = EVENT_COLUMNS[:7]
"""The columns of files written before threads and roles; such a file is widened when a row is added to it."""
ACTIONS = DISPUTE_ACTIONS
ROLES = ("station", "artist", "analyst", "rights_admin")
ANYONE = ROLES
STAFF = ("analyst", "rights_admin")
PERMITTED_ROLES: dict[str, tuple[str, ...]] = {
    "pending": ANYONE,
    "verified": STAFF,
    "resolving": STAFF,
    "review": STAFF,
    "resolved": ("rights_admin",),
    "comment": ANYONE,
    "attach": ANYONE,
}
"""Who may do what: a step (by the status it reaches) or a thread action, and the roles allowed to."""
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


def _one_of(values: tuple[str, ...], default: str | None = None) -> f.Parser:
    def parse(value: str) -> str | None:
        value = value.strip().lower()
        if not value:
            return default
        if value not in values:
            raise f.FieldError(f"is not one of {', '.join(values)}")
        return value

    return parse


def _optional_count(value: str) -> int | None:
    return f.integer(value) if value.strip() else None


EVENT_FIELDS: dict[str, f.Parser] = {
    "dispute_id": f.matching(DISPUTE_ID, "a dispute id (letters, digits, . _ : -)"),
    "play_id": f.text,
    "status": _status,
    "resolution": _resolution,
    "actor": f.text,
    "at": timestamp,
    "note": f.optional_text,
    "action": f.optional_column(_one_of(ACTIONS, "step")),
    "role": f.optional_column(_one_of(ROLES)),
    "evidence_sha256": f.optional_column(f.optional_text),
    "evidence_name": f.optional_column(f.optional_text),
    "evidence_type": f.optional_column(f.optional_text),
    "evidence_bytes": f.optional_column(_optional_count),
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
    action: str = "step"
    role: str | None = None
    evidence: Evidence | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DisputeEvent:
        evidence = None
        if row.get("evidence_sha256") is not None:
            evidence = Evidence(
                row["evidence_sha256"],
                row.get("evidence_name") or "",
                row.get("evidence_type") or "",
                row.get("evidence_bytes") or 0,
            )
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
            row.get("action") or "step",
            row.get("role"),
            evidence,
        )

    def row(self) -> dict[str, str]:
        """The event as a row of an event file (every column of EVENT_COLUMNS, as text)."""
        evidence = self.evidence
        return {
            "dispute_id": self.dispute_id,
            "play_id": self.play_id,
            "status": self.status,
            "resolution": self.resolution or "",
            "actor": self.actor,
            "at": self.at.isoformat(sep=" "),
            "note": self.note or "",
            "action": "" if self.action == "step" else self.action,
            "role": self.role or "",
            "evidence_sha256": evidence.sha256 if evidence else "",
            "evidence_name": evidence.name if evidence else "",
            "evidence_type": evidence.media_type if evidence else "",
            "evidence_bytes": str(evidence.size) if evidence else "",
        }


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
    last_at: datetime | None = None
    evidence: tuple[str, ...] = ()
    comments: int = 0

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


class RoleError(StepError):
    """A step or thread action taken in a role that may not take it; the message names the roles that may."""


def authorize(action: str, role: str | None, dispute_id: str = "") -> None:
    """Raise RoleError unless `role` may take `action` (a step's status, `comment` or `attach`).

    No role passes for steps only (rows recorded before roles existed); comments and attachments need one.
    """
    allowed = PERMITTED_ROLES[action]
    what = {"pending": "open", "resolved": "resolve", "attach": "attach evidence to"}.get(action, action)
    subject = f"dispute {dispute_id}" if dispute_id else "a dispute"
    verb = f"{what} {subject}" if action in ("pending", "resolved", "attach") else f"take {subject} to {action}"
    if action == "comment":
        verb = f"comment on {subject}"
    needed = allowed[0] if len(allowed) == 1 else f"one of {', '.join(allowed)}"
    if role is None:
        if action in ("comment", "attach"):
            raise RoleError("role", "", f"a role is needed to {verb}: {needed}")
        return
    if role not in allowed:
        raise RoleError("role", role, f"role {role} may not {verb}: only {needed} may")


def _check_after_latest(state: DisputeState | None, event: DisputeEvent) -> None:
    if state is not None and state.last_at is not None and event.at < state.last_at:
        raise StepError(
            "at", event.at.isoformat(sep=" "), f"{event.at} is before the dispute's latest entry at {state.last_at}"
        )


def _apply_thread(state: DisputeState | None, event: DisputeEvent) -> DisputeState:
    if state is None:
        raise StepError("status", event.status, f"dispute {event.dispute_id} is not opened: open it first")
    if event.status != state.status:
        raise StepError("status", event.status, f"dispute {event.dispute_id} is {state.status}, not {event.status}")
    _check_after_latest(state, event)
    if event.action == "comment":
        if not event.note:
            raise StepError("note", "", "a comment needs its text in note")
        return replace(state, comments=state.comments + 1, last_at=event.at)
    evidence = event.evidence
    if evidence is None:
        raise StepError("evidence_sha256", "", "an attachment needs the evidence's sha256")
    if not SHA256.fullmatch(evidence.sha256):
        raise StepError("evidence_sha256", evidence.sha256, "is not a sha256 (64 lowercase hex digits)")
    if evidence.media_type not in ALLOWED_TYPES:
        raise StepError("evidence_type", evidence.media_type, f"is not one of {', '.join(ALLOWED_TYPES)}")
    if not 0 < evidence.size <= MAX_BYTES:
        raise StepError("evidence_bytes", str(evidence.size), f"is not between 1 and {MAX_BYTES:,}")
    if state.status == "resolved":
        raise StepError("status", event.status, f"dispute {event.dispute_id} is resolved: no more evidence")
    if evidence.sha256 in state.evidence:
        raise StepError(
            "evidence_sha256", evidence.sha256, f"this file is already attached to dispute {event.dispute_id}"
        )
    return replace(state, evidence=(*state.evidence, evidence.sha256), last_at=event.at)


def apply_step(
    state: DisputeState | None, event: DisputeEvent, known_plays: Mapping[str, Any] | None = None
) -> DisputeState:
    """The dispute's state after `event`, or StepError naming the field that breaks a rule.

    `known_plays` (play ids, e.g. a mapping to their station-day) rejects steps for plays that do not exist;
    None skips that check (the command line, which does not read the warehouse). Comments and attachments
    (`event.action`) leave the step where it is; a role that may not take the action raises RoleError.
    """
    authorize(event.status if event.action == "step" else event.action, event.role, event.dispute_id)
    if event.action != "attach" and event.evidence is not None:
        raise StepError(
            "evidence_sha256", event.evidence.sha256, f"evidence belongs to an attach entry, not a {event.action}"
        )
    if event.action != "step" and event.resolution is not None:
        raise StepError(
            "resolution", event.resolution, f"a resolution belongs to the resolved step, not to a {event.action}"
        )
    if known_plays is not None and event.play_id not in known_plays:
        raise StepError("play_id", event.play_id, f"play {event.play_id} is not in airplay.playlogs")
    if state is not None and event.play_id != state.play_id:
        raise StepError(
            "play_id", event.play_id, f"dispute {event.dispute_id} is about play {state.play_id}, not {event.play_id}"
        )
    if event.action != "step":
        return _apply_thread(state, event)
    expected = next_step(state.status if state else None)
    if event.status != expected:
        if expected is None and state is not None:
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
    _check_after_latest(state, event)
    if state is None:
        return DisputeState(
            event.dispute_id, event.play_id, event.actor, event.at, event.status, None, event.at, event.at
        )
    return replace(state, status=event.status, resolution=event.resolution, updated_at=event.at, last_at=event.at)


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
    """The accepted steps as rows of royalties.dispute_events (comments and attachments: `activity_frame`)."""
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
                "role": e.role,
            }
            for e in history.events
            if e.action == "step"
        ]
    )


def activity_frame(history: DisputeHistory) -> pl.DataFrame:
    """Every accepted entry (steps, comments, attachments with their sha256) as rows of
    royalties.dispute_activity: each dispute's audit trail, numbered in recorded order."""
    seq: dict[str, int] = {}
    rows = []
    for e in history.events:
        seq[e.dispute_id] = seq.get(e.dispute_id, 0) + 1
        rows.append(
            {
                "dispute_id": e.dispute_id,
                "seq": seq[e.dispute_id],
                "action": e.action,
                "status": e.status,
                "resolution": e.resolution,
                "role": e.role,
                "actor": e.actor,
                "acted_at": e.at,
                "note": e.note,
                "evidence_sha256": e.evidence.sha256 if e.evidence else None,
                "evidence_name": e.evidence.name if e.evidence else None,
                "evidence_type": e.evidence.media_type if e.evidence else None,
                "evidence_bytes": e.evidence.size if e.evidence else None,
                "source_file": e.source_file,
                "source_row": e.source_row,
            }
        )
    return DISPUTE_ACTIVITY.from_rows(rows)


def evidence_problems(history: DisputeHistory, store: EvidenceStore, dispute_id: str | None = None) -> list[str]:
    """Attachments (of `dispute_id`, or all) whose stored file is missing or no longer hashes to the sha256 the
    audit trail recorded: one readable line each, [] when every file checks out."""
    problems = []
    for e in history.events:
        if e.evidence is None or (dispute_id is not None and e.dispute_id != dispute_id):
            continue
        problem = store.verify(e.evidence.sha256)
        if problem:
            problems.append(
                f"{e.dispute_id}: {e.evidence.name} (sha256 {e.evidence.sha256}, attached by {e.actor} at {e.at}) "
                f"{problem}"
            )
    return problems


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

    def keyed(frame: pl.DataFrame) -> dict[str, tuple[Any, ...]]:
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
