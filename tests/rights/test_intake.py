"""Split-sheet intake: CSV, XLSX, scanned PNG (clean and phone-like) and PDF, with provenance and rejects."""

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from backbeat.identifiers import ipi_name_number
from backbeat.rights import intake, rules

SCAN_IPI = {
    "Alice Moreno": ipi_name_number(700_001),
    "Benjamin Okafor": ipi_name_number(700_002),
    "Harbour Songs Ltd": ipi_name_number(700_003),
}
SCAN_PARTY_IDS = {"Alice Moreno": "PA", "Benjamin Okafor": "PB", "Harbour Songs Ltd": "PH"}
EXPECTED_SCAN = [("PA", "writer", 5000), ("PB", "composer", 5000), ("PH", "publisher", 10_000)]


def _shares(lines: list[dict]) -> list[tuple]:
    return [(line["party_id"], line["role"], line["share_bp"]) for line in lines]


# ---- Typed sheets ------------------------------------------------------------------------------------------


def test_csv_lines_keep_file_and_row_and_group_into_split_sets(rights_inbox, rs):
    rs.write_csv(
        rights_inbox / "split_sheets" / "2024" / "harbour.csv",
        rs.FULL_HEADER,
        [
            {
                "work_id": "W1",
                "iswc": rs.ISWC["W1"],
                "work_title": "Lights",
                "party_id": "P1",
                "party_name": "Alice Writer",
                "ipi": rs.IPI["P1"],
                "role": "Writer",
                "share_percent": "50",
            },
            {},  # a blank line is skipped, not rejected
            {"work_id": "W1", "party_name": "bob  composer", "role": "composer", "share_percent": "50.00"},
            {
                "work_id": "W1",
                "party_id": "P3",
                "role": "publisher",
                "share_percent": "100",
                "valid_from": "2025-01-01",
            },
            {
                "subject_type": "recording",
                "recording_id": "T1",
                "isrc": "NLBB12600001",
                "party_id": "P6",
                "role": "artist",
                "share_percent": "100",
            },
        ],
    )
    register, _ = intake.read_party_register(rights_inbox / "parties.csv")
    read = intake.read_split_sheets(rights_inbox / "split_sheets", rights_inbox, register)
    assert read.rejects == [] and read.files == ["split_sheets/2024/harbour.csv"]
    rows = [
        (x["row_number"], x["subject_type"], x["subject_id"], x["party_id"], x["role"], x["share_bp"], x["valid_from"])
        for x in read.lines
    ]
    assert rows == [
        (2, "work", "W1", "P1", "writer", 5000, None),
        (4, "work", "W1", "P2", "composer", 5000, None),  # resolved from the register by name
        (5, "work", "W1", "P3", "publisher", 10_000, date(2025, 1, 1)),
        (6, "recording", "T1", "P6", "artist", 10_000, None),
    ]
    assert all(x["source_file"] == "split_sheets/2024/harbour.csv" and x["page"] is None for x in read.lines)
    set_ids = [x["split_set_id"] for x in read.lines]
    assert set_ids[0] == set_ids[1] and len(set(set_ids)) == 3  # a window or a subject starts a new set
    assert set_ids[0].startswith("work:W1:-:") and set_ids[2].startswith("work:W1:2025-01-01:")
    assert set_ids[3].startswith("recording:T1:-:")


def test_split_set_id_follows_content_not_place(rights_inbox, rs):
    register, _ = intake.read_party_register(rights_inbox / "parties.csv")
    base = [
        {"work_id": "W1", "party_id": "P1", "role": "writer", "share_percent": "60"},
        {"work_id": "W1", "party_id": "P2", "role": "writer", "share_percent": "40"},
    ]

    def set_id(name: str, rows: list[dict]) -> str:
        path = rs.write_csv(rights_inbox / "elsewhere" / name, rs.FULL_HEADER, rows)
        lines, rejects = intake.read_typed_sheet(path, name, register)
        return {line["split_set_id"] for line in intake.assign_split_sets(lines)}.pop()

    original = set_id("a.csv", base)
    assert set_id("b.csv", [{}, *reversed(base)]) == original  # other file, other order, other rows
    corrected = set_id("c.csv", [base[0] | {"share_percent": "50"}, base[1] | {"share_percent": "50"}])
    assert corrected != original and corrected.startswith("work:W1:-:")


