"""Split-sheet layout from OCR words: text lines, the table header's columns, and each row's cells.

Geometry uses the words' boxes on the prepared page, where lines are horizontal after deskewing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from statistics import median

from integrations.ocr.fields import ROLES, parse_role
from integrations.ocr.reader import OcrWord

COLUMNS = ("party_name", "role", "ipi", "share_percent")
HEADING_SIMILARITY = 0.65


@dataclass(frozen=True)
class Line:
    """Words whose vertical centres share one text line, left to right."""

    words: tuple[OcrWord, ...]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def top(self) -> int:
        return min(word.page_box[1] for word in self.words)

    @property
    def bottom(self) -> int:
        return max(word.page_box[1] + word.page_box[3] for word in self.words)


@dataclass(frozen=True)
class TableColumns:
    """Left edge (prepared-page x) from which each column's words start; IPI may be absent from a form."""

    starts: dict[str, float]

    def column_of(self, word: OcrWord) -> str:
        left = word.page_box[0]
        chosen = COLUMNS[0]
        for name, start in sorted(self.starts.items(), key=lambda item: item[1]):
            if left >= start:
                chosen = name
        return chosen


def group_lines(words: list[OcrWord]) -> list[Line]:
    """Words in reading order as lines; a word joins a line when its centre lies within the line's height."""
    # Rules and specks come back as words made of dashes or dots; they carry no field.
    kept = [w for w in words if re.search(r"[0-9A-Za-z]", w.text)]
    lines: list[list[OcrWord]] = []
    for word in sorted(kept, key=lambda w: w.page_box[1] + w.page_box[3] / 2):
        centre = word.page_box[1] + word.page_box[3] / 2
        if lines:
            last = lines[-1]
            top = median(w.page_box[1] for w in last)
            bottom = median(w.page_box[1] + w.page_box[3] for w in last)
            if top <= centre <= bottom:
                last.append(word)
                continue
        lines.append([word])
    return [Line(tuple(sorted(line, key=lambda w: w.page_box[0]))) for line in lines]


def find_table_header(lines: list[Line]) -> tuple[int, TableColumns] | None:
    """Index of the line naming the columns (it has "Role" and "Share") and where each column starts."""
    for index, line in enumerate(lines):
        lowered = [word.text.lower().strip(":%") for word in line.words]
        role_at, share_at = _heading(lowered, "role"), _heading(lowered, "share")
        if role_at is None or share_at is None or not 0 < role_at < share_at:
            continue
        anchors = {"party_name": 0, "role": role_at, "share_percent": share_at}
        ipi_at = _heading(lowered, "ipi")
        if ipi_at is not None and role_at < ipi_at < share_at:
            anchors["ipi"] = ipi_at
        names_party = any(_heading(lowered[:role_at], label) is not None for label in ("name", "party", "writer"))
        # Two look-alike words ("Rose ... Shore" in a title) are not a heading; a third column name is needed.
        if "ipi" not in anchors and not names_party:
            continue
        height = median(word.page_box[3] for word in line.words)
        starts = {}
        for name, at in anchors.items():
            word = line.words[at]
            previous_right = line.words[at - 1].page_box[0] + line.words[at - 1].page_box[2] if at else 0
            # Cells may start a little left of their heading (centred or right-aligned numbers) but never
            # past the middle of the gap to the previous heading.
            slack = min(1.5 * height, (word.page_box[0] - previous_right) / 2)
            starts[name] = word.page_box[0] - slack if at else float("-inf")
        return index, TableColumns(starts)
    return None


def _heading(words: list[str], label: str) -> int | None:
    """Index of the word that reads as `label`, allowing one OCR slip ("Rote" for "Role", "lPI" for "IPI")."""
    for i, word in enumerate(words):
        if SequenceMatcher(None, word[: len(label)], label).ratio() >= HEADING_SIMILARITY:
            return i
    return None


def table_rows(lines: list[Line], columns: TableColumns) -> list[dict[str, list[OcrWord]]]:
    """Cells of each table row below the header, until a total, a footer or a large gap ends the table."""
    rows: list[dict[str, list[OcrWord]]] = []
    pitches: list[int] = []
    previous: Line | None = None
    for line in lines:
        if line.words[0].text.lower().strip(":") == "total":
            break
        pitch = line.top - previous.top if previous is not None else None
        if pitch is not None and pitches and pitch > 2.5 * median(pitches):
            break
        cells: dict[str, list[OcrWord]] = {name: [] for name in COLUMNS}
        for word in line.words:
            cells[columns.column_of(word)].append(word)
        role_text = " ".join(w.text for w in cells["role"])
        looks_like_row = bool(cells["ipi"] or cells["share_percent"]) or parse_role(role_text)[0] in ROLES
        # A footer sentence has no numbers and no role; a smudged row at the table's own pitch is kept (its
        # fields will fail to parse and go to review) rather than silently ending the table.
        on_pitch = pitch is not None and bool(pitches) and pitch <= 1.25 * median(pitches)
        if not looks_like_row and not on_pitch:
            break
        if pitch is not None:
            pitches.append(pitch)
        rows.append(cells)
        previous = line
    return rows
