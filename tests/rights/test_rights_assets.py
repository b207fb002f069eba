"""The rights assets materialized through Dagster on DuckDB and on PostgreSQL: blocked sets stay out of the
splits, a reviewer's approval lets one in, re-runs change nothing, and changed splits queue restatements."""

from datetime import date, datetime
from pathlib import Path

import pytest
from dagster import materialize

import assets.rights as rights_defs
from assets.common.paths import DataDirResource
from assets.rights.assets import rights_contracts, split_set_review, split_sheet_intake, validation_rules
from assets.rights.checks import (
    approved_splits_name_known_parties,
    approved_splits_sum_to_full_share,
    no_split_sets_await_review,
)
from backbeat.airplay.tables import PLAYLOGS
from backbeat.catalog.tables import TRACKS
from backbeat.common.reference import append_approval
from backbeat.rights import review
from integrations.warehouse import Warehouse, WarehouseResource

ASSETS = [
    validation_rules,
    split_sheet_intake,
    split_set_review,
    rights_contracts,
    approved_splits_sum_to_full_share,
    approved_splits_name_known_parties,
    no_split_sets_await_review,
]
TABLES = (
    "validation_rules",
    "split_sheet_lines",
    "field_provenance",
    "validation_issues",
    "review_tasks",
    "splits",
    "works",
    "recordings",
    "parties",
    "party_identifiers",
    "contracts",
    "contract_parties",
)
NORTH_DAY, SOUTH_DAY = ("north", date(2026, 11, 2)), ("south", date(2026, 11, 3))


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("postgres_server").create_database("rights_assets")


def _sheet(rs, rights_inbox: Path, w1_shares: tuple[str, str] = ("50", "50")) -> None:
    w1 = {"work_id": "W1", "iswc": rs.ISWC["W1"], "work_title": "Lights"}
    rows = [
        # W1: clean → approved by the rules.
        w1
        | {
            "party_id": "P1",
            "party_name": "Alice Writer",
            "ipi": rs.IPI["P1"],
            "role": "writer",
            "share_percent": w1_shares[0],
        },
        w1
        | {
            "party_id": "P2",
            "party_name": "Bob Composer",
            "ipi": rs.IPI["P2"],
            "role": "composer",
            "share_percent": w1_shares[1],
        },
        w1
        | {
            "party_id": "P3",
            "party_name": "Harbour Songs",
            "ipi": rs.IPI["P3"],
            "role": "publisher",
            "share_percent": "100",
        },
        # W2: writers add up to 90 % → blocked by RS001.
        {"work_id": "W2", "work_title": "Tide", "party_id": "P1", "role": "writer", "share_percent": "60"},
        {"work_id": "W2", "work_title": "Tide", "party_id": "P2", "role": "writer", "share_percent": "30"},
        # W3: a co-writer missing from the register → RS008, waits for review.
        {"work_id": "W3", "work_title": "Dune", "party_id": "P1", "role": "writer", "share_percent": "50"},
        {
            "work_id": "W3",
            "work_title": "Dune",
            "party_id": "P99",
            "party_name": "Newcomer",
            "role": "writer",
            "share_percent": "50",
        },
        # T1: the recording's artist and label.
        {
            "subject_type": "recording",
            "recording_id": "T1",
            "isrc": "NLBB12600001",
            "party_id": "P6",
            "role": "artist",
            "share_percent": "100",
            "valid_from": "2025-01-01",
        },
        {
            "subject_type": "recording",
            "recording_id": "T1",
            "isrc": "NLBB12600001",
            "party_id": "P5",
            "role": "label",
            "share_percent": "100",
            "valid_from": "2025-01-01",
        },
    ]
    rs.write_csv(rights_inbox / "split_sheets" / "sheet.csv", rs.FULL_HEADER, rows)


def _setup(rs, rights_inbox: Path, url: str) -> Warehouse:
    _sheet(rs, rights_inbox)
    rs.write_csv(
        rights_inbox / "contracts.csv",
        ("contract_id", "title", "document", "start_date", "end_date", "terms", "party_ids"),
        [
            (
                "CTR1",
                "Publishing agreement",
                "contracts/CTR1.pdf",
                "2025-01-01",
                "",
                "World",
                "P3:publisher; P1:writer;P42:writer",
            ),
            ("CTR2", "Backdated", "", "2025-01-01", "2024-01-01", "", "P1"),
        ],
    )
    db = Warehouse(url)
    tracks = [
        {"track_id": t, "isrc": isrc, "work_id": w, "title": f"Track {t}"}
        for t, (isrc, w) in {**rs.TRACKS, "T3": ("NLBB12600003", "W3")}.items()
    ]
    db.replace(TRACKS, TRACKS.from_rows([dict.fromkeys(TRACKS.column_names) | t for t in tracks]))
    plays = [
        ("p1", "north", "T1", NORTH_DAY[1]),
        ("p2", "south", "T3", SOUTH_DAY[1]),
        ("p3", "south", "T2", date(2026, 11, 4)),
    ]
    db.replace(
        PLAYLOGS,
        PLAYLOGS.from_rows(
            [
                dict.fromkeys(PLAYLOGS.column_names) | {"play_id": p, "station_id": s, "track_id": t, "play_date": d}
                for p, s, t, d in plays
            ]
        ),
    )
    return db


