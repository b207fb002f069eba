"""Reference data (tariffs, stations, contracts, contacts, programme schedules, split sheets) changes only on
good evidence: the last good version stays in force until a valid file replaces it.

Plain Python over polars frames; each reference asset calls `reconcile` between reading its file and writing
its table:
- a file that cannot be read as a whole (encoding, size, header) changes nothing;
- a rejected row keeps the previous value of its key until a valid row replaces it; when a rejected row's key
  itself cannot be read, nobody knows what the file meant to keep, so that file removes nothing;
- a row disappears only when a valid file omits it, and when that would remove (or re-route) more than
  `HoldPolicy.max_share` of the previous rows, the removals are held for a person: the rows stay in force and a
  change appears in `quarantine.reference_changes` until `backbeat reference approve CHANGE_ID` approves it.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from integrations.warehouse import Column, Table, Warehouse, table

REFERENCE_CHANGES = table(
    "quarantine",
    "reference_changes",
    Column(
        "change_id",
        "text",
        "Stable id of the change: asset and a hash of the rows it would remove or re-route.",
        nullable=False,
    ),
    Column("asset", "text", "Reference asset, e.g. royalties/tariffs."),
    Column(
        "status",
        "text",
        "held (waits for a person), applied (approved and applied), kept (the last good "
        "version stayed in force because the file or rows were unreadable).",
    ),
    Column("reason", "text", "What happened, in words a person can act on."),
    Column("rows_before", "bigint", "Rows in force before this run."),
    Column("rows_removed", "bigint", "Rows the file would remove."),
    Column("rows_rerouted", "bigint", "Rows whose money-routing columns the file would change."),
    Column("rows_kept", "bigint", "Rows kept in force although the file omitted or rejected them."),
    Column("examples", "text", "Up to five keys affected, for the reviewer."),
    Column("recorded_at", "timestamp", "When this run recorded the change (UTC)."),
    primary_key=("change_id",),
    description="One row per reference-data change that was held for review or not applied, per asset; the "
    "review queue for bulk removals and re-routings.",
)

APPROVALS_FOLDER = Path("review") / "reference_changes"  # under the inbox: one CSV a day, written by the CLI
APPROVAL_COLUMNS = ("change_id", "reviewer", "approved_at", "note")


@dataclass(frozen=True)
class HoldPolicy:
    """When a valid file's removals (and re-routings) are held for a person instead of applied."""

    max_share: float = 0.2  # of the previous rows
    min_rows: int = 1  # fewer affected rows than this are never held


@dataclass
class Reconciled:
    """What is in force after a run, and what a person should see about it."""

    frame: pl.DataFrame
    rows_before: int = 0
    removed: int = 0
    rerouted: int = 0
    kept: int = 0
    held: bool = False
    unreadable: bool = False
    change_id: str = ""
    reasons: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, object]:
        """Figures for the materialization, so the UI shows what was held or kept."""
        return {
            "reference_rows_kept_in_force": self.kept,
            "reference_rows_removed": 0 if self.held else self.removed,
            "reference_change_held": self.held,
            "reference_file_unreadable": self.unreadable,
            **({"reference_change_id": self.change_id} if self.change_id else {}),
            **({"reference_notes": "; ".join(self.reasons)} if self.reasons else {}),
        }

    def event(self, asset: str, now: datetime) -> dict[str, object] | None:
        """The `REFERENCE_CHANGES` row for this run, or None when everything was applied as read."""
        if not (self.held or self.kept or self.unreadable):
            return None
        status = "held" if self.held else "kept"
        change_id = self.change_id or f"{asset}:kept:{now.strftime('%Y%m%d')}"
        return {
            "change_id": change_id,
            "asset": asset,
            "status": status,
            "reason": "; ".join(self.reasons),
            "rows_before": self.rows_before,
            "rows_removed": self.removed,
            "rows_rerouted": self.rerouted,
            "rows_kept": self.kept,
            "examples": ", ".join(self.examples[:5]),
            "recorded_at": now,
        }


def _keys(frame: pl.DataFrame, key: Sequence[str]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in frame.select(key).iter_rows()] if frame.height else []


def change_id(asset: str, removed: Iterable[tuple[Any, ...]], rerouted: Iterable[tuple[Any, ...]]) -> str:
    """The same removals and re-routings give the same id on every run, so one approval covers them."""
    digest = hashlib.sha256(repr((sorted(map(repr, removed)), sorted(map(repr, rerouted)))).encode()).hexdigest()
    return f"{asset}:{digest[:12]}"


