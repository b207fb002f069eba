"""Split sheets as labels send them: nine layouts rendered with Pillow, each with its ground truth.

Copied from and grown out of tests/integrations/ocr_support/render.py (bench never imports tests). Every sheet
is a deterministic function of (layout, index): names, titles, identifiers (with valid check digits) and shares
come from a seeded generator, so the before/after runs score the very same pages.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DPI = 150
A4 = (round(8.27 * DPI), round(11.69 * DPI))
A4_LANDSCAPE = (A4[1], A4[0])

FIRST = [
    "Alice",
    "Benjamin",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Imani",
    "Jonas",
    "Keiko",
    "Liam",
    "Maya",
    "Nikolai",
    "Olivia",
    "Pavel",
    "Rosa",
    "Samuel",
    "Tara",
    "Victor",
]
LAST = [
    "Moreno",
    "Okafor",
    "Lindberg",
    "Novak",
    "Haddad",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garner",
    "Holm",
    "Ibarra",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Mendes",
    "Nakamura",
    "Osei",
    "Petrov",
]
COMPANY = [
    "Harbour Songs",
    "Tidewater Music",
    "Northlight Publishing",
    "Blue Quarry Music",
    "Saltmarsh Songs",
    "Copperfield Music",
    "Lantern Row Publishing",
    "Greyhound Songs",
]
WORDS = [
    "Midnight",
    "Harbor",
    "Sirens",
    "Golden",
    "River",
    "Paper",
    "Moon",
    "Velvet",
    "Thunder",
    "Echoes",
    "Glass",
    "Hearts",
    "Summer",
    "Wires",
    "Lonely",
    "Avenue",
    "Silver",
    "Rain",
    "Northern",
    "Lights",
]
PROS = ["PRS", "ASCAP", "BMI", "SOCAN", "GEMA", "SACEM"]
WRITER_ROLES = ["writer", "composer", "lyricist"]
WRITER_SPLITS = [["50", "50"], ["33.34", "33.33", "33.33"], ["25", "25", "50"], ["60", "40"], ["100"]]
FRACTION_SPLITS = [["1/2", "1/2"], ["1/4", "1/4", "1/2"], ["3/4", "1/4"], ["1/2", "1/4", "1/4"]]


@dataclass(frozen=True)
class Party:
    party_id: str
    name: str
    role: str
    ipi: str | None
    share: Decimal  # percent of its pool
    share_text: str  # as printed
    pro: str


@dataclass(frozen=True)
class Work:
    work_id: str
    title: str
    iswc: str
    parties: tuple[Party, ...]


@dataclass
class Sheet:
    """One document: its pages and the works it holds (the first work's id names the file)."""

    layout: str
    file_name: str
    pages: list[Image.Image]
    works: list[Work]


# ---- identifiers ---------------------------------------------------------------------------------------------


def ipi(rng: random.Random) -> str:
    base = f"{rng.randint(10_000_000, 999_999_999):09d}"
    remainder = sum(int(d) * (10 - i) for i, d in enumerate(base)) % 101
    return base + f"{(101 - remainder) % 100 if remainder else 0:02d}"


def iswc(rng: random.Random) -> str:
    digits = f"{rng.randint(0, 999_999_999):09d}"
    check = (10 - (1 + sum(i * int(d) for i, d in enumerate(digits, start=1))) % 10) % 10
    return f"T-{digits[:3]}.{digits[3:6]}.{digits[6:]}-{check}"


def percent(text: str) -> Decimal:
    if "/" in text:
        fraction = Fraction(text) * 100
        return Decimal(fraction.numerator) / Decimal(fraction.denominator)
    return Decimal(text)


def make_work(rng: random.Random, work_id: str, fractions: bool = False, publishers: int | None = None) -> Work:
    """Writers sharing 100 % and one or two publishers sharing 100 %; every party has a registered id."""
    splits = rng.choice(FRACTION_SPLITS if fractions else WRITER_SPLITS)
    names = rng.sample([f"{first} {last}" for first in FIRST for last in LAST], len(splits))
    parties = []
    for i, (name, share) in enumerate(zip(names, splits, strict=True)):
        party_ipi = ipi(rng) if rng.random() < 0.85 else None
        parties.append(
            Party(
                f"P-{work_id}-{i}",
                name,
                rng.choice(WRITER_ROLES),
                party_ipi,
                percent(share),
                share if fractions else _pct_text(share),
                rng.choice(PROS),
            )
        )
    count = publishers if publishers is not None else rng.choice([1, 2])
    pub_shares = (["1/2", "1/2"] if fractions else ["50", "50"]) if count == 2 else (["1/1"] if fractions else ["100"])
    for j, company in enumerate(rng.sample(COMPANY, count)):
        text = pub_shares[j] if not fractions or count == 2 else "100%"
        parties.append(
            Party(
                f"P-{work_id}-p{j}",
                f"{company} Ltd",
                "publisher",
                ipi(rng),
                percent(pub_shares[j]),
                text if fractions else _pct_text(pub_shares[j]),
                rng.choice(PROS),
            )
        )
    title = " ".join(rng.sample(WORDS, rng.choice([2, 3])))
    return Work(work_id, title, iswc(rng), tuple(parties))


def _pct_text(share: str) -> str:
    return f"{Decimal(share):.2f}"


# ---- drawing -------------------------------------------------------------------------------------------------


def font(points: float) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=round(points * DPI / 72))