def _run(url: str, data_dir: Path) -> dict[str, bool]:
    """Materialize the rights assets and their checks; return whether each check passed."""
    result = materialize(
        ASSETS, resources={"warehouse": WarehouseResource(url=url), "data_dir": DataDirResource(data_dir=str(data_dir))}
    )
    assert result.success
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def _snapshot(db: Warehouse) -> dict[str, list[tuple]]:
    return {name: sorted(db.query(f"SELECT * FROM rights.{name}").rows(), key=str) for name in TABLES}


def _queue(db: Warehouse) -> list[tuple]:
    return db.query(
        "SELECT station_id, play_date, reason FROM royalties.restatement_queue ORDER BY requested_at, station_id"
    ).rows()


def test_rights_assets_block_review_approve_and_restate(warehouse_url, rights_inbox, rs):
    data_dir = rights_inbox.parents[1]
    db = _setup(rs, rights_inbox, warehouse_url)

    checks = _run(warehouse_url, data_dir)
    assert checks == {
        "approved_splits_sum_to_full_share": True,
        "approved_splits_name_known_parties": True,
        "no_split_sets_await_review": False,
    }  # W3 waits (a warning-severity check)
    splits = db.query(
        "SELECT subject_id, party_id, role_group, share_bp, approved_by FROM rights.splits "
        "ORDER BY subject_id, party_id"
    ).rows()
    assert splits == [
        ("T1", "P5", "label", 10_000, "rules"),
        ("T1", "P6", "performer", 10_000, "rules"),
        ("W1", "P1", "writer", 5000, "rules"),
        ("W1", "P2", "writer", 5000, "rules"),
        ("W1", "P3", "publisher", 10_000, "rules"),
    ]
    tasks = dict(db.query("SELECT subject_id, status FROM rights.review_tasks").rows())
    assert tasks == {"W2": "blocked", "W3": "open"}
    issues = db.query(
        "SELECT subject_id, rule_code, severity, message FROM rights.validation_issues ORDER BY subject_id, rule_code"
    ).rows()
    assert issues == [
        ("W2", "RS001", "error", "writer shares of work W2 (no validity dates) sum to 90.00 %, not 100.00 %"),
        ("W3", "RS008", "warning", "party P99 (Newcomer) is not in the party register (inbox/rights/parties.csv)"),
        ("W3", "RS020", "info", "party P99 (Newcomer) has no IPI on the sheet or in the register"),
    ]
    quarantined = db.query(
        "SELECT asset, source_file, row_number, field, reason FROM quarantine.rejected_rows ORDER BY asset, row_number"
    ).rows()
    assert quarantined == [
        (
            "rights/contracts",
            "contracts.csv",
            2,
            "party_ids",
            "party P42 is not in rights.parties (the party register)",
        ),
        ("rights/contracts", "contracts.csv", 3, "end_date", "end_date is before start_date 2025-01-01"),
        (
            "rights/splits",
            "split_sheets/sheet.csv",
            None,
            "share_percent",
            "RS001: writer shares of work W2 (no validity dates) sum to 90.00 %, not 100.00 %",
        ),
    ]
    assert db.query("SELECT contract_id, party_id, role FROM rights.contract_parties ORDER BY 2").rows() == [
        ("CTR1", "P1", "writer"),
        ("CTR1", "P3", "publisher"),
    ]
    assert db.query("SELECT work_id, iswc, title FROM rights.works ORDER BY 1").rows() == [
        ("W1", rs.ISWC["W1"], "Lights"),
        ("W2", None, "Tide"),
        ("W3", None, "Dune"),
    ]
    assert db.query("SELECT recording_id, work_id FROM rights.recordings ORDER BY 1").rows() == [
        ("T1", "W1"),
        ("T2", "W2"),
        ("T3", "W3"),
    ]
    assert db.scalar("SELECT count(*) FROM rights.parties WHERE party_id = 'P99'") == 0  # not approved yet
    assert db.query("SELECT party_id, value FROM rights.party_identifiers ORDER BY 1").rows() == [
        ("P1", rs.IPI["P1"]),
        ("P2", rs.IPI["P2"]),
        ("P3", rs.IPI["P3"]),
        ("P7", rs.IPI["P7"]),
    ]
    assert db.scalar("SELECT count(*) FROM rights.validation_rules") == 23
    first_queue = _queue(db)
    assert [(s, d) for s, d, _ in first_queue] == [NORTH_DAY]  # W1 and T1 newly approved: T1's plays
    assert first_queue[0][2] == "approved splits changed: recording T1, work W1"

    before = _snapshot(db)
    _run(warehouse_url, data_dir)
    assert _snapshot(db) == before  # same inputs, same rows
    assert _queue(db) == first_queue  # and nothing new to restate

    # A reviewer approves W3 (the CLI writes this file), and W1's sheet is corrected to 60/40.
    task_w3 = db.scalar("SELECT task_id FROM rights.review_tasks WHERE subject_id = 'W3'")
    review.append_decision(
        rights_inbox / "review_decisions",
        task_w3,
        "approve",
        "ana",
        "newcomer confirmed",
        now=datetime(2026, 11, 21, 9, 30),
    )
    _sheet(rs, rights_inbox, w1_shares=("60", "40"))
    assert _run(warehouse_url, data_dir)["no_split_sets_await_review"]
    tasks = db.query(
        "SELECT subject_id, status, decided_by, decided_at, note FROM rights.review_tasks ORDER BY 1"
    ).rows()
    assert tasks == [
        ("W2", "blocked", None, None, None),
        ("W3", "approved", "ana", datetime(2026, 11, 21, 9, 30), "newcomer confirmed"),
    ]
    w3 = db.query(
        "SELECT split_set_id, party_id, share_bp, approved_by FROM rights.splits WHERE subject_id = 'W3' "
        "ORDER BY party_id"
    ).rows()
    assert w3 == [(task_w3, "P1", 5000, "ana"), (task_w3, "P99", 5000, "ana")]
    assert db.query("SELECT name, source_file FROM rights.parties WHERE party_id = 'P99'").rows() == [
        ("Newcomer", "split_sheets/sheet.csv")
    ]
    w1 = db.query("SELECT party_id, share_bp FROM rights.splits WHERE subject_id = 'W1' ORDER BY 1").rows()
    assert w1 == [("P1", 6000), ("P2", 4000), ("P3", 10_000)]
    assert db.scalar("SELECT count(DISTINCT split_set_id) FROM rights.splits WHERE subject_id = 'W1'") == 1
    new_queue = _queue(db)[len(first_queue) :]
    assert sorted((s, d) for s, d, _ in new_queue) == [NORTH_DAY, SOUTH_DAY]
    assert {reason for *_, reason in new_queue} == {"approved splits changed: work W1, work W3"}
    before_latin1 = _snapshot(db)

    # A correction whose shares sum to 100.01 % is blocked, and W1's approved 60/40 stays in force meanwhile.
    _sheet(rs, rights_inbox, w1_shares=("60", "40.01"))
    _run(warehouse_url, data_dir)
    assert db.query("SELECT party_id, share_bp FROM rights.splits WHERE subject_id = 'W1' ORDER BY 1").rows() == w1
    assert db.scalar("SELECT status FROM rights.review_tasks WHERE subject_id = 'W1'") == "blocked"
    assert len(_queue(db)) == len(first_queue) + len(new_queue)
    _sheet(rs, rights_inbox, w1_shares=("60", "40"))

    # Re-saved as latin-1, the sheet cannot be read: every approved split stays in force, nothing is restated.
    sheet = rights_inbox / "split_sheets" / "sheet.csv"
    good = sheet.read_bytes()
    sheet.write_bytes(good.replace(b"Newcomer", "Newcomer \xd6".encode("latin-1")))
    _run(warehouse_url, data_dir)
    assert _snapshot(db)["splits"] == before_latin1["splits"]
    assert len(_queue(db)) == len(first_queue) + len(new_queue)
    assert db.query("SELECT status, rows_kept FROM quarantine.reference_changes").rows() == [("kept", 3)]
    sheet.write_bytes(good)

    # Withdrawing the sheet would withdraw every approval: held for a person, then applied once approved; every
    # subject changes and their plays are restated.
    sheet.unlink()
    _run(warehouse_url, data_dir)
    assert db.scalar("SELECT count(*) FROM rights.splits") == 7
    change, status, removed = db.query("SELECT change_id, status, rows_removed FROM quarantine.reference_changes").row(
        0
    )
    assert (status, removed) == ("held", 3)
    append_approval(data_dir / "inbox", change, "rights-manager")
    _run(warehouse_url, data_dir)
    assert db.scalar("SELECT count(*) FROM rights.splits") == 0
    assert sorted((s, d) for s, d, _ in _queue(db)[len(first_queue) + len(new_queue) :]) == [NORTH_DAY, SOUTH_DAY]


def test_rights_definitions_hold_the_assets_and_checks():
    defs = rights_defs.defs
    keys = {key.to_user_string() for a in defs.assets for key in a.keys}
    assert keys == {f"rights/{name}" for name in TABLES}
    assert len(list(defs.asset_checks)) == 3
