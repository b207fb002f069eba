"""The demo's rights inbox: sheets by role group, and the planted cases end where the demo says they do."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from backbeat.demo import catalog as catalog_mod
from backbeat.demo import rights as demo_rights
from backbeat.demo.generator import _write_catalog, _write_reference_data, demo_paths
from backbeat.rights import intake, rules

DAY = date(2026, 11, 2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's catalog and reference files (no audio), as `generate_demo` writes them for the tests' size."""
    data_dir = tmp_path_factory.mktemp("demo_rights")
    catalog = catalog_mod.build_catalog(7, n_artists=8, n_tracks=14, tracks_with_audio=8, before=DAY)
    paths = demo_paths(data_dir)
    _write_catalog(catalog, paths)
    _write_reference_data(7, DAY, catalog, paths)
    rights_inbox = data_dir / "inbox" / "rights"
    register, register_rejects = intake.read_party_register(rights_inbox / "parties.csv")
    read = intake.read_split_sheets(rights_inbox / "split_sheets", rights_inbox, register)
    tracks = {t.track_id: t for t in catalog.tracks}
    known = rules.Catalog({t: x.isrc for t, x in tracks.items()}, frozenset(x.work_id for x in tracks.values()))
    findings = rules.evaluate(read.lines, read.provenance, register, known)
    statuses = rules.set_statuses(rules.split_sets(read.lines), findings)
    return {
        "sheets": demo_rights.build_split_sheets(7, catalog),
        "catalog": catalog,
        "read": read,
        "register_rejects": register_rejects,
        "inbox": rights_inbox,
        "register": register,
        "status": {set_id.split(":")[1]: status for set_id, status in statuses.items()},
    }


def test_every_kind_of_sheet_is_written_and_read_without_rejects(demo):
    names = sorted(p.name for p in (demo["inbox"] / "split_sheets").iterdir())
    assert names[0].endswith("_scan.png") and names[1] == "recordings_backbeat_records.xlsx"
    assert all(n.startswith("sheet_") and n.endswith(".csv") for n in names[2:]) and len(names) == 5
    assert demo["read"].rejects == [] and demo["register_rejects"] == []
    contracts, parties, rejects = intake.read_contracts(
        demo["inbox"] / "contracts.csv", "contracts.csv", set(demo["register"].parties)
    )
    assert (
        rejects == []
        and len(contracts) == 4
        and {p["role"] for p in parties} == {"publisher", "writer", "label", "artist"}
    )


def test_shares_sum_to_100_per_role_group_except_the_planted_invalid_work(demo):
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in demo["read"].lines:
        group = {
            "writer": "writer",
            "composer": "writer",
            "publisher": "publisher",
            "artist": "performer",
            "label": "label",
        }[line["role"]]
        totals[(line["subject_id"], group)] += Decimal(line["share_text"])
    wrong = {key: total for key, total in totals.items() if total != 100}
    assert wrong == {(demo["sheets"].invalid_work, "writer"): Decimal("90.00")}
    works = {subject for subject, group in totals if group == "publisher"}
    assert all((w, "writer") in totals for w in works)


def test_planted_cases_are_blocked_reviewed_or_approved(demo):
    sheets, status = demo["sheets"], dict(demo["status"])
    assert status.pop(sheets.invalid_work) == ("blocked", ["RS001"])
    assert status.pop(sheets.review_work) == ("open", ["RS008"])
    assert sheets.unregistered_party not in demo["register"]
    scanned = sheets.scans[0].work_id
    assert status[scanned] == ("approved", [])  # read by OCR, every field confident, every rule passed
    assert all(value == ("approved", []) for value in status.values())
    assert {t.work_id for t in demo["catalog"].tracks} - set(status) - {sheets.invalid_work, sheets.review_work} == set(
        sheets.works_without_sheet
    )
    recordings = [s for s in status if s.startswith("TRK")]
    assert len(recordings) == 2
