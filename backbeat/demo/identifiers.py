"""Industry identifiers of the demo catalog: ISRC (recordings), ISWC (works), IPI name numbers (parties).

Builds them from numbers; what makes one valid (shape, check digits) is `backbeat/identifiers.py`'s, so the
demo writes exactly what the pipeline accepts.
"""

from __future__ import annotations

from backbeat.identifiers import format_iswc, ipi_check_digits, normalise_isrc


def isrc(country: str, registrant: str, year: int, designation: int) -> str:
    """`NLBB12600001`: country, registrant, two-digit year, five-digit designation; no hyphens."""
    code = f"{country}{registrant}{year % 100:02d}{designation:05d}"
    if normalise_isrc(code) != code:
        raise ValueError(f"not an ISRC as stored: {code!r}")
    return code


def iswc(number: int) -> str:
    """Format a nine-digit work number as `T-034.524.680-1`, with its check digit."""
    return format_iswc(number)


def ipi_name_number(number: int) -> str:
    """The IPI name number of the last nine digits of `number`, modulus-101 check digits appended."""
    base = f"{number % 10**9:09d}"
    return base + ipi_check_digits(base)
