"""Read a scanned split sheet into rows of parties and shares; doubtful fields are named for human review."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from integrations.ocr import layout
from integrations.ocr.fields import ExtractedField, find_iswc, parse_ipi, parse_role, parse_share
from integrations.ocr.pages import load_pages
from integrations.ocr.preprocess import prepare_page
from integrations.ocr.reader import OcrWord, ocr_words

REVIEW_THRESHOLD = 80.0


@dataclass(frozen=True)
class ScannedSplitRow:
    """One party's line of the table; a value is None when its field failed to parse (see `fields`)."""

    party_name: str
    role: str | None
    ipi: str | None
    share_percent: Decimal | None
    fields: dict[str, ExtractedField]
    line_confidence: float


@dataclass
class SplitSheetScan:
    """What OCR read from one split-sheet file."""

    source: Path
    work_id: str | None
    work_title: str | None
    iswc: str | None
    header_fields: dict[str, ExtractedField]
    rows: list[ScannedSplitRow]
    pages: int
    warnings: list[str] = field(default_factory=list)

    def all_fields(self) -> list[ExtractedField]:
        return [*self.header_fields.values(), *(f for row in self.rows for f in row.fields.values())]

    def needs_review(self, threshold: float = REVIEW_THRESHOLD) -> list[ExtractedField]:
        """Fields that must be checked by a person: OCR confidence below `threshold` or a value that fails."""
        return [f for f in self.all_fields() if f.problem is not None or f.confidence < threshold]


def read_split_sheet(path: Path, work_id: str | None = None) -> SplitSheetScan:
    """OCR every page of `path` (PNG/JPEG/TIFF/PDF) and parse the header (title, ISWC) and the parties table.

    Values are reported as read: whether shares add up and identifiers' check digits hold is for the rights
    rules to say. Raises `UnreadableScan` naming the file when it is neither an image nor a PDF.
    """
    path = Path(path)
    pages = load_pages(path)
    scan = SplitSheetScan(path, work_id, None, None, {}, [], len(pages))
    columns: layout.TableColumns | None = None
    for page_number, image in enumerate(pages, start=1):
        lines = layout.group_lines(ocr_words(prepare_page(image)))
        header = layout.find_table_header(lines)
        if header is not None:
            header_index, columns = header
            _read_header(scan, lines[:header_index], page_number)
            body = lines[header_index + 1 :]
        elif columns is not None:
            # A continuation page repeats no heading: its rows line up with the previous page's columns.
            body = lines
        else:
            scan.warnings.append(f"page {page_number}: no table heading with 'Role' and 'Share' found")
            _read_header(scan, lines, page_number)
            continue
        for cells in layout.table_rows(body, columns):
            scan.rows.append(_row(cells, path, page_number))
    _check_completeness(scan)
    return scan


def _read_header(scan: SplitSheetScan, lines: list[layout.Line], page: int) -> None:
    """Title and ISWC from the lines above the table, first page that has them wins."""
    for line in lines:
        lowered = line.text.lower()
        if "title" not in scan.header_fields and "title" in lowered:
            words = list(line.words)
            label_end = next(i for i, w in enumerate(words) if "title" in w.text.lower())
            value_words = words[label_end + 1 :]
            if value_words:
                scan.header_fields["title"] = _field("work_title", value_words, scan.source, page)
                scan.work_title = scan.header_fields["title"].value
        if "iswc" not in scan.header_fields and (iswc := find_iswc(_after_label(line.text, "iswc"))):
            iswc_words = [w for w in line.words if w.text.lower().strip(":") != "iswc"]
            # The check digit is verified by the rights rules (assets/rights/identifiers.py), not here.
            scan.header_fields["iswc"] = _field("iswc", iswc_words, scan.source, page)
            scan.iswc = iswc


def _after_label(text: str, label: str) -> str:
    at = text.lower().find(label)
    return text[at + len(label) :] if at >= 0 else text


def _row(cells: dict[str, list[OcrWord]], source: Path, page: int) -> ScannedSplitRow:
    fields: dict[str, ExtractedField] = {}
    name_words = cells["party_name"]
    fields["party_name"] = _field("party_name", name_words, source, page, None if name_words else "no party name")
    role, role_problem = parse_role(_text(cells["role"]))
    fields["role"] = _field("role", cells["role"], source, page, role_problem if cells["role"] else "no role")
    ipi = None
    if cells["ipi"]:  # IPI is optional: an empty cell is not a problem.
        ipi, ipi_problem = parse_ipi(_text(cells["ipi"]))
        fields["ipi"] = _field("ipi", cells["ipi"], source, page, ipi_problem)
    share, share_problem = parse_share(_text(cells["share_percent"]))
    fields["share_percent"] = _field(
        "share_percent", cells["share_percent"], source, page, share_problem if cells["share_percent"] else "no share"
    )
    words = [w for column in cells.values() for w in column]
    return ScannedSplitRow(
        party_name=_text(name_words),
        role=role,
        ipi=ipi,
        share_percent=share,
        fields=fields,
        line_confidence=round(sum(w.confidence for w in words) / len(words), 1),
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
    """Missing header fields and an empty table go to review.

    Shares are not summed here: they add up per role group (writers, publishers), which the rights rules know.
    """
    for key, name in (("title", "work_title"), ("iswc", "iswc")):
        if key not in scan.header_fields:
            scan.warnings.append(f"no {name} found")
            scan.header_fields[key] = ExtractedField(name, "", 1, None, 0.0, scan.source, f"no {name} found")
    if not scan.rows:
        scan.warnings.append("no party rows found")
