"""Split-sheet intake: every sheet in the rights inbox (CSV, XLSX, scanned image or PDF) as lines with provenance.

Typed sheets have a header row with `work_id, iswc, work_title, party_id, party_name, ipi, role, share_percent`
and optionally `subject_type` (work | recording, default work), `recording_id`, `isrc`, `valid_from`,
`valid_to`. Scans go through `integrations.ocr`; a scan's work is named by its file name (`WRK0005.png`,
`WRK0005_phone.jpg`: the text before the first `_`; `WRK0005+WRK0006.png` for a sheet of two works), each
work on a scan is its own split set, and each field OCR read — and each line of boilerplate or unread text —
becomes a `rights.field_provenance` row (page, box, confidence).

Lines keep what the sheet says (a share that is not a number, an unknown role): judging them is the rules'
job (`rules.py`). Only what cannot be placed in a split set at all — an unreadable file, a row without a
subject, a date that is not a date — becomes a `Reject`. Lines group into split sets per file by
(subject type, subject, valid_from, valid_to); a set's id carries a hash of its content, so a corrected sheet
is a new split set with a new review.
"""

import csv
import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject
from backbeat.identifiers import ipi_problem

TYPED_SUFFIXES = {".csv", ".xlsx"}
SCAN_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf"}
SUBJECT_TYPES = ("work", "recording")
PARTY_TYPES = ("person", "company")
# A scanned name resolves to a registered one this similar (rapidfuzz ratio, 0-100) when no other name comes
# within FUZZY_MARGIN of it: one misread letter in a 9-letter surname scores ~89.
FUZZY_NAME_SCORE = 85.0
FUZZY_MARGIN = 10.0


# ---- The party register ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredParty:
    """A row of the party register `inbox/rights/parties.csv`."""

    party_id: str
    name: str
    ipi: str | None
    party_type: str | None


@dataclass
class PartyRegister:
    """The rights holders the business knows, by id; resolves sheet lines that name a party without its id."""

    parties: dict[str, RegisteredParty] = field(default_factory=dict)
    source_file: str = "parties.csv"

    def __contains__(self, party_id: object) -> bool:
        return party_id in self.parties

    def get(self, party_id: str | None) -> RegisteredParty | None:
        return self.parties.get(party_id) if party_id else None

    def resolve(self, name: str | None, ipi: str | None, scanned: bool) -> str | None:
        """The id of the registered party with this IPI, else this name (typed: exact ignoring case and
        spacing; scanned: the one clearly closest name), else None."""
        if ipi:
            by_ipi = sorted(p.party_id for p in self.parties.values() if p.ipi == ipi)
            if len(by_ipi) == 1:
                return by_ipi[0]
        if not name:
            return None
        wanted = normalise_name(name)
        exact = sorted(p.party_id for p in self.parties.values() if normalise_name(p.name) == wanted)
        if len(exact) == 1:
            return exact[0]
        if not scanned or exact:
            return None
        from rapidfuzz import fuzz

        scored = sorted(
            ((fuzz.ratio(folded_name(name), folded_name(p.name)), p.party_id) for p in self.parties.values()),
            key=lambda item: (-item[0], item[1]),
        )
        if (
            scored
            and scored[0][0] >= FUZZY_NAME_SCORE
            and (len(scored) == 1 or scored[0][0] - scored[1][0] >= FUZZY_MARGIN)
        ):
            return scored[0][1]
        return None


def normalise_name(name: str) -> str:
    """Case and spacing do not make a different party."""
    return re.sub(r"\s+", " ", name).strip().casefold()


def folded_name(name: str) -> str:
    """`normalise_name` without diacritics: how a scanned name is compared (English OCR drops accents)."""
    return unicodedata.normalize("NFKD", normalise_name(name)).encode("ascii", "ignore").decode("ascii")


def _optional_ipi(value: str) -> str | None:
    value = value.strip()
    if value and (problem := ipi_problem(value)):
        raise f.FieldError(problem)
    return value or None


def _optional_party_type(value: str) -> str | None:
    value = value.strip().lower()
    if value and value not in PARTY_TYPES:
        raise f.FieldError(f"must be one of {', '.join(PARTY_TYPES)}")
    return value or None


REGISTER_FIELDS = {"party_id": f.text, "name": f.text, "ipi": _optional_ipi, "party_type": _optional_party_type}


def read_party_register(path: Path, label: str = "parties.csv") -> tuple[PartyRegister, list[Reject]]:
    """The party register; a missing file is an empty register (every party on a sheet then needs review)."""
    if not path.exists():
        return PartyRegister(source_file=label), []
    parsed = f.reject_duplicates(f.read_csv(path, REGISTER_FIELDS, label), lambda r: r["party_id"], "party_id")
    parties = {r["party_id"]: RegisteredParty(r["party_id"], r["name"], r["ipi"], r["party_type"]) for r in parsed.rows}
    return PartyRegister(parties, label), parsed.rejects


