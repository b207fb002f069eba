"""Read a scanned split sheet into works, each with its title, ISWC and party rows; doubtful fields and text
that was not read are named for human review.

A document may hold several tables (a writers table and a publishers table), several works (each starts at
its title label, or at a second ISWC) and continuation pages. Every line of every page is accounted for: a
field of a work, a table row, known boilerplate, or unread text (`SplitSheetScan.unread`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from integrations.ocr import layout, regions
from integrations.ocr.fields import ExtractedField, find_iswc, parse_ipi, parse_role, parse_share
from integrations.ocr.pages import load_pages
from integrations.ocr.preprocess import prepare_page
from integrations.ocr.reader import OcrWord, ocr_words

REVIEW_THRESHOLD = 80.0
EXTRA_COLUMNS = ("publisher", "pro", "signature", "date")


@dataclass(frozen=True)
class ScannedSplitRow:
    """One party's line; a value is None when its field failed to parse (see `fields`). `extra` holds the
    columns read beside it (publisher, PRO, signature, date and unnamed ones), which move no money."""

    party_name: str
    role: str | None
    ipi: str | None
    share_percent: Decimal | None
    fields: dict[str, ExtractedField]
    line_confidence: float
    extra: dict[str, ExtractedField] = field(default_factory=dict)


@dataclass
class ScannedWork:
    """One work of a document: its labelled fields (title, ISWC) and its party rows, from any of its tables."""

    title: str | None = None
    iswc: str | None = None
    header_fields: dict[str, ExtractedField] = field(default_factory=dict)
    rows: list[ScannedSplitRow] = field(default_factory=list)


@dataclass
class SplitSheetScan:
    """What OCR read from one split-sheet file: its works, and every line that is neither a field nor
    boilerplate (`unread`, each an ExtractedField named `unread_text` whose problem says what it may hold)."""

    source: Path
    work_id: str | None
    works: list[ScannedWork]
    pages: int
    warnings: list[str] = field(default_factory=list)
    unread: list[ExtractedField] = field(default_factory=list)
    boilerplate: list[ExtractedField] = field(default_factory=list)

    @property
    def rows(self) -> list[ScannedSplitRow]:
        return [row for work in self.works for row in work.rows]

    @property
    def header_fields(self) -> dict[str, ExtractedField]:
        return self.works[0].header_fields if self.works else {}

    @property
    def work_title(self) -> str | None:
        return self.works[0].title if self.works else None

    @property
    def iswc(self) -> str | None:
        return self.works[0].iswc if self.works else None

    def all_fields(self) -> list[ExtractedField]:
        return [
            f
            for work in self.works
            for f in [*work.header_fields.values(), *(f for row in work.rows for f in row.fields.values())]
        ]

    def needs_review(self, threshold: float = REVIEW_THRESHOLD) -> list[ExtractedField]:
        """Fields that must be checked by a person: OCR confidence below `threshold` or a value that fails."""
        return [f for f in self.all_fields() if f.problem is not None or f.confidence < threshold]


class _Reader:
    """Walks the lines of every page, in order, keeping the current work and the last table's columns."""

    def __init__(self, path: Path, work_id: str | None, pages: int) -> None:
        self.scan = SplitSheetScan(path, work_id, [ScannedWork()], pages)
        self.columns: layout.TableColumns | None = None

    @property
    def work(self) -> ScannedWork:
        return self.scan.works[-1]

    def start_work(self) -> None:
        if self.work.header_fields or self.work.rows:
            self.scan.works.append(ScannedWork())

    def read_page(self, lines: list[layout.Line], page: int) -> None:
        index, header_seen = 0, False
        while index < len(lines):
            line = lines[index]
            if (columns := layout.find_header(line)) is not None:
                self.columns, header_seen = columns, True
                index = self.read_table(lines, index + 1, page)
                continue
            if (title := regions.title_words(lines, index)) is not None:
                self.read_title(*title[:2], page)
                index += title[2]
                continue
            if find_iswc(line.text) and not line.text.lower().startswith(("title", "work")):
                self.read_iswc(list(line.words), page)
                index += 1
                continue
            if line.words[0].text.lower().strip(":.") == "iswc" and "iswc" not in self.work.header_fields:
                # Labelled but not ISWC-shaped as read: kept as read, for a person to check.
                words = list(line.words[1:])
                self.work.header_fields["iswc"] = _field(
                    "iswc", words, self.scan.source, page, f"ISWC {_text(words)!r} is not T-ddd.ddd.ddd-c as read"
                )
                index += 1
                continue
            if (cells := regions.party_paragraph(line)) is not None:
                self.work.rows.append(_row(cells, None, self.scan.source, page))
                index += 1
                continue
            # A continuation page repeats no heading: its rows line up with the previous page's columns.
            if (
                not header_seen
                and self.columns is not None
                and layout.row_like(line)
                and not layout.is_sentence(line)
                and not _ends_table(line)
            ):
                index = self.read_table(lines, index, page)
                header_seen = True
                continue
            self.account(regions.classify(line, first_on_page=index == 0), page)
            index += 1

    def read_table(self, lines: list[layout.Line], start: int, page: int) -> int:
        assert self.columns is not None
        rows, end = layout.table_rows(lines, start, self.columns, _ends_table)
        for cells in layout.name_columns_by_content(rows):
            self.work.rows.append(_row(cells, self.columns.default_role, self.scan.source, page))
        return end

    def read_title(self, label: list[OcrWord], value: list[OcrWord], page: int) -> None:
        title_words, iswc_words = regions.split_title_and_iswc(value)
        text = _text(title_words).strip(" :;,.-")
        known = {(w.title or "").casefold() for w in self.scan.works}
        if text.casefold() in known and text:
            # A continuation page repeating the work's title continues that work.
            self.scan.works.append(
                self.scan.works.pop(
                    next(i for i, w in enumerate(self.scan.works) if (w.title or "").casefold() == text.casefold())
                )
            )
        else:
            self.start_work()
            problem = None if title_words else "no title after the label"
            self.work.header_fields["title"] = _field(
                "work_title", title_words or label, self.scan.source, page, problem
            )
            self.work.title = text or None
        if iswc_words:
            self.read_iswc(iswc_words, page)

    def read_iswc(self, words: list[OcrWord], page: int) -> None:
        iswc = find_iswc(" ".join(w.text for w in words))
        if iswc is None:
            return
        if self.work.iswc is not None and self.work.iswc != iswc:
            self.start_work()  # a second ISWC with no title of its own: a second work
        if self.work.iswc is None:
            iswc_words = [w for w in words if w.text.lower().strip(":") != "iswc"]
            # The check digit is verified by the rights rules (with backbeat/identifiers.py), not here.
            self.work.header_fields["iswc"] = _field("iswc", iswc_words, self.scan.source, page)
            self.work.iswc = iswc

    def account(self, region: regions.Region, page: int) -> None:
        if region.kind == "unread":
            self.scan.unread.append(
                _field(
                    "unread_text",
                    list(region.words),
                    self.scan.source,
                    page,
                    f"text not read into any field; it may hold {region.reason}",
                )
            )
        else:
            self.scan.boilerplate.append(_field(region.kind, list(region.words), self.scan.source, page))


