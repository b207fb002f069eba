"""Review tasks and reviewers' decisions: which split sets wait for a person, and which a person approved.

A split set the rules blocked (errors) or sent to review (warnings) gets a task whose id is the split set id.
Reviewers decide open tasks in CSV files under `inbox/rights/review_decisions/` (`task_id, decision, reviewer,
decided_at, note`; decision approve | reject), written by hand or by `backbeat rights review approve|reject`.
Every run re-applies every decision file, so a decision lasts as long as the sheet it decided is unchanged (a
corrected sheet is a new split set with a new task). The latest decision of a task wins. Plain Python.
"""

import csv
import fcntl
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject
from backbeat.rights.intake import sheet_files
from backbeat.rights.rules import SplitSet

DECISIONS = ("approve", "reject")
DECISION_HEADER = ("task_id", "decision", "reviewer", "decided_at", "note")
STATUS_OF_DECISION = {"approve": "approved", "reject": "rejected"}


@dataclass(frozen=True)
class Decision:
    """One reviewer decision, as read from a decisions file."""

    task_id: str
    decision: str
    reviewer: str
    decided_at: datetime  # naive UTC
    note: str | None
    source_file: str
    row_number: int


def utc_timestamp(value: str) -> datetime:
    """ISO 8601 date-time (an offset or `Z` is converted to UTC; none means UTC) as naive UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise f.FieldError("is not an ISO 8601 date-time (e.g. 2026-11-21T10:00:00Z)") from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _decision(value: str) -> str:
    decision = value.strip().lower()
    if decision not in DECISIONS:
        raise f.FieldError(f"must be one of {', '.join(DECISIONS)}")
    return decision


DECISION_FIELDS = {
    "task_id": f.text,
    "decision": _decision,
    "reviewer": f.text,
    "decided_at": utc_timestamp,
    "note": f.optional_text,
}


def read_decisions(folder: Path, rights_inbox: Path) -> tuple[list[Decision], list[Reject]]:
    """Every decision in the `*.csv` files under `folder`; malformed rows (and other files) become rejects."""
    decisions, rejects = [], []
    for path in sheet_files(folder):
        label = path.relative_to(rights_inbox).as_posix() if path.is_relative_to(rights_inbox) else str(path)
        if path.suffix.lower() != ".csv":
            rejects.append(Reject(label, None, "", path.suffix, "not a decisions file: expected .csv"))
            continue
        parsed = f.read_csv(path, DECISION_FIELDS, label)
        rejects.extend(parsed.rejects)
        decisions.extend(
            Decision(r["task_id"], r["decision"], r["reviewer"], r["decided_at"], r["note"], label, r["_row"])
            for r in parsed.rows
        )
    return decisions, rejects


def review_tasks(sets: dict[str, SplitSet], statuses: dict[str, tuple[str, list[str]]]) -> list[dict[str, Any]]:
    """`rights.review_tasks` rows for the sets that need a person: blocked or open (before decisions)."""
    return [
        {
            "task_id": set_id,
            "subject_type": sets[set_id].subject_type,
            "subject_id": sets[set_id].subject_id,
            "status": status,
            "rule_codes": ",".join(codes),
            "source_file": sets[set_id].source_files[0],
            "decided_by": None,
            "decided_at": None,
            "note": None,
        }
        for set_id, (status, codes) in sorted(statuses.items())
        if status in ("blocked", "open")
    ]


def apply_decisions(
    tasks: list[dict[str, Any]], decisions: Iterable[Decision], approved_by_rules: Iterable[str] = ()
) -> tuple[list[dict[str, Any]], list[Reject]]:
    """Tasks with the latest decision of each open task applied; decisions that cannot apply become rejects."""
    by_id = {task["task_id"]: dict(task) for task in tasks}
    clean = set(approved_by_rules)
    latest: dict[str, Decision] = {}
    rejects = []
    for decision in sorted(decisions, key=lambda d: (d.decided_at, d.source_file, d.row_number)):
        task = by_id.get(decision.task_id)
        reason = None
        if task is None and decision.task_id in clean:
            reason = "the split set was approved by the rules: there is nothing to review"
        elif task is None:
            reason = (
                "no review task has this id (a corrected sheet is a new split set with a new task: "
                "see `backbeat rights review list`)"
            )
        elif task["status"] == "blocked":
            reason = (
                f"the split set is blocked by rule(s) {task['rule_codes']}: errors need a corrected sheet, "
                "a review cannot approve or reject it"
            )
        if reason:
            rejects.append(Reject(decision.source_file, decision.row_number, "task_id", decision.task_id, reason))
        else:
            latest[decision.task_id] = decision
    for task_id, decision in latest.items():
        by_id[task_id].update(
            status=STATUS_OF_DECISION[decision.decision],
            decided_by=decision.reviewer,
            decided_at=decision.decided_at,
            note=decision.note,
        )
    return [by_id[task["task_id"]] for task in tasks], rejects


def approved_splits(
    sets: dict[str, SplitSet], statuses: dict[str, tuple[str, list[str]]], tasks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`rights.splits` rows: the lines of sets approved by the rules or by a reviewer, nothing else."""
    from backbeat.rights.roles import ROLE_GROUP

    approvers = {set_id: "rules" for set_id, (status, _) in statuses.items() if status == "approved"}
    approvers.update({t["task_id"]: t["decided_by"] for t in tasks if t["status"] == "approved"})
    rows = []
    for set_id, approver in sorted(approvers.items()):
        for line in sets[set_id].lines:
            rows.append(
                {
                    "split_set_id": set_id,
                    "subject_type": line["subject_type"],
                    "subject_id": line["subject_id"],
                    "party_id": line["party_id"],
                    "role": line["role"],
                    "role_group": ROLE_GROUP[line["role"]],
                    "share_bp": line["share_bp"],
                    "valid_from": line["valid_from"],
                    "valid_to": line["valid_to"],
                    "source_file": line["source_file"],
                    "source_row": line["row_number"],
                    "approved_by": approver,
                }
            )
    return rows


# ---- Writing decisions (the CLI) ------------------------------------------------------------------------------


def decisions_file(folder: Path, now: datetime) -> Path:
    """Where the CLI appends today's decisions: one file per UTC day."""
    return folder / f"{now.strftime('%Y-%m-%d')}.csv"


def append_decision(
    folder: Path, task_id: str, decision: str, reviewer: str, note: str | None = None, now: datetime | None = None
) -> Path:
    """Append one decision to today's decisions file, atomically: the rights sensor never sees half a file.

    The new content is written to `<file>.part` (which the sensor ignores) and renamed over the file; a lock
    file serialises concurrent reviewers.
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if not task_id.strip() or not reviewer.strip():
        raise ValueError("a decision needs a task id and a reviewer")
    now = now or datetime.now(UTC).replace(tzinfo=None)
    folder.mkdir(parents=True, exist_ok=True)
    target = decisions_file(folder, now)
    with open(folder / ".decisions.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = target.read_text(encoding="utf-8") if target.exists() else ""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if not existing:
            writer.writerow(DECISION_HEADER)
        elif not existing.endswith("\n"):
            buffer.write("\n")
        writer.writerow(
            [task_id.strip(), decision, reviewer.strip(), now.isoformat(timespec="seconds") + "Z", (note or "").strip()]
        )
        partial = target.with_name(target.name + ".part")
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            handle.write(existing + buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    return target
