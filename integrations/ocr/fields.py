"""Values read off a split sheet, where they were found, how sure the OCR was, and whether they parse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

Box = tuple[int, int, int, int]

# The roles of assets/rights/roles.py (ROLE_GROUP); repeated here because integrations must not import asset
# packages (they pull in Dagster), and a test checks that the two stay in step. Identifiers are only read here:
# their check digits are the rights rules' job (assets/rights/identifiers.py), so the rule lives in one place.
ROLES = frozenset({"writer", "composer", "lyricist", "arranger", "publisher", "sub-publisher", "artist",
                   "performer", "label"})
ROLE_SYNONYMS = {"author": "lyricist", "songwriter": "writer", "sub publisher": "sub-publisher",
                 "subpublisher": "sub-publisher"}
ISWC_PATTERN = re.compile(r"T-?([0-9]{3})\.?([0-9]{3})\.?([0-9]{3})-?([0-9])")
# Letters Tesseract commonly returns for digits; applied only where a field must be numeric.
DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1"})


@dataclass(frozen=True)
class ExtractedField:
    """One value as read from a scan: `bbox` is (left, top, width, height) in the page image as given,
    `confidence` the lowest word confidence (0-100) and `problem` why it does not parse, if it does not."""

    name: str
    value: str
    page: int
    bbox: Box | None
    confidence: float
    source: Path
    problem: str | None = None


def parse_share(text: str) -> tuple[Decimal | None, str | None]:
    """Percentage with at most two decimals in (0, 100], e.g. "33.34" or "33,34 %"; else (None, why)."""
    cleaned = text.replace("%", "").replace(" ", "").replace(",", ".").translate(DIGIT_LOOKALIKES)
    try:
        share = Decimal(cleaned)
    except InvalidOperation:
        return None, f"share {text!r} is not a number"
    if not share.is_finite() or not 0 < share <= 100:
        return None, f"share {text!r} is not a percentage in (0, 100]"
    if share != share.quantize(Decimal("0.01")):
        return None, f"share {text!r} has more than two decimals"
    return share.quantize(Decimal("0.01")), None


def parse_role(text: str) -> tuple[str | None, str | None]:
    """A known role, lower case; OCR'd punctuation at the ends is ignored."""
    role = re.sub(r"\s+", " ", text.strip(" .,:;'\"").lower())
    role = ROLE_SYNONYMS.get(role, role)
    if role in ROLES:
        return role, None
    return None, f"role {text!r} is not one of {', '.join(sorted(ROLES))}"


def parse_ipi(text: str) -> tuple[str | None, str | None]:
    """An 11-digit IPI name number; spaces and look-alike letters are tolerated."""
    digits = text.replace(" ", "").translate(DIGIT_LOOKALIKES)
    if re.fullmatch(r"[0-9]{11}", digits):
        return digits, None
    return None, f"IPI {text!r} is not 11 digits"


def find_iswc(text: str) -> str | None:
    """The first ISWC-shaped run in `text`, normalised to T-ddd.ddd.ddd-c (check digit not verified)."""
    compact = re.sub(r"\s+", "", text)
    start = compact.upper().find("T")
    while start != -1:
        candidate = "T" + compact[start + 1 : start + 16].translate(DIGIT_LOOKALIKES)
        match = ISWC_PATTERN.match(candidate)
        if match:
            return "T-{}.{}.{}-{}".format(*match.groups())
        start = compact.upper().find("T", start + 1)
    return None