# ---- Reading sheets ----------------------------------------------------------------------------------------


@dataclass
class Intake:
    """Everything read from the split sheets: `lines` (rights.split_sheet_lines rows), `provenance`
    (rights.field_provenance rows), the files read and the rejects."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    provenance: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def sheet_files(folder: Path) -> list[Path]:
    """Every file under `folder` (recursively), in name order; hidden and half-written (`.part`) files skipped."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".") and p.suffix.lower() != ".part"
    )


def read_split_sheets(folder: Path, rights_inbox: Path, register: PartyRegister) -> Intake:
    """Read every split sheet under `folder`; source files are named relative to `rights_inbox`."""
    intake = Intake()
    for path in sheet_files(folder):
        label = path.relative_to(rights_inbox).as_posix() if path.is_relative_to(rights_inbox) else str(path)
        suffix = path.suffix.lower()
        if suffix in TYPED_SUFFIXES:
            lines, rejects = read_typed_sheet(path, label, register)
            provenance: list[dict[str, Any]] = []
        elif suffix in SCAN_SUFFIXES:
            lines, provenance, rejects = read_scanned_sheet(path, label, register)
        else:
            intake.rejects.append(
                Reject(
                    label,
                    None,
                    "",
                    path.suffix,
                    "not a split sheet: expected .csv, .xlsx, .png, .jpg, .jpeg, .tif, .tiff or .pdf",
                )
            )
            continue
        intake.files.append(label)
        intake.lines.extend(assign_split_sets(lines))
        intake.provenance.extend(provenance)
        intake.rejects.extend(rejects)
    return intake


def read_typed_sheet(path: Path, label: str, register: PartyRegister) -> tuple[list[dict[str, Any]], list[Reject]]:
    """Lines of a CSV or XLSX sheet (first worksheet, header in the first row)."""
    try:
        records = list(_xlsx_records(path) if path.suffix.lower() == ".xlsx" else _csv_records(path))
    except Exception as error:  # a broken upload (not UTF-8, not a workbook) must not stop the other sheets
        return [], [Reject(label, None, "", "", f"cannot be read: {type(error).__name__}: {error}")]
    if not records:
        return [], [Reject(label, None, "", "", "no header row")]
    header = records[0][1]
    missing = [name for name in ("role", "share_percent") if name not in header]
    if not {"work_id", "recording_id"} & set(header):
        missing.append("work_id")
    if not {"party_id", "party_name"} & set(header):
        missing.append("party_id")
    if missing:
        return [], [Reject(label, None, ",".join(missing), "", "header lacks required columns")]
    lines, rejects = [], []
    for row_number, record in records[1:]:
        if not any(v.strip() for v in record.values()):
            continue
        line, problems = _typed_line(record, label, row_number, register)
        if problems:
            rejects.extend(problems)
        else:
            lines.append(line)
    return lines, rejects


def _csv_records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; the header comes first as (1, {column: column})."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header: list[str] | None = None
        for row in reader:
            if header is None:
                header = [name.strip().lower() for name in row]
                yield 1, {name: name for name in header}
                continue
            yield reader.line_num, {name: (row[i] if i < len(row) else "") for i, name in enumerate(header)}