def test_bad_rows_and_files_are_rejected_naming_file_row_and_field(rights_inbox, rs):
    folder = rights_inbox / "split_sheets"
    rs.write_csv(
        folder / "rows.csv",
        rs.FULL_HEADER,
        [
            {"work_id": "W1", "party_id": "P1", "role": "writer", "share_percent": "100", "valid_from": "2025-02-30"},
            {"subject_type": "recording", "party_id": "P6", "role": "artist", "share_percent": "100"},
            {"subject_type": "song", "work_id": "W1", "party_id": "P1", "role": "writer", "share_percent": "100"},
            {"work_id": "W1", "role": "writer", "share_percent": "100"},
            {"work_id": "W1", "party_id": "P1", "role": "writer", "share_percent": "a lot"},  # kept: a rule's finding
        ],
    )
    rs.write_csv(folder / "no_role.csv", ("work_id", "party_id", "share_percent"), [("W1", "P1", "100")])
    (folder / "notes.txt").write_text("call the publisher")
    (folder / "broken.xlsx").write_bytes(b"not a zip file")
    (folder / "broken.png").write_bytes(b"not an image")
    (folder / "half.csv.part").write_text("work_id\n")  # being written: not read at all
    register, _ = intake.read_party_register(rights_inbox / "parties.csv")
    read = intake.read_split_sheets(folder, rights_inbox, register)
    rejects = [(r.source_file.removeprefix("split_sheets/"), r.row_number, r.field) for r in read.rejects]
    assert rejects == [
        ("broken.png", None, ""),
        ("broken.xlsx", None, ""),
        ("no_role.csv", None, "role"),
        ("notes.txt", None, ""),
        ("rows.csv", 2, "valid_from"),
        ("rows.csv", 3, "recording_id"),
        ("rows.csv", 4, "subject_type"),
        ("rows.csv", 5, "party_id"),
    ]
    assert "not an image" in read.rejects[0].reason and "split_sheets/broken.png" in read.rejects[0].reason
    assert [(x["row_number"], x["share_text"], x["share_bp"]) for x in read.lines] == [(6, "a lot", None)]


def test_xlsx_first_worksheet_with_excel_typed_cells(rights_inbox, rs):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        ["Work_ID", "ISWC", "work_title", "party_id", "party_name", "ipi", "role", "share_percent", "valid_from"]
    )
    sheet.append(
        ["W1", rs.ISWC["W1"], "Lights", "P1", "Alice Writer", int(rs.IPI["P1"]), "writer", 33.34, date(2025, 1, 1)]
    )
    sheet.append(
        ["W1", rs.ISWC["W1"], "Lights", "P2", "Bob Composer", rs.IPI["P2"], "composer", 66.66, date(2025, 1, 1)]
    )
    sheet.append([None] * 9)
    sheet.append(
        ["W1", rs.ISWC["W1"], "Lights", "P3", "Harbour Songs", rs.IPI["P3"], "publisher", 100, date(2025, 1, 1)]
    )
    workbook.create_sheet("notes").append(["ignored"])
    workbook.save(rights_inbox / "split_sheets" / "lights.xlsx")
    register, _ = intake.read_party_register(rights_inbox / "parties.csv")
    read = intake.read_split_sheets(rights_inbox / "split_sheets", rights_inbox, register)
    assert read.rejects == []
    assert [(x["row_number"], x["ipi"], x["share_text"], x["share_bp"], x["valid_from"]) for x in read.lines] == [
        (2, rs.IPI["P1"], "33.34", 3334, date(2025, 1, 1)),  # the IPI typed as a number got its zeros back
        (3, rs.IPI["P2"], "66.66", 6666, date(2025, 1, 1)),
        (5, rs.IPI["P3"], "100", 10_000, date(2025, 1, 1)),
    ]
    catalog = rules.Catalog(works=frozenset({"W1"}))
    assert rules.evaluate(read.lines, read.provenance, register, catalog) == []