def _ends_table(line: layout.Line) -> bool:
    """A heading, a title, an ISWC, a date, a signature or a footer is never a party row."""
    if layout.find_header(line) is not None or regions.title_words([line], 0) is not None or find_iswc(line.text):
        return True
    return regions.classify(line, first_on_page=False).kind in {
        "boilerplate:date",
        "boilerplate:footer",
        "boilerplate:signature",
        "boilerplate:total",
    }


def read_split_sheet(path: Path, work_id: str | None = None) -> SplitSheetScan:
    """OCR every page of `path` (PNG/JPEG/TIFF/PDF) and parse its works: titles, ISWCs and party tables.

    Values are reported as read: whether shares add up and identifiers' check digits hold is for the rights
    rules to say. Raises `UnreadableScan` naming the file when it is neither an image nor a PDF.
    """
    path = Path(path)
    pages = load_pages(path)
    reader = _Reader(path, work_id, len(pages))
    for page_number, image in enumerate(pages, start=1):
        reader.read_page(layout.group_lines(ocr_words(prepare_page(image))), page_number)
    scan = reader.scan
    scan.works = [w for w in scan.works if w.rows or w.header_fields] or [ScannedWork()]
    _check_completeness(scan)
    return scan


def _row(cells: dict[str, list[OcrWord]], default_role: str | None, source: Path, page: int) -> ScannedSplitRow:
    fields: dict[str, ExtractedField] = {}
    name_words = cells.get("party_name", [])
    fields["party_name"] = _field("party_name", name_words, source, page, None if name_words else "no party name")
    role_words = cells.get("role", [])
    if role_words:
        role, role_problem = parse_role(_text(role_words))
        fields["role"] = _field("role", role_words, source, page, role_problem)
    elif default_role is not None:
        role = default_role  # the heading names the role ("Songwriter | PRO | IPI # | Ownership %")
        name_field = fields["party_name"]
        fields["role"] = ExtractedField("role", default_role, page, name_field.bbox, name_field.confidence, source)
    else:
        role = None
        fields["role"] = _field("role", [], source, page, "no role")
    ipi = None
    if cells.get("ipi"):  # IPI is optional: an empty cell is not a problem.
        ipi, ipi_problem = parse_ipi(_text(cells["ipi"]))
        fields["ipi"] = _field("ipi", cells["ipi"], source, page, ipi_problem)
    share_words = cells.get("share_percent", [])
    share, share_problem = parse_share(_text(share_words))
    fields["share_percent"] = _field(
        "share_percent", share_words, source, page, share_problem if share_words else "no share"
    )
    extra = {name: _field(name, words, source, page) for name, words in cells.items() if name not in fields and words}
    words = [w for column in cells.values() for w in column]
    return ScannedSplitRow(
        party_name=_text(name_words),
        role=role,
        ipi=ipi,
        share_percent=share,
        fields=fields,
        line_confidence=round(sum(w.confidence for w in words) / len(words), 1) if words else 0.0,
        extra=extra,
    )


