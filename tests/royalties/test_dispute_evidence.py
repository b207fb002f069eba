"""Disputes with evidence: content-addressed attachments, the comment thread and who may take which step.

Through the real `backbeat royalties dispute` commands on a temporary data directory, and the core
(`royalties.disputes`, `royalties.evidence`) directly; the audit trail is stored in a real DuckDB.
"""

import csv
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from backbeat.commands.royalties import royalties
from backbeat.royalties.disputes import (
    LEGACY_COLUMNS,
    DisputeEvent,
    RoleError,
    activity_frame,
    apply_step,
    events_frame,
    evidence_problems,
    read_disputes,
)
from backbeat.royalties.evidence import Evidence, EvidenceError, EvidenceStore
from backbeat.royalties.tables import DISPUTE_ACTIVITY
from integrations.warehouse import Warehouse

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% the station's programme log, 3 Nov 2026\n%%EOF\n"


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Cli:
    """`backbeat royalties --data-dir DATA dispute ...` through click's runner."""

    def __init__(self, data: Path) -> None:
        self.data, self.runner = data, CliRunner()

    def __call__(self, *args: str, ok: bool = True):
        result = self.runner.invoke(royalties, ["--data-dir", str(self.data), "dispute", *args])
        assert (result.exit_code == 0) == ok, result.output
        return result


def test_a_station_opens_with_evidence_and_comments_but_only_a_rights_admin_resolves(tmp_path):
    log = tmp_path / "programme-log.pdf"
    log.write_bytes(PDF)
    cli = Cli(tmp_path / "data")
    at = ["--at", "2026-11-05T09:00:00Z"]
    opened = cli(
        "open", "P1", "--actor", "radio-north", "--as", "station", "--attach", str(log), "--note", "jingle", *at
    )
    dispute_id, attached = opened.output.splitlines()
    assert attached == f"attached programme-log.pdf sha256 {sha256(PDF)} (stored)"
    cli("comment", dispute_id, "our log shows a jingle at 06:58", "--actor", "radio-north", "--as", "station", *at)
    file = tmp_path / "data" / "inbox" / "royalties" / "disputes" / f"{dispute_id}.csv"

    moved = cli("step", dispute_id, "verified", "--actor", "radio-north", "--as", "station", ok=False)
    assert "role station may not take dispute" in moved.output and "only one of analyst, rights_admin" in moved.output
    for step in ("verified", "resolving", "review"):
        cli("step", dispute_id, step, "--actor", "ana", "--as", "analyst", "--at", "2026-11-06T09:00:00Z")
    before = file.read_bytes()
    for role, actor in (("station", "radio-north"), ("analyst", "ana")):
        refused = cli("resolve", dispute_id, "upheld", "--actor", actor, "--as", role, ok=False)
        assert f"refused: role {role} may not resolve dispute {dispute_id}: only rights_admin may" in refused.output
    assert file.read_bytes() == before  # a refused resolution records nothing
    cli("resolve", dispute_id, "upheld", "--actor", "rita", "--as", "rights_admin", "--note", "log confirmed")

    history = read_disputes(file.parent)
    assert history.rejects == []
    assert history.states[dispute_id].resolution == "upheld"
    trail = activity_frame(history)
    assert trail.select("seq", "action", "status", "role", "actor").rows() == [
        (1, "step", "pending", "station", "radio-north"),
        (2, "attach", "pending", "station", "radio-north"),
        (3, "comment", "pending", "station", "radio-north"),
        (4, "step", "verified", "analyst", "ana"),
        (5, "step", "resolving", "analyst", "ana"),
        (6, "step", "review", "analyst", "ana"),
        (7, "step", "resolved", "rights_admin", "rita"),
    ]
    recorded = trail["evidence_sha256"][1]
    stored = tmp_path / "data" / "evidence" / recorded[:2] / recorded
    assert recorded == sha256(PDF) == sha256(stored.read_bytes())
    assert trail.select("evidence_name", "evidence_type", "evidence_bytes").row(1) == (
        "programme-log.pdf",
        "application/pdf",
        len(PDF),
    )
    assert events_frame(history)["role"].to_list() == ["station", "analyst", "analyst", "analyst", "rights_admin"]

    db = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    db.replace(DISPUTE_ACTIVITY, trail)
    assert db.read(DISPUTE_ACTIVITY, "action = 'attach'")["evidence_sha256"].to_list() == [sha256(PDF)]

    shown = cli("show", dispute_id)
    assert f"attach programme-log.pdf application/pdf {len(PDF)} bytes sha256 {sha256(PDF)} [verified]" in shown.output
    assert "comment: our log shows a jingle at 06:58" in shown.output
    assert "rita (rights_admin)  step resolved (upheld): log confirmed" in shown.output


