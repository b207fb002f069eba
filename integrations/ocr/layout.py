"""Split-sheet layout from OCR words: text lines, table headings recognised by their words, and rows' cells.

Geometry uses the words' boxes on the prepared page, where lines are horizontal after deskewing. A heading is
recognised from what its column labels say (Name / Songwriter, Role / Capacity, Publisher, PRO, IPI #, Share /
Ownership, Signature, Date), whatever their order or number; each column's cells are read into their own field,
so an extra column never merges into its neighbour.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from statistics import median

from integrations.ocr.fields import ROLES, is_pro, looks_like_ipi, looks_like_share, parse_role
from integrations.ocr.reader import OcrWord

# Fields a table column can hold; the first four make a party line, the others are read beside it.
COLUMNS = ("party_name", "role", "ipi", "share_percent", "publisher", "pro", "signature", "date")
HEADING_WORDS: dict[str, frozenset[str]] = {
    "party_name": frozenset(
        {
            "name",
            "names",
            "party",
            "parties",
            "writer",
            "writers",
            "songwriter",
            "songwriters",
            "payee",
            "rightsholder",
            "holder",
            "contributor",
            "contributors",
            "author",
        }
    ),
    "role": frozenset({"role", "roles", "capacity", "function", "type"}),
    "ipi": frozenset({"ipi", "ip", "cae", "ipi/cae", "ipi#"}),
    "share_percent": frozenset(
        {"share", "shares", "ownership", "split", "splits", "percentage", "percent", "interest", "%"}
    ),
    "publisher": frozenset({"publisher", "publishers", "publishing"}),
    "pro": frozenset({"pro", "society", "affiliation", "pro/society"}),
    "signature": frozenset({"signature", "signatures", "signed", "sign"}),
    "date": frozenset({"date", "dated"}),
}
# A heading with no role column names its parties' role in its first label ("Songwriter", "Publisher").
DEFAULT_ROLES = {
    "songwriter": "writer",
    "songwriters": "writer",
    "writer": "writer",
    "writers": "writer",
    "composer": "composer",
    "publisher": "publisher",
    "publishers": "publisher",
}
WORD_SIMILARITY = 0.75  # one letter wrong in a four-letter word ("Rote" for "Role")


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

    @property
    def height(self) -> float:
        return median(word.page_box[3] for word in self.words)


@dataclass(frozen=True)
class TableColumns:
    """Left edge (prepared-page x) from which each column's words start; `default_role` when no role column."""

    starts: dict[str, float]
    default_role: str | None = None

    def column_of(self, word: OcrWord) -> str:
        left = word.page_box[0]
        chosen = "party_name"
        for name, start in sorted(self.starts.items(), key=lambda item: item[1]):
            if left >= start:
                chosen = name
        return chosen


def group_lines(words: list[OcrWord]) -> list[Line]:
    """Words in reading order as lines; a word joins a line when its centre lies within the line's height."""
    # Rules and specks come back as words made of dashes or dots; they carry no field.
    kept = [w for w in words if re.search(r"[0-9A-Za-z%]", w.text)]
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


def phrases(line: Line) -> list[list[OcrWord]]:
    """Words split where the gap is wider than a line height and a half: a heading's column labels."""
    groups: list[list[OcrWord]] = []
    gap = 1.5 * line.height
    for word in line.words:
        if groups:
            previous = groups[-1][-1]
            if word.page_box[0] - (previous.page_box[0] + previous.page_box[2]) <= gap:
                groups[-1].append(word)
                continue
        groups.append([word])
    return groups


def _bare(text: str) -> str:
    return text.lower().strip(".:;,()[]#*‘’“”«»'\"_~")


def _is_word(text: str, vocabulary: frozenset[str]) -> bool:
    """`text` reads as one of `vocabulary`, allowing one OCR slip in words of four letters or more."""
    word = _bare(text)
    if word in vocabulary or word.replace("l", "i").replace("1", "i") in vocabulary:
        return True
    return len(word) >= 4 and any(
        len(v) >= 4 and SequenceMatcher(None, word, v).ratio() >= WORD_SIMILARITY for v in vocabulary
    )


def _column_of_label(label: list[OcrWord]) -> str | None:
    for name in ("share_percent", "ipi", "role", "pro", "signature", "date", "party_name", "publisher"):
        if any(_is_word(w.text, HEADING_WORDS[name]) for w in label):
            return name
    return None