# ---- Scans -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scans(render, tmp_path_factory) -> tuple[Path, intake.PartyRegister]:
    """A work's sheet rendered clean (PNG), photographed by a phone (rotated, noisy JPEG), smudged, and as PDF."""
    folder = tmp_path_factory.mktemp("rights") / "inbox" / "rights"
    sheets = folder / "split_sheets"
    sheets.mkdir(parents=True)
    sheet = render.Sheet(
        "Midnight Harbour Lights",
        "T-034.524.680-1",
        (
            render.Party("Alice Moreno", "writer", SCAN_IPI["Alice Moreno"], Decimal("50.00")),
            render.Party("Benjamin Okafor", "composer", SCAN_IPI["Benjamin Okafor"], Decimal("50.00")),
            render.Party("Harbour Songs Ltd", "publisher", SCAN_IPI["Harbour Songs Ltd"], Decimal("100.00")),
        ),
    )
    page, share_boxes = render.render_sheet(sheet)
    page.save(sheets / "W1.png", dpi=(150, 150))
    render.phone_photo(page).save(sheets / "W2_phone.jpg", quality=95)  # tilted 3°, uneven light, grain
    render.smudge(page, share_boxes[1]).save(sheets / "W3_smudged.tiff")
    page.save(sheets / "W4_scanner.pdf", resolution=150)
    register = intake.PartyRegister(
        {pid: intake.RegisteredParty(pid, name, SCAN_IPI[name], None) for name, pid in SCAN_PARTY_IDS.items()}
    )
    return folder, register


@pytest.fixture(scope="module")
def scanned(scans) -> intake.Intake:
    folder, register = scans
    return intake.read_split_sheets(folder / "split_sheets", folder, register)


def _of(read: intake.Intake, name: str) -> list[dict]:
    return [line for line in read.lines if line["source_file"] == f"split_sheets/{name}"]


def test_clean_scan_yields_the_parties_and_shares_with_provenance(scanned):
    lines = _of(scanned, "W1.png")
    assert _shares(lines) == EXPECTED_SCAN
    assert {(x["subject_type"], x["subject_id"], x["iswc"], x["title"], x["page"]) for x in lines} == {
        ("work", "W1", "T-034.524.680-1", "Midnight Harbour Lights", 1)
    }
    assert [x["row_number"] for x in lines] == [1, 2, 3] and all(x["min_confidence"] >= 80 for x in lines)
    fields = [p for p in scanned.provenance if p["source_file"] == "split_sheets/W1.png"]
    assert {(p["row_number"], p["field"]) for p in fields} >= {(0, "work_title"), (0, "iswc"), (2, "share_percent")}
    share = next(p for p in fields if p["row_number"] == 3 and p["field"] == "share_percent")
    assert share["value"] == "100.00" and share["page"] == 1 and not share["needs_review"]
    left, top, width, height = (int(v) for v in share["bbox"].split(","))
    assert 1000 <= left <= 1080 and 550 <= top <= 640 and width > 0 and height > 0  # where the cell was drawn


def test_phone_photo_rotated_and_noisy_yields_the_same_parties_and_shares(scanned):
    lines = _of(scanned, "W2_phone.jpg")
    assert _shares(lines) == EXPECTED_SCAN
    assert {x["iswc"] for x in lines} == {"T-034.524.680-1"}


def test_pdf_scan_is_read_like_an_image(scanned):
    assert _shares(_of(scanned, "W4_scanner.pdf")) == EXPECTED_SCAN


def test_clean_scans_pass_the_rules_and_a_smudged_share_goes_to_review(scans, scanned):
    _, register = scans
    catalog = rules.Catalog(works=frozenset({"W1", "W2", "W3", "W4"}))
    findings = rules.evaluate(scanned.lines, scanned.provenance, register, catalog)
    statuses = {s.split(":")[1]: v for s, v in rules.set_statuses(rules.split_sets(scanned.lines), findings).items()}
    assert statuses["W1"] == statuses["W4"] == ("approved", [])
    # The phone photo's parties and shares are right; its header (title, ISWC) may read below the confidence
    # threshold, which sends the set to a reviewer (with the field, page and box), never to a block.
    phone_doubts = [f for f in findings if f.subject_id == "W2"]
    assert statuses["W2"][0] in ("approved", "open")
    assert all(f.rule_code == "RS015" and f.field in ("work_title", "iswc") for f in phone_doubts)
    status, codes = statuses["W3"]
    assert status in ("open", "blocked") and "RS015" in codes  # unreadable share: never straight into splits
    ocr = next(f for f in findings if f.rule_code == "RS015" and f.subject_id == "W3")
    assert (ocr.source_file, ocr.row_number, ocr.field) == ("split_sheets/W3_smudged.tiff", 2, "share_percent")
    assert "on page 1" in ocr.message and "check it on the scan at" in ocr.message


