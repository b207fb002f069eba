"""Reviewer decisions: read from files, applied to open tasks only, written atomically by the CLI."""

import csv
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from backbeat.commands.rights import rights
from backbeat.rights import review, rules
from backbeat.rights.tables import REVIEW_TASKS, VALIDATION_ISSUES
from integrations.warehouse import Warehouse


def _set(set_id: str, *shares: tuple[str, str, int]) -> rules.SplitSet:
    kind, subject = set_id.split(":")[:2]
    lines = [
        {
            "split_set_id": set_id,
            "subject_type": kind,
            "subject_id": subject,
            "party_id": party,
            "role": role,
            "share_bp": bp,
            "valid_from": None,
            "valid_to": None,
            "source_file": "split_sheets/s.csv",
            "row_number": i + 2,
        }
        for i, (party, role, bp) in enumerate(shares)
    ]
    return rules.SplitSet(set_id, kind, subject, None, None, lines)


SETS = {
    s.split_set_id: s
    for s in (
        _set("work:W1:-:clean00000", ("P1", "writer", 10_000)),
        _set("work:W2:-:review0000", ("P9", "writer", 10_000)),
        _set("work:W3:-:review1111", ("P9", "composer", 10_000)),
        _set("work:W4:-:blocked000", ("P1", "writer", 9_000)),
    )
}
STATUSES = {
    "work:W1:-:clean00000": ("approved", []),
    "work:W2:-:review0000": ("open", ["RS008"]),
    "work:W3:-:review1111": ("open", ["RS008"]),
    "work:W4:-:blocked000": ("blocked", ["RS001"]),
}


