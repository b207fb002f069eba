"""Values read off a split sheet, where they were found, how sure the OCR was, and whether they parse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

Box = tuple[int, int, int, int]

# The roles of backbeat/rights/roles.py (ROLE_GROUP); repeated here because integrations must not import asset
# packages (they pull in Dagster), and a test checks that the two stay in step. Identifiers are only read here:
# validating them (check digits included) is backbeat/identifiers.py's job, so the rule lives in one place.
ROLES = frozenset(
    {"writer", "composer", "lyricist", "arranger", "publisher", "sub-publisher", "artist", "performer", "label"}
)
ROLE_SYNONYMS = {
    "author": "lyricist",
    "songwriter": "writer",
    "sub publisher": "sub-publisher",
    "subpublisher": "sub-publisher",
}
# Speckle and punctuation OCR leaves at the ends of a number ("«60.00.", "(00012345678)"); never a digit
# look-alike such as "|" or "O".
EDGE_NOISE = " «»“”\"'‘’.,;:~=_*()[]<>"  # not "-": a minus sign must fail, not vanish
FRACTION_PATTERN = re.compile(r"([0-9]{1,3})/([0-9]{1,3})")
SHARE_TOKEN = re.compile(r"(?:[0-9]{1,3}(?:\.[0-9]{1,4})?%?|[0-9]{1,3}/[0-9]{1,3}%?)")
# Collecting societies a split sheet names beside a party; read into their own field, never into the role.
PRO_NAMES = frozenset(
    {
        "PRS",
        "ASCAP",
        "BMI",
        "SESAC",
        "GMR",
        "SOCAN",
        "GEMA",
        "SACEM",
        "SIAE",
        "SGAE",
        "BUMA",
        "STIM",
        "TONO",
        "KODA",
        "TEOSTO",
        "APRA",
        "JASRAC",
        "SABAM",
        "IMRO",
        "SUISA",
        "AKM",
        "MCPS",
        "SAMRO",
        "ECAD",
        "SADAIC",
        "KOMCA",
        "ZAIKS",
        "NONE",
    }
)
# An ISWC-shaped token, to find one in OCR'd text. backbeat/identifiers.py has the same shape and is the one that
# validates; integrations cannot import the core (imports only go down), so the shape is repeated here.
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
    """A share of its pool as a percentage in (0, 100], exact: "33.34", "33,34 %", "50%" or a fraction of the
    pool ("1/2", "1/4" → 50, 25); at most two decimals once a percentage. Else (None, why)."""
    cleaned = text.strip(EDGE_NOISE).replace("%", "").replace(" ", "").replace(",", ".").translate(DIGIT_LOOKALIKES)
    if fraction := FRACTION_PATTERN.fullmatch(cleaned):
        numerator, denominator = (int(g) for g in fraction.groups())
        if denominator == 0 or not 0 < numerator <= denominator:
            return None, f"share {text!r} is not a fraction in (0, 1]"
        share = Decimal(numerator * 100) / Decimal(denominator)
        if share != share.quantize(Decimal("0.01")):
            return None, f"share {text!r} is {share:.4f} %, not exact in hundredths of a percent"
        return share.quantize(Decimal("0.01")), None
    try:
        share = Decimal(cleaned)
    except InvalidOperation:
        return None, f"share {text!r} is not a number"
    if not share.is_finite() or not 0 < share <= 100:
        return None, f"share {text!r} is not a percentage in (0, 100]"
    if share != share.quantize(Decimal("0.01")):
        return None, f"share {text!r} has more than two decimals"
    return share.quantize(Decimal("0.01")), None


def looks_like_share(text: str) -> bool:
    """A token shaped like a share: 33.34, 33,34%, 50 %, 1/2 (not a date such as 04/03/2024)."""
    cleaned = text.strip("()[].;:").replace(",", ".")
    return bool(SHARE_TOKEN.fullmatch(cleaned))


def looks_like_ipi(text: str) -> bool:
    """A token shaped like an IPI name number: 9 to 11 digits (look-alike letters allowed, most must be digits)."""
    cleaned = text.strip("()[].,;:#")
    digits = sum(c.isdigit() for c in cleaned)
    return (
        9 <= len(cleaned) <= 11
        and digits >= len(cleaned) - 2
        and bool(re.fullmatch(r"[0-9]{9,11}", cleaned.translate(DIGIT_LOOKALIKES)))
    )


def is_pro(text: str) -> bool:
    return text.strip("()[].,;:").upper() in PRO_NAMES


def parse_role(text: str) -> tuple[str | None, str | None]:
    """A known role, lower case; OCR'd punctuation at the ends is ignored."""
    role = re.sub(r"\s+", " ", text.strip(" .,:;'\"").lower())
    role = ROLE_SYNONYMS.get(role, role)
    if role in ROLES:
        return role, None
    return None, f"role {text!r} is not one of {', '.join(sorted(ROLES))}"


def parse_ipi(text: str) -> tuple[str | None, str | None]:
    """An 11-digit IPI name number; spaces and look-alike letters are tolerated."""
    digits = text.replace(" ", "").strip(EDGE_NOISE + "#").translate(DIGIT_LOOKALIKES)
    if re.fullmatch(r"[0-9]{11}", digits):
        return digits, None
    return None, f"IPI {text!r} is not 11 digits"


def find_iswc(text: str) -> str | None:
    """The first ISWC-shaped run in `text` — a T then ten digits, dots and hyphens wherever OCR put them —
    normalised to T-ddd.ddd.ddd-c (check digit not verified)."""
    compact = re.sub(r"\s+", "", text)
    for start in (i for i, c in enumerate(compact) if c in "Tt"):
        digits = ""
        for char in compact[start + 1 : start + 20]:
            if char in ".-":
                continue
            digit = char.translate(DIGIT_LOOKALIKES)
            if not digit.isdigit():
                break
            digits += digit
            if len(digits) == 10:
                break
        if len(digits) == 10 and (compact[start] == "T" or compact[start + 1 : start + 2] == "-"):
            return f"T-{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9]}"
    return None