def reconcile(
    asset: str,
    previous: pl.DataFrame,
    incoming: pl.DataFrame,
    key: Sequence[str],
    *,
    complete: bool,
    rejected_keys: set[tuple[Any, ...]] | None = None,
    unknown_rejects: bool = False,
    routing: Sequence[str] = (),
    approved: set[str] | None = None,
    policy: HoldPolicy | None = None,
) -> Reconciled:
    """The rows to keep in force: `incoming` (what passed validation) merged with what must stay of `previous`.

    `routing` names the columns that say where money goes (a party, a share): a row whose routing changes
    counts as re-routed. `approved` holds the change ids a person approved.
    """
    policy = policy or HoldPolicy()
    result = Reconciled(frame=incoming, rows_before=previous.height)
    if not complete:
        result.frame, result.unreadable, result.kept = previous, True, previous.height
        result.reasons.append("the file could not be read as a whole: the last good version stays in force")
        return result
    incoming_keys = set(_keys(incoming, key))
    missing = [k for k in _keys(previous, key) if k not in incoming_keys]
    if unknown_rejects:
        keep = set(missing)
        if keep:
            result.reasons.append("rows whose key could not be read were rejected: the file removes nothing")
    else:
        keep = {k for k in missing if k in (rejected_keys or set())}
        if keep:
            result.reasons.append("rejected rows keep their previous values until a valid row replaces them")
    removed = [k for k in missing if k not in keep]
    rerouted: list[tuple[Any, ...]] = []
    if routing and previous.height and incoming.height:
        before = {tuple(r[: len(key)]): r[len(key) :] for r in previous.select(*key, *routing).iter_rows()}
        rerouted = [
            tuple(r[: len(key)])
            for r in incoming.select(*key, *routing).iter_rows()
            if tuple(r[: len(key)]) in before and before[tuple(r[: len(key)])] != r[len(key) :]
        ]
    result.removed, result.rerouted = len(removed), len(rerouted)
    affected = len(removed) + len(rerouted)
    if previous.height and affected >= policy.min_rows and affected > policy.max_share * previous.height:
        result.change_id = change_id(asset, removed, rerouted)
        result.examples = [" ".join(map(str, k)) for k in (removed + rerouted)[:5]]
        if result.change_id not in (approved or set()):
            result.held = True
            keep |= set(removed) | set(rerouted)
            result.reasons.append(
                f"the file would remove {len(removed)} and re-route {len(rerouted)} of {previous.height} rows "
                f"(more than {policy.max_share:.0%}): held for review as {result.change_id}; approve with "
                f"`backbeat reference approve {result.change_id} --reviewer NAME`"
            )
        else:
            result.reasons.append(f"{result.change_id} approved: applied")
    result.kept = len(keep)
    if keep:
        keep_frame = pl.DataFrame(sorted(keep, key=repr), schema={c: previous.schema[c] for c in key}, orient="row")
        kept_previous = previous.join(keep_frame, on=list(key), how="semi")
        incoming = incoming.join(keep_frame, on=list(key), how="anti")
        result.frame = pl.concat([incoming, kept_previous.select(incoming.columns)], how="vertical_relaxed")
    return result


def read_approvals(inbox: Path) -> set[str]:
    """Change ids a person approved (`backbeat reference approve`), from every approvals file in the inbox."""
    folder = inbox / APPROVALS_FOLDER
    approved: set[str] = set()
    for path in sorted(folder.glob("*.csv")) if folder.exists() else []:
        with path.open(newline="", encoding="utf-8") as handle:
            approved |= {row["change_id"].strip() for row in csv.DictReader(handle) if row.get("change_id")}
    return approved


def append_approval(inbox: Path, change: str, reviewer: str, note: str = "", now: datetime | None = None) -> Path:
    """Record that `reviewer` approved `change`, atomically (written to a `.part` file and renamed)."""
    if not change.strip() or not reviewer.strip():
        raise ValueError("an approval needs a change id and a reviewer")
    now = now or datetime.now(UTC)
    folder = inbox / APPROVALS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{now.strftime('%Y-%m-%d')}.csv"
    existing = path.read_text(encoding="utf-8") if path.exists() else ",".join(APPROVAL_COLUMNS) + "\n"
    part = path.with_name(path.name + ".part")
    with part.open("w", newline="", encoding="utf-8") as handle:
        handle.write(existing)
        csv.writer(handle).writerow([change.strip(), reviewer.strip(), now.isoformat(timespec="seconds"), note])
    part.replace(path)
    return path


def record_reference_event(warehouse: Warehouse, asset: str, result: Reconciled) -> None:
    """Write this run's event (held or kept) to the review queue; an applied change clears its held row."""
    now = datetime.now(UTC).replace(tzinfo=None)
    event = result.event(asset, now)
    with warehouse.connect() as conn:
        conn.ensure(REFERENCE_CHANGES)
        conn.execute(
            f"DELETE FROM {REFERENCE_CHANGES.qualified_name} WHERE asset = ? AND status IN ('held', 'kept')", [asset]
        )
        if result.change_id and not result.held:
            conn.execute(f"DELETE FROM {REFERENCE_CHANGES.qualified_name} WHERE change_id = ?", [result.change_id])
            conn.insert(
                REFERENCE_CHANGES,
                REFERENCE_CHANGES.from_rows(
                    [
                        {
                            "change_id": result.change_id,
                            "asset": asset,
                            "status": "applied",
                            "reason": "; ".join(result.reasons),
                            "rows_before": result.rows_before,
                            "rows_removed": result.removed,
                            "rows_rerouted": result.rerouted,
                            "rows_kept": result.kept,
                            "examples": ", ".join(result.examples),
                            "recorded_at": now,
                        }
                    ]
                ),
            )
        if event is not None:
            conn.insert(REFERENCE_CHANGES, REFERENCE_CHANGES.from_rows([event]))


def keep_last_good(
    warehouse: Warehouse,
    table: Table,
    asset: str,
    incoming: pl.DataFrame,
    *,
    complete: bool,
    inbox: Path,
    key: Sequence[str] | None = None,
    rejected_keys: set[tuple[Any, ...]] | None = None,
    unknown_rejects: bool = False,
    routing: Sequence[str] = (),
    log: Callable[[str], object] | None = None,
) -> Reconciled:
    """Reconcile `incoming` with what `table` holds, write the result and the review event, log the notes.

    `key` defaults to the table's primary key. Returns the reconciliation with `frame` as written.
    """
    key = list(key or table.primary_key)
    previous = warehouse.read(table)
    result = reconcile(
        asset,
        previous,
        table.conform(incoming),
        key,
        complete=complete,
        rejected_keys=rejected_keys,
        unknown_rejects=unknown_rejects,
        routing=routing,
        approved=read_approvals(inbox),
    )
    result.frame = table.conform(result.frame)
    warehouse.replace(table, result.frame)
    record_reference_event(warehouse, asset, result)
    if log is not None:
        for note in result.reasons:
            log(f"{asset}: {note}")
    return result