def _xlsx_records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """As `_csv_records`, from the first worksheet; cells typed by Excel are turned back into text."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        header: list[str] | None = None
        for row_number, row in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1):
            if header is None:
                header = [str(v or "").strip().lower() for v in row]
                yield 1, {name: name for name in header}
                continue
            yield (
                row_number,
                {name: _cell_text(name, row[i] if i < len(row) else None) for i, name in enumerate(header)},
            )
    finally:
        workbook.close()


def _cell_text(column: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and column == "ipi":
        return f"{value:011d}"  # Excel drops an IPI's leading zeros when it is typed as a number
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value)


def _typed_line(
    record: dict[str, str], label: str, row_number: int, register: PartyRegister
) -> tuple[dict[str, Any], list[Reject]]:
    value = {
        name: (record.get(name) or "").strip()
        for name in (
            "subject_type",
            "work_id",
            "recording_id",
            "iswc",
            "isrc",
            "work_title",
            "title",
            "party_id",
            "party_name",
            "ipi",
            "role",
            "share_percent",
            "valid_from",
            "valid_to",
        )
    }
    problems = []
    subject_type = value["subject_type"].lower() or "work"
    subject_id = value["recording_id"] if subject_type == "recording" else value["work_id"]
    if subject_type not in SUBJECT_TYPES:
        problems.append(
            Reject(
                label,
                row_number,
                "subject_type",
                value["subject_type"],
                f"subject_type must be one of {', '.join(SUBJECT_TYPES)}",
            )
        )
    elif not subject_id:
        id_field = "recording_id" if subject_type == "recording" else "work_id"
        problems.append(Reject(label, row_number, id_field, "", f"{id_field} is required for a {subject_type} split"))
    window = {}
    for name in ("valid_from", "valid_to"):
        try:
            window[name] = date.fromisoformat(value[name]) if value[name] else None
        except ValueError:
            problems.append(Reject(label, row_number, name, value[name], f"{name} is not a date (YYYY-MM-DD)"))
    if not value["party_id"] and not value["party_name"]:
        problems.append(Reject(label, row_number, "party_id", "", "a line needs a party_id or a party_name"))
    if problems:
        return {}, problems
    party_id = value["party_id"] or register.resolve(value["party_name"], value["ipi"] or None, scanned=False)
    share_bp = share_basis_points(value["share_percent"])
    return {
        "source_file": label,
        "page": None,
        "row_number": row_number,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "iswc": value["iswc"] or None,
        "isrc": value["isrc"] or None,
        "title": value["work_title"] or value["title"] or None,
        "party_id": party_id,
        "party_name": value["party_name"] or None,
        "ipi": value["ipi"] or None,
        "role": value["role"].lower(),
        "share_text": value["share_percent"],
        "share_bp": share_bp,
        "valid_from": window["valid_from"],
        "valid_to": window["valid_to"],
        "min_confidence": None,
    }, []


def share_basis_points(text: str) -> int | None:
    """Basis points of a percentage in (0, 100] with at most two decimals ("33.34" → 3334); else None."""
    try:
        percent = Decimal(text.replace("%", "").strip())
    except InvalidOperation:
        return None
    if not percent.is_finite():
        return None
    bp = percent * 100
    if bp != bp.to_integral_value() or not 0 < bp <= 10_000:
        return None
    return int(bp)


def scanned_work_ids(path: Path, works: int) -> list[str]:
    """Work ids of a scan's works, in the order they appear: the file names the first (`WRK0005.png`, the text
    before the first `_`), or all of them joined by `+` (`WRK0005+WRK0006.png`). A work the name does not
    cover gets `<first>-<n>` (WRK0005-2): a subject the catalog does not know, so its set waits for review."""
    named = [part for part in path.name.split("_")[0].split(".")[0].split("+") if part]
    return [named[i] if i < len(named) else f"{named[0]}-{i + 1}" for i in range(works)]


def read_scanned_sheet(
    path: Path, label: str, register: PartyRegister
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Reject]]:
    """Lines and field provenance of a scanned sheet (image or PDF) read by OCR.

    Every work on the sheet becomes its own lines (its own split set), each line traced to its page and box.
    Table rows are numbered through the document (1, 2, ... across pages and works); header fields, known
    boilerplate and unread text are row 0. Unread text (a line that is neither a field nor boilerplate) is a
    provenance row `unread_text` needing review, which the rules turn into a review problem on every set of the
    file. Values that did not parse are kept as read, so the rules see what the scan says.
    """
    from integrations.ocr import REVIEW_THRESHOLD, TesseractUnavailable, UnreadableScan, read_split_sheet

    try:
        scan = read_split_sheet(path, work_id=scanned_work_ids(path, 1)[0])
    except (UnreadableScan, TesseractUnavailable) as error:
        return [], [], [Reject(label, None, "", "", str(error).replace(str(path), label))]
    if not scan.rows:
        reason = "; ".join(scan.warnings) or "no party rows found"
        return [], [], [Reject(label, None, "", "", f"no split lines could be read from the scan: {reason}")]

    def provenance(fld: Any, row_number: int, needs_review: bool | None = None) -> dict[str, Any]:
        return {
            "source_file": label,
            "page": fld.page,
            "row_number": row_number,
            "field": fld.name,
            "value": fld.value,
            "bbox": ",".join(str(v) for v in fld.bbox) if fld.bbox else None,
            "confidence": round(fld.confidence, 1),
            "needs_review": (fld.problem is not None or fld.confidence < REVIEW_THRESHOLD)
            if needs_review is None
            else needs_review,
        }

    fields = [provenance(fld, 0, True) for fld in scan.unread]
    fields.extend(provenance(fld, 0, False) for fld in scan.boilerplate)
    lines = []
    row_number = 0
    for work_id, work in zip(scanned_work_ids(path, len(scan.works)), scan.works, strict=True):
        fields.extend(provenance(fld, 0) for fld in work.header_fields.values())
        for row in work.rows:
            row_number += 1
            fields.extend(provenance(fld, row_number) for fld in row.fields.values())
            # Columns read beside the party (publisher, PRO, signature, date) move no money: kept for the record.
            fields.extend(provenance(fld, row_number, False) for fld in row.extra.values())
            read = {name: fld.value for name, fld in row.fields.items()}
            ipi = row.ipi or read.get("ipi") or None
            share_text = f"{row.share_percent:.2f}" if row.share_percent is not None else read.get("share_percent", "")
            lines.append(
                {
                    "source_file": label,
                    "page": row.fields["party_name"].page,
                    "row_number": row_number,
                    "subject_type": "work",
                    "subject_id": work_id,
                    "iswc": work.iswc,
                    "isrc": None,
                    "title": work.title,
                    "party_id": register.resolve(row.party_name, row.ipi, scanned=True),
                    "party_name": row.party_name or None,
                    "ipi": ipi,
                    "role": row.role or read.get("role", "").lower(),
                    "share_text": share_text,
                    "share_bp": share_basis_points(share_text) if row.share_percent is not None else None,
                    "valid_from": None,
                    "valid_to": None,
                    "min_confidence": round(min(fld.confidence for fld in row.fields.values()), 1),
                }
            )
    return lines, fields, []


# ---- Split sets ----------------------------------------------------------------------------------------------


def assign_split_sets(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each line of one file its `split_set_id`: lines of one subject and window form a set."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        groups[(line["subject_type"], line["subject_id"], line["valid_from"], line["valid_to"])].append(line)
    for (subject_type, subject_id, valid_from, _), members in groups.items():
        set_id = split_set_id(subject_type, subject_id, valid_from, content_hash(members))
        for line in members:
            line["split_set_id"] = set_id
    return lines


def split_set_id(subject_type: str, subject_id: str, valid_from: date | None, digest: str) -> str:
    return f"{subject_type}:{subject_id}:{valid_from.isoformat() if valid_from else '-'}:{digest[:10]}"


def content_hash(lines: list[dict[str, Any]]) -> str:
    """SHA-256 of what a split set says: subject, window, identifiers and each party's role and share.

    Where it is written (file, row, page) and OCR confidences are left out, so moving a sheet or re-scanning
    it keeps the set (and its review); any change to who gets what is a new set.
    """
    first = lines[0]
    canonical = {
        "subject": [first["subject_type"], first["subject_id"]],
        "window": [str(first["valid_from"] or ""), str(first["valid_to"] or "")],
        "iswc": sorted({line["iswc"] or "" for line in lines}),
        "isrc": sorted({line["isrc"] or "" for line in lines}),
        "shares": sorted(
            [
                line["party_id"] or "",
                "" if line["party_id"] else normalise_name(line["party_name"] or ""),
                line["ipi"] or "",
                line["role"],
                str(line["share_bp"]) if line["share_bp"] else line["share_text"],
            ]
            for line in lines
        ),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


# ---- Contracts -----------------------------------------------------------------------------------------------

CONTRACT_FIELDS = {
    "contract_id": f.text,
    "title": f.optional_text,
    "document": f.optional_text,
    "start_date": lambda v: f.iso_date(v) if v.strip() else None,
    "end_date": lambda v: f.iso_date(v) if v.strip() else None,
    "terms": f.optional_text,
    "party_ids": f.text,
}


def read_contracts(
    path: Path, label: str, known_parties: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Reject]]:
    """Contracts and their parties from `contracts.csv`.

    `party_ids` lists the parties separated by `;`, each optionally with its role: `PTY001:publisher;PTY007`.
    A contract that ends before it starts is rejected whole; a party the register does not know, or named
    twice, is rejected alone (the contract is kept).
    """
    if not path.exists():
        return [], [], []
    parsed = f.reject_duplicates(f.read_csv(path, CONTRACT_FIELDS, label), lambda r: r["contract_id"], "contract_id")
    contracts, parties, rejects = [], [], list(parsed.rejects)
    for row in parsed.rows:
        if row["start_date"] and row["end_date"] and row["end_date"] < row["start_date"]:
            rejects.append(
                Reject(
                    label,
                    row["_row"],
                    "end_date",
                    row["end_date"].isoformat(),
                    f"end_date is before start_date {row['start_date'].isoformat()}",
                )
            )
            continue
        contracts.append({**row, "source_file": label})
        seen: set[str] = set()
        for entry in row["party_ids"].split(";"):
            party_id, _, role = (part.strip() for part in entry.partition(":"))
            if not entry.strip():
                continue
            reason = None
            if not party_id:
                reason = "a party entry is PARTY_ID or PARTY_ID:role"
            elif party_id in seen:
                reason = f"party {party_id} is named twice"
            elif party_id not in known_parties:
                reason = f"party {party_id} is not in rights.parties (the party register)"
            if reason:
                rejects.append(Reject(label, row["_row"], "party_ids", entry.strip(), reason))
                continue
            seen.add(party_id)
            parties.append({"contract_id": row["contract_id"], "party_id": party_id, "role": role.lower() or None})
    return contracts, parties, rejects