def test_the_core_refuses_a_role_that_may_not_act_whoever_calls_it():
    at = datetime(2026, 11, 5, 9)
    opened = apply_step(None, DisputeEvent("D1", "P1", "pending", None, "radio-north", at, role="station"))
    review = opened
    for step in ("verified", "resolving", "review"):
        review = apply_step(review, DisputeEvent("D1", "P1", step, None, "ana", at, role="analyst"))
    with pytest.raises(RoleError, match="only rights_admin may") as caught:
        apply_step(review, DisputeEvent("D1", "P1", "resolved", "upheld", "radio-north", at, role="station"))
    assert caught.value.field == "role"
    with pytest.raises(RoleError, match="a role is needed to comment"):
        apply_step(opened, DisputeEvent("D1", "P1", "pending", None, "x", at, "hello", action="comment"))
    resolved = apply_step(review, DisputeEvent("D1", "P1", "resolved", "rejected", "rita", at, role="rights_admin"))
    assert (resolved.status, resolved.resolution) == ("resolved", "rejected")


def test_a_file_resolving_as_a_station_is_quarantined_naming_the_role(tmp_path):
    folder = tmp_path / "disputes"
    folder.mkdir()
    rows = [("pending", "", "station"), *((s, "", "analyst") for s in ("verified", "resolving", "review"))]
    rows.append(("resolved", "upheld", "station"))
    with (folder / "D1.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dispute_id", "play_id", "status", "resolution", "actor", "at", "note", "role"])
        writer.writerows(["D1", "P1", s, r, "someone", "2026-11-05T09:00:00Z", "", role] for s, r, role in rows)
    history = read_disputes(folder)
    assert history.states["D1"].status == "review"
    [reject] = history.rejects
    assert (reject.row_number, reject.field, reject.value) == (6, "role", "station")


def test_the_same_file_attached_twice_is_stored_once(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("06:58 jingle\n06:59 song\n", encoding="utf-8")
    cli = Cli(tmp_path / "data")
    first = cli("open", "P1", "--actor", "radio-north", "--as", "station", "--attach", str(log)).output.splitlines()
    second = cli("open", "P2", "--actor", "radio-south", "--as", "station").output.strip()
    again = cli("attach", second, str(log), "--actor", "radio-south", "--as", "station", "--note", "same log")
    assert again.output.strip().endswith("(already stored)") and first[1].endswith("(stored)")
    twice = cli("attach", first[0], str(log), "--actor", "radio-north", "--as", "station", ok=False)
    assert "already attached" in twice.output
    root = tmp_path / "data" / "evidence"
    assert [p.name for p in stored_files(root)] == [sha256(log.read_bytes())]

    store = EvidenceStore(tmp_path / "concurrent")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: store.put(log), range(8)))
    assert sorted(new for _, new in results) == [False] * 7 + [True]
    assert len(stored_files(store.root)) == 1 and not list(store.root.glob(".incoming-*"))