def find_header(line: Line) -> TableColumns | None:
    """The columns `line` names when it is a table heading: its first label names the parties (or is their
    role), and at least two more labels name known columns, one of them the share."""
    labels = phrases(line)
    if len(labels) < 3 or len(labels) > 9 or len(line.words) > 16:
        return None
    first = labels[0]
    party_words = HEADING_WORDS["party_name"] | HEADING_WORDS["publisher"] | {"composer"}
    names_parties = any(_is_word(part, party_words) for w in first for part in w.text.split("/") if part)
    if not names_parties and _column_of_label(first) is not None:
        return None  # a heading starts with who is paid, not with a share or an IPI
    named = {"party_name": 0}
    for index, label in enumerate(labels[1:], start=1):
        column = _column_of_label(label)
        if column is not None and column not in named and column != "party_name":
            named[column] = index
    # A share column and a third column, named or not (a fax's "Rl" for "Role" is found from its cells); a first
    # label that names no party ("Member", misread) needs the share with a role or IPI column beside it.
    if "share_percent" not in named or len(labels) < 3:
        return None
    if not names_parties and not {"role", "ipi"} & set(named):
        return None
    height = line.height
    starts: dict[str, float] = {}
    for name, index in named.items():
        word = labels[index][0]
        if index == 0:
            starts[name] = float("-inf")
            continue
        previous = labels[index - 1][-1]
        previous_right = previous.page_box[0] + previous.page_box[2]
        # Cells may start a little left of their heading (centred or right-aligned numbers) but never past the
        # middle of the gap to the previous heading.
        starts[name] = word.page_box[0] - min(1.5 * height, (word.page_box[0] - previous_right) / 2)
    # Labels that name no known column still get a start, so their cells do not spill into a neighbour.
    for index, label in enumerate(labels[1:], start=1):
        if index not in named.values():
            starts[f"other:{_bare(label[0].text)}"] = label[0].page_box[0] - 0.5 * height
    default_role = None
    if "role" not in named:
        default_role = next((DEFAULT_ROLES[_bare(w.text)] for w in first if _bare(w.text) in DEFAULT_ROLES), None)
    return TableColumns(starts, default_role)


def name_columns_by_content(rows: list[dict[str, list[OcrWord]]]) -> list[dict[str, list[OcrWord]]]:
    """Rows with each column whose heading was not understood ("other:…") renamed after what most of its cells
    hold — roles, IPI-shaped numbers or society names — when no column of that kind was named."""
    others = sorted({name for row in rows for name in row if name.startswith("other:")})
    present = {name for row in rows for name in row}
    renamed: dict[str, str] = {}
    for other in others:
        cells = [" ".join(w.text for w in row[other]) for row in rows if row.get(other)]
        votes = {
            "role": sum(parse_role(c)[0] in ROLES for c in cells),
            "ipi": sum(looks_like_ipi(c.replace(" ", "")) for c in cells),
            "pro": sum(is_pro(c) for c in cells),
        }
        kind, count = max(votes.items(), key=lambda item: item[1])
        if cells and count * 2 >= len(cells) and kind not in present and kind not in renamed.values():
            renamed[other] = kind
    return [{renamed.get(name, name): words for name, words in row.items()} for row in rows]


def is_sentence(line: Line) -> bool:
    """Prose (a note under a table): six or more words, most alphabetic ones in lower case."""
    alphabetic = [w.text for w in line.words if w.text[:1].isalpha()]
    return len(line.words) >= 6 and sum(t[0].islower() for t in alphabetic) >= len(alphabetic) / 2


def has_role_word(line: Line) -> bool:
    return any(parse_role(w.text)[0] in ROLES for w in line.words)


def row_like(line: Line) -> bool:
    """Values a party line carries: a share, an IPI, a role or a society."""
    return any(
        looks_like_share(w.text) or looks_like_ipi(w.text) or is_pro(w.text) for w in line.words
    ) or has_role_word(line)


def table_rows(
    lines: list[Line], start: int, columns: TableColumns, ends: Callable[[Line], bool]
) -> tuple[list[dict[str, list[OcrWord]]], int]:
    """Cells of each table row from `lines[start]`, and the index of the first line after the table.

    The table ends at a total, a sentence, a paragraph (no gap between its words wide enough to part cells), a
    large gap, a line `ends` claims (a heading, a title) or a line with no party values off the table's pitch.
    A smudged row at the table's own pitch is kept (its fields will fail to parse and go to review) rather
    than silently ending the table.
    """
    rows: list[dict[str, list[OcrWord]]] = []
    pitches: list[int] = []
    previous: Line | None = None
    index = start
    while index < len(lines):
        line = lines[index]
        if _bare(line.words[0].text) == "total" or is_sentence(line) or ends(line):
            break
        # Cells sit apart in their columns; one run of closely spaced words is a paragraph, not a row.
        if len(phrases(line)) == 1 and len(line.words) >= 4:
            break
        pitch = line.top - previous.top if previous is not None else None
        if pitch is not None and pitches and pitch > 2.5 * median(pitches):
            break
        on_pitch = pitch is not None and bool(pitches) and pitch <= 1.25 * median(pitches)
        if not row_like(line) and not on_pitch:
            break
        cells: dict[str, list[OcrWord]] = {}
        for word in line.words:
            cells.setdefault(columns.column_of(word), []).append(word)
        if pitch is not None:
            pitches.append(pitch)
        rows.append(cells)
        previous = line
        index += 1
    return rows, index