def test_scanned_names_resolve_to_the_register_loosely_typed_names_exactly():
    register = intake.PartyRegister(
        {
            "P1": intake.RegisteredParty("P1", "Chloé Lindqvist", None, None),
            "P2": intake.RegisteredParty("P2", "Bram Bakker", "00014107338", None),
        }
    )
    assert register.resolve("Chloe Lindavist", None, scanned=True) == "P1"
    assert register.resolve("Chloe Lindavist", None, scanned=False) is None
    assert register.resolve("chloé  lindqvist", None, scanned=False) == "P1"
    assert register.resolve("Somebody Else", "00014107338", scanned=False) == "P2"  # IPI first
    assert register.resolve("Bram Bekker", None, scanned=True) == "P2"
    assert register.resolve("Bram", None, scanned=True) is None


# ---- Sheets in other layouts (issue 13) ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def layout_scans(render, tmp_path_factory) -> tuple[intake.Intake, intake.PartyRegister]:
    """A writers table + a separate publishers table with a note under it (W5), and two works on one page, named
    by the file (W6+W7) and not (W8)."""
    folder = tmp_path_factory.mktemp("layouts") / "inbox" / "rights"
    sheets = folder / "split_sheets"
    sheets.mkdir(parents=True)
    render.render_two_tables().save(sheets / "W5.png", dpi=(150, 150))
    second = render.Sheet(
        "Paper Moon",
        "T-101.202.303-7",
        (replace(render.WRITERS[0], share=Decimal(100)), replace(render.PUBLISHERS[0], share=Decimal(100))),
    )
    first = render.Sheet("Harbor Sirens", "T-034.524.680-1", render.WRITERS + render.PUBLISHERS)
    two = render.render_two_works(first, second)
    two.save(sheets / "W6+W7.png", dpi=(150, 150))
    two.save(sheets / "W8.png", dpi=(150, 150))
    parties = render.WRITERS + render.PUBLISHERS
    register = intake.PartyRegister(
        {f"P{i}": intake.RegisteredParty(f"P{i}", p.name, p.ipi, None) for i, p in enumerate(parties, start=1)}
    )
    return intake.read_split_sheets(sheets, folder, register), register


def test_every_table_and_every_work_of_a_scan_becomes_lines_of_its_own_set(layout_scans):
    read, _ = layout_scans
    assert read.rejects == []
    five = _of(read, "W5.png")
    assert _shares(five) == [
        ("P1", "writer", 5000),
        ("P2", "composer", 5000),
        ("P3", "publisher", 5000),
        ("P4", "publisher", 5000),
    ]
    assert {(x["subject_id"], x["title"], x["iswc"]) for x in five} == {("W5", "Harbor Sirens", "T-034.524.680-1")}
    assert {x["subject_id"] for x in _of(read, "W6+W7.png")} == {"W6", "W7"}
    assert [(x["subject_id"], x["party_id"], x["row_number"]) for x in _of(read, "W8.png")] == [
        ("W8", "P1", 1),
        ("W8", "P2", 2),
        ("W8", "P3", 3),
        ("W8", "P4", 4),
        ("W8-2", "P1", 5),
        ("W8-2", "P3", 6),
    ]
    assert len({x["split_set_id"] for x in _of(read, "W8.png")}) == 2
    unread = [p for p in read.provenance if p["field"] == "unread_text"]
    assert [(p["source_file"], p["value"], p["needs_review"]) for p in unread] == [
        ("split_sheets/W5.png", "Writer shares total 100% of the writer share of the work.", True)
    ]


def test_unread_text_a_wrong_title_or_an_unknown_second_work_keep_sets_from_approval(layout_scans):
    read, register = layout_scans
    catalog = rules.Catalog(
        works=frozenset({"W5", "W6", "W7", "W8"}),
        work_titles={"W5": frozenset({"Harbor Sirens (Radio Edit)"}), "W6": frozenset({"Harbour Lights"})},
    )
    findings = rules.evaluate(read.lines, read.provenance, register, catalog)
    statuses = {s.split(":")[1]: v for s, v in rules.set_statuses(rules.split_sets(read.lines), findings).items()}
    # RS020 (info): Benjamin Okafor has no IPI anywhere; it approves nothing and blocks nothing.
    assert statuses["W5"] == ("open", ["RS020", "RS021"])  # the note under the table: a person reads it
    assert statuses["W6"] == ("open", ["RS020", "RS022"])  # the catalog knows W6 by another title
    assert statuses["W7"] == ("approved", []) and statuses["W8"] == ("approved", ["RS020"])
    assert statuses["W8-2"] == ("open", ["RS018"])  # the file name does not say which work the second one is
