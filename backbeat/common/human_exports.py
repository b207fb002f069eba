"""Text that a person opens in a spreadsheet, a player or DJ software cannot run or smuggle anything.

- CSV cells: a value starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
  LibreOffice and Google Sheets; it gets a leading apostrophe (OWASP's advice), which they show as text.
- M3U lines: a title with a line break would add a playable entry; control characters become spaces.
- XML attributes: characters XML 1.0 forbids (most C0 controls) are removed so the file stays well-formed.
"""

from __future__ import annotations

import re

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def spreadsheet_cell(value: object) -> object:
    """`value` as a CSV cell that a spreadsheet shows as text: formula-like strings are neutralised; numbers
    and None pass through untouched."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def spreadsheet_row(values: list[object]) -> list[object]:
    return [spreadsheet_cell(v) for v in values]


def single_line(text: str) -> str:
    """`text` on one line: every control or line-separator character becomes a space."""
    return _CONTROL.sub(" ", text)


def xml_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot hold; line breaks and tabs become spaces."""
    return _XML_FORBIDDEN.sub("", text).replace("\n", " ").replace("\r", " ").replace("\t", " ")