def _text(words: list[OcrWord]) -> str:
    return " ".join(w.text for w in words)


def _field(name: str, words: list[OcrWord], source: Path, page: int, problem: str | None = None) -> ExtractedField:
    """A field spanning `words`: their joined text, enclosing box and weakest confidence."""
    if not words:
        return ExtractedField(name, "", page, None, 0.0, source, problem)
    left = min(w.bbox[0] for w in words)
    top = min(w.bbox[1] for w in words)
    right = max(w.bbox[0] + w.bbox[2] for w in words)
    bottom = max(w.bbox[1] + w.bbox[3] for w in words)
    box = (left, top, right - left, bottom - top)
    return ExtractedField(name, _text(words), page, box, min(w.confidence for w in words), source, problem)


def _check_completeness(scan: SplitSheetScan) -> None:
    """Missing title or ISWC of a work, a work without rows, and a document without rows go to review.

    Shares are not summed here: they add up per role group (writers, publishers), which the rights rules know.
    """
    for number, work in enumerate(scan.works, start=1):
        which = "" if len(scan.works) == 1 else f"work {number}: "
        for key, name in (("title", "work_title"), ("iswc", "iswc")):
            if key not in work.header_fields:
                scan.warnings.append(f"{which}no {name} found")
                work.header_fields[key] = ExtractedField(name, "", 1, None, 0.0, scan.source, f"no {name} found")
        if not work.rows and len(scan.works) > 1:
            scan.warnings.append(f"{which}no party rows found")
    if not scan.rows:
        scan.warnings.append("no party rows found")
    if scan.unread:
        scan.warnings.append(f"{len(scan.unread)} line(s) of text not read into any field")
