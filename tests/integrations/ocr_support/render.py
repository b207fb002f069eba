"""Render split-sheet images with Pillow for the OCR tests: a clean A4 scan and phone-like degradations."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DPI = 150
A4_PX = (round(8.27 * DPI), round(11.69 * DPI))


@dataclass(frozen=True)
class Party:
    name: str
    role: str
    ipi: str | None
    share: Decimal


@dataclass(frozen=True)
class Sheet:
    title: str
    iswc: str
    parties: tuple[Party, ...]


# Column x positions (px at 150 DPI) shared by the header and the rows, like a printed form.
COLUMNS = {"name": 110, "role": 560, "ipi": 790, "share": 1040}


def _font(points: float) -> ImageFont.FreeTypeFont:
    # Pillow >= 10.1 ships a scalable TrueType default font; no system font needed.
    return ImageFont.load_default(size=round(points * DPI / 72))


def render_sheet(sheet: Sheet) -> tuple[Image.Image, dict[int, tuple[int, int, int, int]]]:
    """A white A4 page at 150 DPI; also returns each party row's share-cell box (for smudging)."""
    page = Image.new("L", A4_PX, 255)
    draw = ImageDraw.Draw(page)
    heading, body = _font(20), _font(12)
    draw.text((110, 120), "SPLIT SHEET", font=heading, fill=0)
    draw.text((110, 230), f"Work title: {sheet.title}", font=body, fill=0)
    draw.text((110, 280), f"ISWC: {sheet.iswc}", font=body, fill=0)
    draw.text((110, 330), "Date: 12 March 2024", font=body, fill=0)
    y = 440
    for key, label in (("name", "Party name"), ("role", "Role"), ("ipi", "IPI"), ("share", "Share %")):
        draw.text((COLUMNS[key], y), label, font=body, fill=0)
    draw.line((100, y + 40, 1160, y + 40), fill=0, width=2)
    share_boxes = {}
    for index, party in enumerate(sheet.parties):
        y += 60
        draw.text((COLUMNS["name"], y), party.name, font=body, fill=0)
        draw.text((COLUMNS["role"], y), party.role.capitalize(), font=body, fill=0)
        if party.ipi:
            draw.text((COLUMNS["ipi"], y), party.ipi, font=body, fill=0)
        share = f"{party.share:.2f}"
        draw.text((COLUMNS["share"], y), share, font=body, fill=0)
        share_boxes[index] = draw.textbbox((COLUMNS["share"], y), share, font=body)
    y += 80
    draw.line((100, y - 15, 1160, y - 15), fill=0, width=1)
    draw.text((COLUMNS["name"], y), "Signatures of all parties are kept on file.", font=_font(10), fill=0)
    return page, share_boxes


def phone_photo(page: Image.Image, *, angle: float = 3.0, seed: int = 7) -> Image.Image:
    """Rotated, unevenly lit, noisy, slightly blurred and JPEG-compressed: a photo taken with a phone."""
    rng = np.random.default_rng(seed)
    tilted = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=235)
    pixels = np.asarray(tilted, dtype=np.float64)
    height, width = pixels.shape
    yy, xx = np.mgrid[0:height, 0:width]
    # A lamp at the top left: the far corner gets about 45 % less light.
    lighting = 1.0 - 0.45 * np.hypot(xx / width, yy / height) / np.sqrt(2)
    blurred = Image.fromarray(np.clip(pixels * lighting, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    # Sensor grain comes after the lens blur.
    grainy = np.asarray(blurred, dtype=np.float64) + rng.normal(0, 10, pixels.shape)
    return jpeg(Image.fromarray(np.clip(grainy, 0, 255).astype(np.uint8)), quality=55)


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).copy()


def smudge(page: Image.Image, box: tuple[int, int, int, int], seed: int = 3) -> Image.Image:
    """A grey thumb smear over part of a cell, the way a wet finger smudges ink."""
    rng = np.random.default_rng(seed)
    smudged = page.copy()
    draw = ImageDraw.Draw(smudged)
    left, top, right, bottom = box
    for _ in range(40):
        cx = rng.uniform(left + (right - left) * 0.3, right)
        cy = rng.uniform(top, bottom)
        r = rng.uniform(4, 10)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=int(rng.uniform(60, 140)))
    region = (left - 10, top - 10, right + 10, bottom + 10)
    smudged.paste(smudged.crop(region).filter(ImageFilter.GaussianBlur(3)), region[:2])
    return smudged


