"""Read CSV files row by row against a field specification; bad rows become Rejects naming file, row, field."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from assets.common.quarantine import Reject

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
        number = parser(value)
        if not low <= number <= high:
            raise FieldError(f"is outside {low}..{high}")
        return number

    return parse


@dataclass
class ParsedFile:
    """Rows that passed every field parser (with their line numbers), and the rejects of the others."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def extend(self, other: ParsedFile) -> None:
        self.rows.extend(other.rows)
        self.rejects.extend(other.rejects)


def read_csv(path: Path, fields: Mapping[str, Parser], label: str | None = None) -> ParsedFile:
    """Parse `path`; a row with any bad field is rejected whole, with one Reject per bad field.

    Each good row carries `_source_file` and `_row` (line number, header = 1).
    """
    source = label or str(path)
    parsed = ParsedFile()
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        parsed.rejects.append(Reject(source, None, "", "", f"cannot be read: {exc.strerror or exc}"))
        return parsed
    with handle:
        reader = csv.DictReader(handle)
        missing = [name for name in fields if name not in (reader.fieldnames or [])]
        if missing:
            parsed.rejects.append(Reject(source, 1, ",".join(missing), "", "header lacks required columns"))
            return parsed
        for row_number, raw in enumerate(reader, start=2):
            values: dict[str, Any] = {"_source_file": source, "_row": row_number}
            problems = []
            for name, parser in fields.items():
                value = raw.get(name) or ""
                try:
                    values[name] = parser(value)
                except FieldError as exc:
                    problems.append(Reject(source, row_number, name, value, f"{name} {exc}"))
            if problems:
                parsed.rejects.extend(problems)
            else:
                parsed.rows.append(values)
    return parsed


def reject_duplicates(parsed: ParsedFile, key: Callable[[dict[str, Any]], Any], field_name: str) -> ParsedFile:
    """Keep the first row of each key; later rows with the same key are rejected as duplicates."""
    seen: dict[Any, int] = {}
    kept = ParsedFile(rejects=list(parsed.rejects))
    for row in parsed.rows:
        k = key(row)
        if k in seen:
            kept.rejects.append(
                Reject(row["_source_file"], row["_row"], field_name, str(row[field_name]),
                       f"duplicate of row {seen[k]}")
            )
        else:
            seen[k] = row["_row"]
            kept.rows.append(row)
    return kept
