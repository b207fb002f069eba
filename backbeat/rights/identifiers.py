"""Industry identifiers on split sheets: ISRC (recordings), ISWC (works), IPI name numbers (parties).

Each `*_problem` function returns None for a well-formed identifier and otherwise what is wrong, in words a
person can act on. Plain Python; the rules engine (`rules.py`) and the OCR intake both use these.
"""

import re

ISRC_PATTERN = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}")
# Separators are optional when written ("T0345246801"); `normalise_iswc` gives the printed form.
ISWC_PATTERN = re.compile(r"T-?([0-9]{3})\.?([0-9]{3})\.?([0-9]{3})-?([0-9])")
IPI_PATTERN = re.compile(r"[0-9]{11}")


def isrc_problem(value: str) -> str | None:
    """None for an ISRC written as 12 characters CCXXXYYNNNNN (country, registrant, year, designation).

    An ISRC has no check digit; hyphens (CC-XXX-YY-NNNNN) are a display form and not accepted in data.
    """
    if ISRC_PATTERN.fullmatch(value):
        return None
    if ISRC_PATTERN.fullmatch(value.replace("-", "").upper()):
        return "must be written as 12 characters without hyphens (CCXXXYYNNNNN), upper case"
    return "is not an ISRC (12 characters: country CC, registrant XXX, year YY, designation NNNNN)"


def iswc_check_digit(digits: str) -> int:
    """ISWC check digit over the nine digits: (10 - (1 + Σ position × digit) mod 10) mod 10."""
    if not re.fullmatch(r"[0-9]{9}", digits):
        raise ValueError(f"an ISWC has nine digits, got {digits!r}")
    return (10 - (1 + sum(i * int(d) for i, d in enumerate(digits, start=1))) % 10) % 10


def iswc_problem(value: str) -> str | None:
    """None for an ISWC (T-ddd.ddd.ddd-c, separators optional) whose check digit is right."""
    match = ISWC_PATTERN.fullmatch(value)
    if not match:
        return "is not an ISWC (T-ddd.ddd.ddd-c)"
    expected = iswc_check_digit("".join(match.groups()[:3]))
    return None if expected == int(match.group(4)) else f"has check digit {match.group(4)}, expected {expected}"


def normalise_iswc(value: str) -> str:
    """`T0345246801` → `T-034.524.680-1`; anything that is not ISWC-shaped is returned unchanged."""
    match = ISWC_PATTERN.fullmatch(value)
    return "T-{}.{}.{}-{}".format(*match.groups()) if match else value


def ipi_check_digits(base: str) -> str:
    """The two check digits of an IPI name number over its first nine digits (modulus 101).

    Σ digit × weight with weights 10, 9, …, 2 from the left, taken modulo 101; the check number is
    (101 - remainder) mod 100, or 00 when the remainder is 0 (as CISAC's CWR validators compute it).
    """
    if not re.fullmatch(r"[0-9]{9}", base):
        raise ValueError(f"an IPI name number has nine digits before its check digits, got {base!r}")
    remainder = sum(int(d) * (10 - i) for i, d in enumerate(base)) % 101
    return f"{(101 - remainder) % 100 if remainder else 0:02d}"


def ipi_name_number(number: int) -> str:
    """The 11-digit IPI name number for a base number of at most nine digits, check digits appended."""
    if not 0 < number < 10**9:
        raise ValueError(f"IPI base numbers have at most nine digits, got {number}")
    base = f"{number:09d}"
    return base + ipi_check_digits(base)


def ipi_problem(value: str) -> str | None:
    """None for an IPI name number: 11 digits whose last two are the modulus-101 check digits."""
    if not IPI_PATTERN.fullmatch(value):
        return "is not an IPI name number (11 digits)"
    expected = ipi_check_digits(value[:9])
    return None if value[9:] == expected else f"has check digits {value[9:]}, expected {expected}"