SHEET = Sheet(
    title="Midnight Harbour Lights",
    iswc="T-034.524.680-1",
    parties=(
        Party("Alice Moreno", "writer", "00012345678", Decimal("33.34")),
        Party("Benjamin Okafor", "composer", "00087654321", Decimal("33.33")),
        Party("Harbour Songs Ltd", "publisher", "00555123409", Decimal("25.00")),
        Party("Chloe Lindberg", "lyricist", None, Decimal("8.33")),
    ),
)


# ---- Layouts the intake was not first built around (issue 13) ------------------------------------------------

PUBLISHERS = (
    Party("Tidewater Music Ltd", "publisher", "00055512396", Decimal("50.00")),
    Party("Harbour Songs Ltd", "publisher", "00001234551", Decimal("50.00")),
)
WRITERS = (
    Party("Alice Moreno", "writer", "00087654336", Decimal("50.00")),
    Party("Benjamin Okafor", "composer", None, Decimal("50.00")),
)


def _page(size: tuple[int, int] = A4_PX) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    page = Image.new("L", size, 255)
    return page, ImageDraw.Draw(page)


def _table(draw: ImageDraw.ImageDraw, y: int, columns: list[tuple[str, int]], rows: list[list[str]]) -> int:
    body = _font(12)
    for label, x in columns:
        draw.text((x, y), label, font=body, fill=0)
    draw.line((100, y + 40, 1160, y + 40), fill=0, width=2)
    for row in rows:
        y += 60
        for (_, x), cell in zip(columns, row, strict=True):
            draw.text((x, y), cell, font=body, fill=0)
    return y + 80


def render_two_tables(title: str = "Harbor Sirens", iswc: str = "T-034.524.680-1") -> Image.Image:
    """A writers table, a gap, then a separate publishers table; notes under it."""
    page, draw = _page()
    draw.text((110, 120), "SPLIT SHEET", font=_font(20), fill=0)
    draw.text((110, 230), f"Title of Work: {title}", font=_font(12), fill=0)
    draw.text((110, 280), f"ISWC: {iswc}", font=_font(12), fill=0)
    columns = [("Name", 110), ("Role", 560), ("IPI", 790), ("Share %", 1040)]
    y = _table(draw, 400, columns, [[p.name, p.role.capitalize(), p.ipi or "", f"{p.share:.2f}"] for p in WRITERS])
    y = _table(draw, y + 120, columns, [[p.name, "Publisher", p.ipi or "", f"{p.share:.2f}"] for p in PUBLISHERS])
    draw.text((110, y), "Writer shares total 100% of the writer share of the work.", font=_font(10), fill=0)
    draw.text((110, y + 50), "Signatures of all parties are kept on file.", font=_font(10), fill=0)
    return page


def render_two_works(first: Sheet, second: Sheet) -> Image.Image:
    """Two works on one page, each with its title, ISWC and table."""
    page, draw = _page()
    y = 120
    columns = [("Party name", 110), ("Role", 560), ("IPI", 790), ("Share %", 1040)]
    for number, sheet in enumerate((first, second), start=1):
        draw.text((110, y), f"Work {number} title: {sheet.title}", font=_font(12), fill=0)
        draw.text((110, y + 50), f"ISWC: {sheet.iswc}", font=_font(12), fill=0)
        y = (
            _table(
                draw,
                y + 130,
                columns,
                [[p.name, p.role.capitalize(), p.ipi or "", f"{p.share:.2f}"] for p in sheet.parties],
            )
            + 60
        )
    return page


def render_landscape_fractions(title: str = "Harbor Sirens", iswc: str = "T-034.524.680-1") -> Image.Image:
    """Landscape; the title label above its value; Songwriter / Capacity / Publisher / PRO / IPI # / Ownership
    columns with shares as fractions; a paragraph party under the table."""
    page, draw = _page((A4_PX[1], A4_PX[0]))
    draw.text((110, 100), "TITLE OF WORK", font=_font(10), fill=0)
    draw.text((110, 140), title, font=_font(14), fill=0)
    draw.text((110, 210), f"ISWC {iswc}", font=_font(12), fill=0)
    columns = [
        ("Songwriter", 110),
        ("Capacity", 520),
        ("Publisher", 760),
        ("PRO", 1060),
        ("IPI #", 1200),
        ("Ownership", 1500),
    ]
    rows = [
        ["Alice Moreno", "Composer", "Tidewater", "PRS", "00087654321", "1/2"],
        ["Benjamin Okafor", "Lyricist", "Tidewater", "ASCAP", "", "1/4"],
        ["Chloe Lindberg", "Writer", "Tidewater", "BMI", "", "1/4"],
    ]
    y = _table(draw, 320, columns, rows)
    draw.text((110, y), "Tidewater Music Ltd (IPI 00555123409) - Publisher - 100%", font=_font(12), fill=0)
    return page
