"""What a line of a split sheet is when it is not a table row: a labelled title, an ISWC, a party written as a
paragraph, known boilerplate (headings, signatures, dates, footers, notes), or text left unread.

Every line of every page ends up in exactly one of these, so nothing on a sheet is dropped without a trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from integrations.ocr.fields import ISWC_PATTERN, ROLES, find_iswc, looks_like_ipi, looks_like_share, parse_role
from integrations.ocr.layout import Line, has_role_word
from integrations.ocr.reader import OcrWord

TITLE_LABEL_WORDS = frozenset({"song", "work", "title", "of", "the", "composition", "track", "name"})
FOOTER_PATTERN = re.compile(
    r"(page \d+ of \d+|confidential|registered in|company no|vat no|www\.|@|tel[:.]|"
    r"fax[:.]|^from[:\s]|p\.\d{3})",
    re.IGNORECASE,
)
SIGNATURE_WORDS = frozenset({"signed", "signature", "signatures", "agreed", "witness", "witnessed", "sign"})
GLUED_IPI = re.compile(r"[Ii1l][Pp][Ii1l][:#]?([0-9OoIl]{9,11})")
POOL_HEADINGS = frozenset({"writers", "writer", "songwriters", "publishers", "publisher", "composers"})


@dataclass(frozen=True)
class Region:
    """A line that is not a table row: `kind` is title, iswc, party, or boilerplate:<why>, or unread."""

    kind: str
    words: tuple[OcrWord, ...]
    reason: str = ""


def _bare(text: str) -> str:
    return text.lower().strip(".:;,()[]#*-‘’“”«»'\"_~")


def title_words(lines: list[Line], index: int) -> tuple[list[OcrWord], list[OcrWord], int] | None:
    """(label words, value words, lines used) when `lines[index]` starts with a title label ("Work title:",
    "Title of Work:", "Song title", "Work 2 title", "TITLE OF WORK" with the value on the next line)."""
    words = list(lines[index].words)
    label_end = 0
    while label_end < len(words) and (
        _bare(words[label_end].text) in TITLE_LABEL_WORDS or _bare(words[label_end].text).isdigit() and label_end > 0
    ):
        label_end += 1
        if words[label_end - 1].text.endswith(":"):
            break
    label = words[:label_end]
    if not any(_bare(w.text) == "title" for w in label):
        return None
    # A lone letter or mark after the label is speckle, not a title ("Title of the work. a").
    value = [w for w in words[label_end:] if len(_bare(w.text)) > 1 or w.text.isdigit()]
    if value:
        return label, value, 1
    if index + 1 < len(lines):
        below = lines[index + 1]
        if (
            not any(looks_like_share(w.text) or looks_like_ipi(w.text) for w in below.words)
            and find_iswc(below.text) is None
        ):
            return label, list(below.words), 2
    return label, [], 1


def split_title_and_iswc(value: list[OcrWord]) -> tuple[list[OcrWord], list[OcrWord]]:
    """A title with its ISWC appended ("Harbor Sirens  ISWC T-123.456.789-0") as (title words, ISWC words)."""
    for at, word in enumerate(value):
        rest = " ".join(w.text for w in value[at:])
        if _bare(word.text) == "iswc" or (
            word.text[:1] in "Tt" and ISWC_PATTERN.match(re.sub(r"\s+", "", rest).upper())
        ):
            return value[:at], [w for w in value[at:] if _bare(w.text) != "iswc"]
    return value, []


def party_paragraph(line: Line) -> dict[str, list[OcrWord]] | None:
    """A party written as a sentence, `Jane Doe (IPI 00012345678) - Composer - 33.33%`, as cells: the name is
    what precedes the first value, the role its role word(s), the share the last share-shaped word."""
    words = list(line.words)
    role_at = [i for i, w in enumerate(words) if parse_role(w.text)[0] in ROLES]
    share_at = [i for i, w in enumerate(words) if looks_like_share(w.text) and not looks_like_ipi(w.text)]
    if not role_at or not share_at or share_at[-1] < role_at[0]:
        return None
    for i, word in enumerate(words):  # "(IPI00555123409)": label and number read as one word
        if glued := GLUED_IPI.fullmatch(word.text.strip("()[].,;:")):
            words[i] = replace(word, text=glued.group(1))
    label_at = [i for i, w in enumerate(words) if _bare(w.text).replace("1", "i").replace("l", "i") == "ipi"]
    ipi_at = [i for i, w in enumerate(words) if looks_like_ipi(w.text)]
    first_value = min([role_at[0], *ipi_at, *label_at])
    name = words[:first_value]
    if not name or len(name) > 6 or not all(w.text[:1].isupper() or not w.text[:1].isalpha() for w in name):
        return None
    cells = {"party_name": name, "role": [words[role_at[0]]], "share_percent": [words[share_at[-1]]]}
    if label_at and label_at[0] < role_at[0]:
        # The number after "IPI", even when OCR split it in two ("90689797 162").
        cells["ipi"] = [w for w in words[label_at[0] + 1 : role_at[0]] if any(c.isdigit() for c in w.text)]
    elif ipi_at:
        cells["ipi"] = [words[ipi_at[0]]]
    return cells


def classify(line: Line, first_on_page: bool) -> Region:
    """Boilerplate (heading, date, signature, footer, total, note) or unread text that may hold a field."""
    words, text = line.words, line.text
    bare = [_bare(w.text) for w in words]
    if bare[0] == "date" or bare[0] == "dated":
        return Region("boilerplate:date", words)
    if bare[0] == "total":
        return Region("boilerplate:total", words)
    if FOOTER_PATTERN.search(text):
        return Region("boilerplate:footer", words)
    if bare[0] in SIGNATURE_WORDS or "___" in text:
        return Region("boilerplate:signature", words)
    if len(words) <= 2 and all(b in POOL_HEADINGS for b in bare):
        return Region("boilerplate:heading", words, reason=" ".join(bare))
    letters = [w.text for w in words if w.text[:1].isalpha()]
    if letters and len(letters) == len(words) and all(t.isupper() for t in letters) and len(words) <= 6:
        return Region("boilerplate:heading", words)
    holds = []
    if any(
        looks_like_share(w.text) and not w.text.isdigit() or re.fullmatch(r"\d{1,3}", w.text) and "%" in text
        for w in words
    ):
        holds.append("a share")
    if any(looks_like_ipi(w.text) for w in words):
        holds.append("an IPI")
    if find_iswc(text):
        holds.append("an ISWC")
    if has_role_word(line):
        holds.append("a role")
    if holds:
        return Region("unread", words, reason=" and ".join(holds))
    if first_on_page and len(words) <= 5:
        return Region("boilerplate:heading", words)
    return Region("boilerplate:note", words)