class Page:
    """A white page and a pen that writes lines top to bottom."""

    def __init__(self, size: tuple[int, int] = A4) -> None:
        self.image = Image.new("L", size, 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = 110

    def text(self, x: int, text: str, points: float = 12, advance: int = 50, y: int | None = None) -> None:
        self.draw.text((x, self.y if y is None else y), text, font=font(points), fill=0)
        if y is None:
            self.y += advance

    def rule(self, x0: int = 100, x1: int | None = None, width: int = 2) -> None:
        x1 = x1 or self.image.width - 90
        self.draw.line((x0, self.y - 8, x1, self.y - 8), fill=0, width=width)

    def table(self, columns: list[tuple[str, int]], rows: list[list[str]], pitch: int = 56, grid: bool = False) -> None:
        """A heading row and its rows, each cell at its column's x; `grid` draws a ruled box around cells."""
        top = self.y - 12
        for label, x in columns:
            self.text(x, label, advance=0)
        self.y += 44
        self.rule()
        for row in rows:
            for (_, x), cell in zip(columns, row, strict=True):
                if cell == "~signature~":
                    self.signature(x)
                elif cell:
                    self.text(x, cell, advance=0)
            self.y += pitch
        if grid:
            right = self.image.width - 90
            self.draw.rectangle((100, top, right, self.y - 12), outline=0, width=2)
            for _, x in columns[1:]:
                self.draw.line((x - 12, top, x - 12, self.y - 12), fill=0, width=1)
        self.y += 30

    def signature(self, x: int) -> None:
        points = [(x + i * 6, self.y + 18 + 8 * np.sin(i / 1.7)) for i in range(22)]
        self.draw.line(points, fill=0, width=2)


def heading(page: Page, text: str = "SPLIT SHEET") -> None:
    page.text(110, text, points=20, advance=90)


def role_text(role: str) -> str:
    return role.capitalize()


# ---- layouts ---------------------------------------------------------------------------------------------------


def classic(rng: random.Random, work_id: str) -> Sheet:
    """The form the intake was built around: title, ISWC, one Party name | Role | IPI | Share % table."""
    work = make_work(rng, work_id)
    page = Page()
    heading(page)
    page.text(110, f"Work title: {work.title}")
    page.text(110, f"ISWC: {work.iswc}")
    page.text(110, "Date: 12 March 2024", advance=90)
    cols = [("Party name", 110), ("Role", 560), ("IPI", 790), ("Share %", 1040)]
    page.table(cols, [[p.name, role_text(p.role), p.ipi or "", p.share_text] for p in work.parties])
    page.text(110, "Signatures of all parties are kept on file.", points=10)
    return Sheet("classic", f"{work_id}.png", [page.image], [work])


def two_tables(rng: random.Random, work_id: str) -> Sheet:
    """A writers table, then a separate publishers table further down the page."""
    work = make_work(rng, work_id, publishers=2)
    page = Page()
    heading(page, "SONGWRITER SPLIT AGREEMENT")
    page.text(110, f"Song title: {work.title}")
    page.text(110, f"ISWC: {work.iswc}", advance=100)
    cols = [("Name", 110), ("Role", 560), ("IPI", 790), ("Share %", 1040)]
    page.text(110, "WRITERS", points=14, advance=60)
    page.table(
        cols, [[p.name, role_text(p.role), p.ipi or "", p.share_text] for p in work.parties if p.role != "publisher"]
    )
    page.y += 120
    page.text(110, "PUBLISHERS", points=14, advance=60)
    page.table(
        cols, [[p.name, role_text(p.role), p.ipi or "", p.share_text] for p in work.parties if p.role == "publisher"]
    )
    return Sheet("two_tables", f"{work_id}.png", [page.image], [work])


def two_works(rng: random.Random, work_id: str) -> Sheet:
    """Two works on one page, each with its title, ISWC and table."""
    works = [make_work(rng, work_id, publishers=1), make_work(rng, f"{work_id}-2", publishers=1)]
    page = Page()
    heading(page, "SPLIT SHEET - 2 WORKS")
    cols = [("Party name", 110), ("Role", 560), ("IPI", 790), ("Share %", 1040)]
    for number, work in enumerate(works, start=1):
        page.text(110, f"Work {number} title: {work.title}")
        page.text(110, f"ISWC: {work.iswc}", advance=70)
        page.table(cols, [[p.name, role_text(p.role), p.ipi or "", p.share_text] for p in work.parties])
        page.y += 60
    return Sheet("two_works", f"{work_id}.png", [page.image], works)


def notes_footer(rng: random.Random, work_id: str) -> Sheet:
    """A publisher's letterhead, notes under the table and a page footer."""
    work = make_work(rng, work_id)
    page = Page()
    page.text(110, "NORTHERN HARBOUR MUSIC PUBLISHING LTD", points=16, advance=50)
    page.text(
        110, "12 Quay Street, Bristol BS1 4DJ  -  +44 117 496 0000  -  rights@nhmusic.example", points=9, advance=90
    )
    heading(page, "Split Confirmation")
    page.text(110, f"Title: {work.title}")
    page.text(110, f"ISWC: {work.iswc}", advance=90)
    cols = [("Party name", 110), ("Role", 560), ("IPI", 790), ("Share %", 1040)]
    page.table(cols, [[p.name, role_text(p.role), p.ipi or "", p.share_text] for p in work.parties])
    page.text(110, "Writer shares total 100% of the writer share of the work.", points=10, advance=40)
    page.text(
        110, "Publisher shares are administered under agreement NH-2019-07 dated 4 May 2019.", points=10, advance=100
    )
    page.text(110, "Signed: ______________________      Date: ______________", points=11, advance=60)
    page.y = page.image.height - 120
    page.text(110, "Page 1 of 1  -  Confidential  -  Registered in England No. 04512345", points=8)
    return Sheet("notes_footer", f"{work_id}.png", [page.image], [work])


def extra_columns(rng: random.Random, work_id: str) -> Sheet:
    """A ruled grid with Publisher, PRO and Signature columns beside the usual ones."""
    work = make_work(rng, work_id, publishers=1)
    publisher = next(p for p in work.parties if p.role == "publisher")
    page = Page()
    heading(page)
    page.text(110, f"Title of Work: {work.title}")
    page.text(110, f"ISWC: {work.iswc}", advance=90)
    cols = [("Name", 110), ("Role", 380), ("Publisher", 530), ("PRO", 750), ("IPI", 880), ("Share", 1070)]
    rows = [
        [
            p.name,
            role_text(p.role),
            publisher.name.split()[0] if p.role != "publisher" else "",
            p.pro,
            p.ipi or "",
            p.share_text,
        ]
        for p in work.parties
    ]
    page.table(cols, rows, pitch=60, grid=True)
    page.y += 40
    page.text(110, "Signatures", points=12, advance=60)
    for p in work.parties[:3]:
        page.text(110, p.name, advance=0)
        page.signature(560)
        page.y += 70
    return Sheet("extra_columns", f"{work_id}.png", [page.image], [work])


def paragraph(rng: random.Random, work_id: str) -> Sheet:
    """Parties written as paragraphs: `Jane Doe (IPI 00012345678) - Composer - 33.33%`."""
    work = make_work(rng, work_id)
    page = Page()
    heading(page, "Split Letter")
    page.text(110, f"Title of Work: {work.title}")
    page.text(110, f"ISWC: {work.iswc}", advance=90)
    page.text(110, "The parties agree the following ownership of the composition:", advance=80)
    for p in work.parties:
        ipi_part = f" (IPI {p.ipi})" if p.ipi else ""
        page.text(130, f"{p.name}{ipi_part} - {role_text(p.role)} - {p.share_text}%", advance=64)
    page.y += 40
    page.text(110, "Agreed and signed by all parties on 3 April 2024.", points=10)
    return Sheet("paragraph", f"{work_id}.png", [page.image], [work])


def landscape_fractions(rng: random.Random, work_id: str) -> Sheet:
    """A landscape page, the title label above its value, shares as fractions under other headings."""
    work = make_work(rng, work_id, fractions=True)
    page = Page(A4_LANDSCAPE)
    heading(page, "COPYRIGHT SPLIT")
    page.text(110, "TITLE OF WORK", points=10, advance=36)
    page.text(110, work.title, points=14, advance=60)
    page.text(110, f"ISWC {work.iswc}", advance=90)
    cols = [("Songwriter / Publisher", 110), ("Capacity", 620), ("PRO", 900), ("IPI #", 1100), ("Ownership", 1450)]
    page.table(cols, [[p.name, role_text(p.role), p.pro, p.ipi or "", p.share_text] for p in work.parties])
    page.text(110, "Ownership is stated as a fraction of each pool.", points=10)
    return Sheet("landscape_fractions", f"{work_id}.png", [page.image], [work])


def phone_photo_sheet(rng: random.Random, work_id: str) -> Sheet:
    """The classic form photographed with a phone: tilt, uneven light, grain, blur, JPEG."""
    sheet = classic(rng, work_id)
    angle = rng.uniform(-3.5, 3.5)
    return Sheet(
        "phone_photo", f"{work_id}_phone.jpg", [phone_photo(sheet.pages[0], angle, rng.randint(0, 99))], sheet.works
    )


def fax(rng: random.Random, work_id: str) -> Sheet:
    """A fax: 120-200 DPI, hard black and white, speckle, a transmission header; the title label in a box."""
    work = make_work(rng, work_id)
    page = Page()
    page.text(60, "FROM: +44 20 7946 0000   04/03/2024 10:12   P.001/001", points=9, advance=60)
    heading(page)
    page.draw.rectangle((100, page.y - 10, 1150, page.y + 90), outline=0, width=2)
    page.text(115, "Title of the work", points=9, advance=34)
    page.text(115, work.title, advance=80)
    page.text(110, f"ISWC: {work.iswc}", advance=90)
    cols = [("Writer / Publisher", 110), ("Role", 560), ("IPI", 790), ("Share %", 1040)]
    page.table(cols, [[p.name, role_text(p.role), p.ipi or "", p.share_text] for p in work.parties])
    dpi = rng.choice([120, 150, 200])
    low = page.image.resize(
        (round(page.image.width * dpi / DPI), round(page.image.height * dpi / DPI)), Image.Resampling.BILINEAR
    )
    pixels = np.asarray(low, dtype=np.float64)
    noisy = pixels + np.random.default_rng(rng.randint(0, 99)).normal(0, 35, pixels.shape)
    bw = Image.fromarray(np.where(noisy > 150, 255, 0).astype(np.uint8))
    bw.info["dpi"] = (dpi, dpi)
    return Sheet("fax", f"{work_id}_fax.png", [bw], [work])


def phone_photo(page: Image.Image, angle: float = 3.0, seed: int = 7) -> Image.Image:
    """Rotated, unevenly lit, noisy, slightly blurred and JPEG-compressed: a photo taken with a phone."""
    rng = np.random.default_rng(seed)
    tilted = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=235)
    pixels = np.asarray(tilted, dtype=np.float64)
    height, width = pixels.shape
    yy, xx = np.mgrid[0:height, 0:width]
    lighting = 1.0 - 0.45 * np.hypot(xx / width, yy / height) / np.sqrt(2)
    blurred = Image.fromarray(np.clip(pixels * lighting, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    grainy = np.asarray(blurred, dtype=np.float64) + rng.normal(0, 10, pixels.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(grainy, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=55)
    buffer.seek(0)
    return Image.open(buffer).copy()


LAYOUTS: dict[str, Callable[[random.Random, str], Sheet]] = {
    "classic": classic,
    "two_tables": two_tables,
    "two_works": two_works,
    "notes_footer": notes_footer,
    "extra_columns": extra_columns,
    "paragraph": paragraph,
    "landscape_fractions": landscape_fractions,
    "phone_photo": phone_photo_sheet,
    "fax": fax,
}


def generate(per_layout: int, seed: int = 13) -> list[Sheet]:
    """`per_layout` sheets of every layout; work ids BW<layout><n> (e.g. BW304)."""
    sheets = []
    for number, (name, render) in enumerate(LAYOUTS.items(), start=1):
        for index in range(per_layout):
            rng = random.Random(f"{seed}:{name}:{index}")
            sheets.append(render(rng, f"BW{number}{index:02d}"))
    return sheets