def test_a_tampered_stored_file_is_detected_and_never_overwritten(tmp_path):
    log = tmp_path / "log.pdf"
    log.write_bytes(PDF)
    cli = Cli(tmp_path / "data")
    dispute_id = cli("open", "P1", "--actor", "radio-north", "--as", "station", "--attach", str(log)).output.split()[0]
    assert "1 attachment(s) of 1 dispute(s) match" in cli("verify").output
    stored = tmp_path / "data" / "evidence" / sha256(PDF)[:2] / sha256(PDF)
    assert stored.stat().st_mode & 0o222 == 0  # stored read-only
    os.chmod(stored, 0o644)
    stored.write_bytes(PDF.replace(b"3 Nov", b"4 Nov"))

    shown = cli("show", dispute_id, ok=False)
    assert "TAMPERED OR MISSING" in shown.output and "was tampered with" in shown.output
    assert "was tampered with" in cli("verify", dispute_id, ok=False).output
    store = EvidenceStore(tmp_path / "data" / "evidence")
    [problem] = evidence_problems(read_disputes(tmp_path / "data" / "inbox" / "royalties" / "disputes"), store)
    assert problem.startswith(f"{dispute_id}: log.pdf (sha256 {sha256(PDF)}") and "now hashes to" in problem
    with pytest.raises(EvidenceError, match="was tampered with"):
        store.put(log)  # the original again: refused, the tampered copy is left for inspection
    assert stored.read_bytes() != PDF
    stored.unlink()
    assert "is missing" in cli("verify", ok=False).output


def test_evidence_over_the_limit_or_of_a_type_not_allowed_is_refused_before_anything_is_stored(tmp_path):
    store = EvidenceStore(tmp_path / "evidence", limit=100)
    big, program = tmp_path / "big.pdf", tmp_path / "tool.exe"
    big.write_bytes(b"%PDF-1.4\n" + b"x" * 200)
    program.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00")
    with pytest.raises(EvidenceError, match="larger than 100 bytes"):
        store.put(big)
    with pytest.raises(EvidenceError, match="not an allowed type"):
        store.put(program)
    assert stored_files(store.root) == []
    cli = Cli(tmp_path / "data")
    refused = cli("open", "P1", "--actor", "radio-north", "--as", "station", "--attach", str(program), ok=False)
    assert "not an allowed type" in refused.output
    assert list((tmp_path / "data" / "inbox" / "royalties" / "disputes").glob("*.csv")) == []
    no_role = cli("open", "P1", "--actor", "radio-north", "--attach", str(big), ok=False)
    assert no_role.exit_code == 2 and "Missing option '--as'" in no_role.output  # every step names its role
    assert not (tmp_path / "data" / "evidence").exists()
    fake = Evidence("ab" * 32, "x.pdf", "application/zip", 10)
    at = datetime(2026, 11, 5, 9)
    opened = apply_step(None, DisputeEvent("D1", "P1", "pending", None, "a", at, role="station"))
    with pytest.raises(ValueError, match="is not one of application/pdf"):
        apply_step(
            opened, DisputeEvent("D1", "P1", "pending", None, "a", at, action="attach", role="station", evidence=fake)
        )


def test_a_file_written_before_threads_is_widened_and_keeps_its_rows(tmp_path):
    folder = tmp_path / "data" / "inbox" / "royalties" / "disputes"
    folder.mkdir(parents=True)
    legacy = folder / "D-OLD.csv"
    legacy.write_text(
        ",".join(LEGACY_COLUMNS) + "\nD-OLD,P1,pending,,radio-north,2026-11-05 09:00:00,not ours\n", encoding="utf-8"
    )
    Cli(tmp_path / "data")("comment", "D-OLD", "any news?", "--actor", "radio-north", "--as", "station")
    history = read_disputes(folder)
    assert history.rejects == []
    assert [(e.action, e.role, e.note) for e in history.events] == [
        ("step", None, "not ours"),
        ("comment", "station", "any news?"),
    ]
