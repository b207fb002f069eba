"""Read CSV files row by row against a field specification; bad rows become Rejects naming file, row, field."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from backbeat.common.quarantine import Reject

Parser = Callable[[str], Any]


class FieldError(ValueError):
    """A value that does not fit its field; the message says why."""


def text(value: str) -> str:
    if not value.strip():
        raise FieldError("is required")
    return value.strip()


def optional_text(value: str) -> str | None:
    return value.strip() or None


def integer(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise FieldError("is not a whole number") from None


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FieldError("is not a date (YYYY-MM-DD)") from None


def decimal(value: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise FieldError("is not a decimal number") from None
    if not number.is_finite():
        raise FieldError("is not a finite number")
    return number


def boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise FieldError("is not true/false or yes/no")


def decimal_places(places: int) -> Parser:
    """A decimal with at most `places` digits after the point: storing it can never round it."""

    def parse(value: str) -> Decimal:
        number = decimal(value)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places and number != number.quantize(Decimal(1).scaleb(-places)):
            raise FieldError(f"has more than {places} decimal places and would be rounded")
        return number

    return parse


def optional_column(parser: Parser, default: str = "") -> Parser:
    """A field whose column may be absent from the header; an absent column reads as `default`."""

    def parse(value: str) -> Any:
        return parser(value or default)

    parse.optional_column = True  # type: ignore[attr-defined]
    return parse


def optional_relative_path(value: str) -> str | None:
    """A path relative to a data folder, or None when empty; absolute paths and `..` are refused."""
    from backbeat.common.safe_paths import relative_path_problem

    if not value.strip():
        return None
    problem = relative_path_problem(value)
    if problem:
        raise FieldError(problem)
    return value.strip()


def matching(pattern: str, description: str) -> Parser:
    compiled = re.compile(pattern)

    def parse(value: str) -> str:
        value = value.strip()
        if not compiled.fullmatch(value):
            raise FieldError(f"is not {description}")
        return value

    return parse


def in_range(parser: Parser, low: int, high: int) -> Parser:
    def parse(value: str) -> int:
        number: int = parser(value)
        if not low <= number <= high:
            raise FieldError(f"is outside {low}..{high}")
        return number

    return parse


MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_FIELD_CHARS = 10_000


@dataclass
class ParsedFile:
    """Rows that passed every field parser (with their line numbers), the rejects of the others, and the files
    that could not be read as a whole (encoding, size, header, broken quoting): their rows are unknown, so a
    caller must not read their absence as "the file removed these rows"."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    unreadable_files: list[str] = field(default_factory=list)
    rejected_raw: list[dict[str, Any]] = field(default_factory=list)  # rejected rows as read, with `_row`

    @property
    def complete(self) -> bool:
        """Every file was read as a whole (rows may still have been rejected one by one)."""
        return not self.unreadable_files

    def extend(self, other: ParsedFile) -> None:
        self.rows.extend(other.rows)
        self.rejects.extend(other.rejects)
        self.unreadable_files.extend(other.unreadable_files)
        self.rejected_raw.extend(other.rejected_raw)

    def rejected_keys(self, key_fields: Mapping[str, Parser]) -> tuple[set[tuple[Any, ...]], bool]:
        """The keys of the rejected rows (each key field parsed as a good row's would be), and whether some
        rejected row's key itself could not be read: then nobody knows which rows that file meant to keep."""
        keys: set[tuple[Any, ...]] = set()
        unknown = False
        for raw in self.rejected_raw:
            try:
                keys.add(tuple(parser(raw.get(name) or "") for name, parser in key_fields.items()))
            except FieldError:
                unknown = True
        return keys, unknown

    def reject_file(self, source: str, reason: str, row: int | None = None, column: str = "", value: str = "") -> None:
        self.rejects.append(Reject(source, row, column, value, reason))
        self.unreadable_files.append(source)


def decode_utf8(data: bytes) -> tuple[str | None, str]:
    """The text of `data` read as UTF-8 (a byte-order mark is dropped), or None and a reason that names the
    first bad byte, its offset and line, so a person can find it."""
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, (
            f"is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start:,} (line {line}); "
            "re-save the file as UTF-8"
        )


def read_csv(path: Path, fields: Mapping[str, Parser], label: str | None = None) -> ParsedFile:
    """Parse `path`; a row with any bad field is rejected whole, with one Reject per bad field.

    Each good row carries `_source_file` and `_row` (line number, header = 1). A file that cannot be read as a
    whole (missing, over `MAX_FILE_BYTES`, not UTF-8, header without the required columns, broken quoting) is one
    whole-file reject and is listed in `unreadable_files`; it never raises. A field longer than
    `MAX_FIELD_CHARS` rejects its row, naming the field.
    """
    source = label or str(path)
    parsed = ParsedFile()
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            parsed.reject_file(source, f"is {size:,} bytes; at most {MAX_FILE_BYTES:,} are read")
            return parsed
        data = path.read_bytes()
    except OSError as exc:
        parsed.reject_file(source, f"cannot be read: {exc.strerror or exc}")
        return parsed
    content, problem = decode_utf8(data)
    if content is None:
        parsed.reject_file(source, problem)
        return parsed
    previous_limit = csv.field_size_limit(MAX_FILE_BYTES)
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        missing = [
            name
            for name, parser in fields.items()
            if name not in (reader.fieldnames or []) and not getattr(parser, "optional_column", False)
        ]
        if missing:
            parsed.reject_file(source, "header lacks required columns", None, ",".join(missing))
            return parsed
        for row_number, raw in enumerate(reader, start=2):
            _parse_row(parsed, source, row_number, raw, fields)
    except csv.Error as exc:
        good = ParsedFile()
        good.reject_file(source, f"is not valid CSV: {exc}", reader.line_num)
        return good
    finally:
        csv.field_size_limit(previous_limit)
    return parsed


def _parse_row(
    parsed: ParsedFile, source: str, row_number: int, raw: Mapping[str | None, Any], fields: Mapping[str, Parser]
) -> None:
    values: dict[str, Any] = {"_source_file": source, "_row": row_number}
    problems = []
    for name, parser in fields.items():
        value = raw.get(name) or ""
        if len(value) > MAX_FIELD_CHARS:
            problems.append(
                Reject(
                    source,
                    row_number,
                    name,
                    value[:80] + "...",
                    f"{name} is {len(value):,} characters long; at most {MAX_FIELD_CHARS:,} are read",
                )
            )
            continue
        try:
            values[name] = parser(value)
        except FieldError as exc:
            problems.append(Reject(source, row_number, name, value, f"{name} {exc}"))
    if problems:
        parsed.rejects.extend(problems)
        parsed.rejected_raw.append(
            {
                "_source_file": source,
                "_row": row_number,
                **{k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)},
            }
        )
    else:
        parsed.rows.append(values)


def reject_duplicates(parsed: ParsedFile, key: Callable[[dict[str, Any]], Any], field_name: str) -> ParsedFile:
    """Keep the first row of each key; later rows with the same key are rejected as duplicates."""
    seen: dict[Any, int] = {}
    kept = ParsedFile(
        rejects=list(parsed.rejects),
        unreadable_files=list(parsed.unreadable_files),
        rejected_raw=list(parsed.rejected_raw),
    )
    for row in parsed.rows:
        k = key(row)
        if k in seen:
            kept.rejects.append(
                Reject(
                    row["_source_file"], row["_row"], field_name, str(row[field_name]), f"duplicate of row {seen[k]}"
                )
            )
        else:
            seen[k] = row["_row"]
            kept.rows.append(row)
    return kept
