"""Industry identifiers of the demo catalog: ISRC (recordings), ISWC (works), IPI name numbers (parties)."""

from __future__ import annotations

import re

_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")
_ISWC = re.compile(r"^T-(\d{3})\.(\d{3})\.(\d{3})-(\d)$")


def isrc(country: str, registrant: str, year: int, designation: int) -> str:
    """`NLBB12600001`: country, registrant, two-digit year, five-digit designation; no hyphens."""
    code = f"{country}{registrant}{year % 100:02d}{designation:05d}"
    if not _ISRC.match(code):
        raise ValueError(f"not a valid ISRC: {code!r}")
    return code


def is_valid_isrc(code: str) -> bool:
    return bool(_ISRC.match(code))


def iswc_check_digit(digits: str) -> int:
    """Check digit over the nine digits: (10 - (1 + sum of position * digit) mod 10) mod 10."""
    if len(digits) != 9 or not digits.isdigit():
        raise ValueError(f"an ISWC has nine digits, got {digits!r}")
    total = 1 + sum((i + 1) * int(d) for i, d in enumerate(digits))
    return (10 - total % 10) % 10


def iswc(number: int) -> str:
    """Format a nine-digit work number as `T-034.524.680-1`, with its check digit."""
    digits = f"{number:09d}"
    return f"T-{digits[:3]}.{digits[3:6]}.{digits[6:]}-{iswc_check_digit(digits)}"


def is_valid_iswc(code: str) -> bool:
    match = _ISWC.match(code)
    if not match:
        return False
    digits = "".join(match.groups()[:3])
    return iswc_check_digit(digits) == int(match.group(4))


def ipi_name_number(number: int) -> str:
    """An IPI name number is eleven digits, zero-padded."""
    if not 0 < number < 10**11:
        raise ValueError(f"IPI name numbers have at most eleven digits, got {number}")
    return f"{number:011d}"