def _write_decisions(path: Path, rows: list[tuple[str, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(review.DECISION_HEADER)
        writer.writerows(rows)


def test_decisions_apply_to_open_tasks_and_the_latest_wins(tmp_path):
    inbox = tmp_path / "rights"
    folder = inbox / "review_decisions"
    _write_decisions(
        folder / "2026-11-20.csv",
        [
            ("work:W2:-:review0000", "reject", "ana", "2026-11-20T09:00:00Z", "wrong co-writer?"),
            ("work:W3:-:review1111", "reject", "ana", "2026-11-20T09:05:00+01:00", ""),
        ],
    )
    _write_decisions(
        folder / "2026-11-21.csv",
        [
            ("work:W2:-:review0000", "Approve", "bo", "2026-11-21T10:00:00", "confirmed with the publisher"),
            ("work:W4:-:blocked000", "approve", "bo", "2026-11-21T10:01:00Z", ""),
            ("work:W1:-:clean00000", "approve", "bo", "2026-11-21T10:02:00Z", ""),
            ("work:W9:-:gone000000", "approve", "bo", "2026-11-21T10:03:00Z", ""),
            ("work:W2:-:review0000", "maybe", "bo", "2026-11-21T10:04:00Z", ""),
            ("work:W2:-:review0000", "approve", "", "2026-11-21T10:05:00Z", ""),
            ("work:W2:-:review0000", "approve", "bo", "yesterday", ""),
        ],
    )
    decisions, bad_rows = review.read_decisions(folder, inbox)
    assert [(r.source_file, r.row_number, r.field) for r in bad_rows] == [
        ("review_decisions/2026-11-21.csv", 6, "decision"),
        ("review_decisions/2026-11-21.csv", 7, "reviewer"),
        ("review_decisions/2026-11-21.csv", 8, "decided_at"),
    ]
    tasks = review.review_tasks(SETS, STATUSES)
    assert [(t["task_id"], t["status"]) for t in tasks] == [
        ("work:W2:-:review0000", "open"),
        ("work:W3:-:review1111", "open"),
        ("work:W4:-:blocked000", "blocked"),
    ]
    decided, refused = review.apply_decisions(tasks, decisions, ["work:W1:-:clean00000"])
    assert [(t["task_id"], t["status"], t["decided_by"], t["decided_at"], t["note"]) for t in decided] == [
        ("work:W2:-:review0000", "approved", "bo", datetime(2026, 11, 21, 10), "confirmed with the publisher"),
        ("work:W3:-:review1111", "rejected", "ana", datetime(2026, 11, 20, 8, 5), None),  # +01:00 → UTC
        ("work:W4:-:blocked000", "blocked", None, None, None),
    ]
    reasons = {r.value: r.reason for r in refused}
    assert set(reasons) == {"work:W4:-:blocked000", "work:W1:-:clean00000", "work:W9:-:gone000000"}
    assert "blocked by rule(s) RS001" in reasons["work:W4:-:blocked000"]
    assert "approved by the rules" in reasons["work:W1:-:clean00000"]
    assert "no review task has this id" in reasons["work:W9:-:gone000000"]
    assert all(r.row_number and r.field == "task_id" for r in refused)

    splits = review.approved_splits(SETS, STATUSES, decided)
    assert [(s["split_set_id"], s["party_id"], s["role_group"], s["approved_by"]) for s in splits] == [
        ("work:W1:-:clean00000", "P1", "writer", "rules"),
        ("work:W2:-:review0000", "P9", "writer", "bo"),
    ]


def test_append_decision_writes_a_whole_file_each_time(tmp_path):
    folder = tmp_path / "review_decisions"
    now = datetime(2026, 11, 21, 10, 0, 0)
    path = review.append_decision(folder, "work:W2:-:review0000", "approve", "ana", "ok, checked", now=now)
    review.append_decision(folder, "work:W3:-:review1111", "reject", "bo", None, now=now)
    assert path == folder / "2026-11-21.csv"
    assert sorted(p.name for p in folder.iterdir()) == [".decisions.lock", "2026-11-21.csv"]  # no .part left
    decisions, bad = review.read_decisions(folder, tmp_path)
    assert bad == []
    assert [(d.task_id, d.decision, d.reviewer, d.decided_at, d.note, d.row_number) for d in decisions] == [
        ("work:W2:-:review0000", "approve", "ana", now, "ok, checked", 2),
        ("work:W3:-:review1111", "reject", "bo", now, None, 3),
    ]


def test_cli_lists_open_tasks_and_appends_decisions(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    monkeypatch.setenv("BACKBEAT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BACKBEAT_WAREHOUSE_URL", url)
    runner = CliRunner()
    assert "materialize the rights assets first" in runner.invoke(rights, ["review", "list"]).output

    db = Warehouse(url)
    db.replace(REVIEW_TASKS, REVIEW_TASKS.from_rows(review.review_tasks(SETS, STATUSES)))
    blank = dict.fromkeys(VALIDATION_ISSUES.column_names)
    db.replace(
        VALIDATION_ISSUES,
        VALIDATION_ISSUES.from_rows(
            [
                blank
                | {
                    "split_set_id": "work:W2:-:review0000",
                    "rule_code": "RS008",
                    "severity": "warning",
                    "row_number": 2,
                    "message": "party P9 (Newcomer) is not in the party register",
                },
                blank
                | {
                    "split_set_id": "work:W4:-:blocked000",
                    "rule_code": "RS001",
                    "severity": "error",
                    "message": "writer shares of work W4 sum to 90.00 %",
                },
            ]
        ),
    )
    listed = runner.invoke(rights, ["review", "list"])
    assert listed.exit_code == 0, listed.output
    assert "work:W2:-:review0000  [open]  work W2" in listed.output
    assert "RS008 warning row 2: party P9 (Newcomer) is not in the party register" in listed.output
    assert "blocked000" not in listed.output
    assert "RS001 error: writer shares" in runner.invoke(rights, ["review", "list", "--all"]).output

    approved = runner.invoke(
        rights, ["review", "approve", "work:W2:-:review0000", "--reviewer", "ana", "--note", "checked"]
    )
    assert approved.exit_code == 0, approved.output
    blocked = runner.invoke(rights, ["review", "reject", "work:W4:-:blocked000", "--reviewer", "ana"])
    assert blocked.exit_code != 0 and "blocked by RS001" in blocked.output
    unknown = runner.invoke(rights, ["review", "approve", "work:W7:-:nope", "--reviewer", "ana"])
    assert unknown.exit_code != 0 and "no review task" in unknown.output
    assert runner.invoke(rights, ["review", "approve", "work:W2:-:review0000"]).exit_code != 0  # --reviewer needed

    decisions, bad = review.read_decisions(data_dir / "inbox" / "rights" / "review_decisions", data_dir)
    assert bad == [] and [(d.task_id, d.decision, d.reviewer, d.note) for d in decisions] == [
        ("work:W2:-:review0000", "approve", "ana", "checked")
    ]
