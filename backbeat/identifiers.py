"""Industry identifiers, normalised and validated in one place: ISRC, ISWC, IPI name numbers, UPC/EAN.

One behaviour per identifier, offered three ways so every caller gets the same answer:
- `normalise_x(value)` gives the stored form or raises `IdentifierError` naming the identifier and the value;
- `parse_x_or_none(value)` gives the stored form or None (None and "" give None);
- `x_problem(value)` gives None for an acceptable value, otherwise what is wrong, in words a person can act on
  (the rules engine prints "ISRC 'X' <problem>").

Stored forms: ISRC `NLBB12600001` (12 characters, upper case, no separators; the printed `NL-BB1-26-00001`
and lower case are read as the same ISRC, so MusicBrainz's and a sheet's spelling match); ISWC
`T-034.524.680-1` (the printed form; separators optional on input); IPI name number `00014107338`
(11 digits); UPC-A/EAN-13 as 12 or 13 digits (spaces and hyphens of the printed form dropped).
Plain Python, domain-neutral: the catalog, rights and demo packages all use it. Integrations cannot import it
(imports only go down): they pass identifiers through as their service spells them and the core normalises.
"""

from __future__ import annotations

import re

_ISRC_SHAPE = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")  # country CC, registrant XXX, year YY, NNNNN
_ISRC_SEPARATORS = re.compile(r"[\s-]")
_ISWC_SHAPE = re.compile(r"T-?([0-9]{3})\.?([0-9]{3})\.?([0-9]{3})-?([0-9])")  # separators optional
_IPI_SHAPE = re.compile(r"[0-9]{11}")
_GTIN_SHAPE = re.compile(r"[0-9]{12,13}")
_GTIN_SEPARATORS = re.compile(r"[ -]")

ISRC_NOT_SHAPED = "is not an ISRC (12 characters: country CC, registrant XXX, year YY, designation NNNNN)"
ISWC_NOT_SHAPED = "is not an ISWC (T-ddd.ddd.ddd-c)"
IPI_NOT_SHAPED = "is not an IPI name number (11 digits)"
UPC_NOT_SHAPED = "is not a UPC or EAN (12 or 13 digits)"


class IdentifierError(ValueError):
    """A value that is not the identifier it should be: `kind` (ISRC, ISWC, IPI, UPC), the value, and why."""

    def __init__(self, kind: str, value: object, problem: str) -> None:
        super().__init__(f"{kind} {value!r} {problem}")
        self.kind = kind
        self.value = value
        self.problem = problem


# ---- ISRC: recordings -------------------------------------------------------------------------------------


def _isrc(value: str) -> tuple[str | None, str | None]:
    code = _ISRC_SEPARATORS.sub("", value).upper()
    return (code, None) if _ISRC_SHAPE.fullmatch(code) else (None, ISRC_NOT_SHAPED)


def normalise_isrc(value: str) -> str:
    """`nl-bb1-26-00001` → `NLBB12600001`: hyphens and spaces dropped, upper case. An ISRC has no check digit,
    so only its shape is checked; IdentifierError otherwise."""
    code, problem = _isrc(value)
    if code is None:
        raise IdentifierError("ISRC", value, problem or ISRC_NOT_SHAPED)
    return code


def parse_isrc_or_none(value: str | None) -> str | None:
    """`normalise_isrc`, or None for an empty or malformed value."""
    return _isrc(value)[0] if value else None


def isrc_problem(value: str) -> str | None:
    """None when `normalise_isrc` accepts `value`, otherwise why it does not."""
    return _isrc(value)[1]


# ---- ISWC: musical works ----------------------------------------------------------------------------------


def iswc_check_digit(digits: str) -> int:
    """ISWC check digit over the nine digits: (10 - (1 + Σ position × digit) mod 10) mod 10."""
    if not re.fullmatch(r"[0-9]{9}", digits):
        raise ValueError(f"an ISWC has nine digits, got {digits!r}")
    return (10 - (1 + sum(i * int(d) for i, d in enumerate(digits, start=1))) % 10) % 10


def _iswc(value: str) -> tuple[str | None, str | None]:
    match = _ISWC_SHAPE.fullmatch(value.strip())
    if not match:
        return None, ISWC_NOT_SHAPED
    expected = iswc_check_digit("".join(match.groups()[:3]))
    if expected != int(match.group(4)):
        return None, f"has check digit {match.group(4)}, expected {expected}"
    return "T-{}.{}.{}-{}".format(*match.groups()), None


def normalise_iswc(value: str) -> str:
    """`T0345246801` → `T-034.524.680-1` when the check digit is right; IdentifierError otherwise."""
    code, problem = _iswc(value)
    if code is None:
        raise IdentifierError("ISWC", value, problem or ISWC_NOT_SHAPED)
    return code


def parse_iswc_or_none(value: str | None) -> str | None:
    """`normalise_iswc`, or None for an empty or invalid value."""
    return _iswc(value)[0] if value else None


def iswc_problem(value: str) -> str | None:
    """None when `normalise_iswc` accepts `value` (T-ddd.ddd.ddd-c, separators optional, right check digit)."""
    return _iswc(value)[1]


def format_iswc(number: int) -> str:
    """The ISWC of a nine-digit work number, check digit computed: 34524680 → `T-034.524.680-1`."""
    if not 0 <= number < 10**9:
        raise ValueError(f"ISWC work numbers have at most nine digits, got {number}")
    digits = f"{number:09d}"
    return f"T-{digits[:3]}.{digits[3:6]}.{digits[6:]}-{iswc_check_digit(digits)}"


# ---- IPI name numbers: parties ----------------------------------------------------------------------------


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


def _ipi(value: str) -> tuple[str | None, str | None]:
    code = value.strip()
    if not _IPI_SHAPE.fullmatch(code):
        return None, IPI_NOT_SHAPED
    expected = ipi_check_digits(code[:9])
    if code[9:] != expected:
        return None, f"has check digits {code[9:]}, expected {expected}"
    return code, None


def normalise_ipi(value: str) -> str:
    """An IPI name number as stored: 11 digits whose last two are the modulus-101 check digits; else
    IdentifierError. Leading zeros are part of the number (a spreadsheet that drops them gives 9-10 digits)."""
    code, problem = _ipi(value)
    if code is None:
        raise IdentifierError("IPI", value, problem or IPI_NOT_SHAPED)
    return code


def parse_ipi_or_none(value: str | None) -> str | None:
    """`normalise_ipi`, or None for an empty or invalid value."""
    return _ipi(value)[0] if value else None


def ipi_problem(value: str) -> str | None:
    """None when `normalise_ipi` accepts `value`, otherwise why it does not."""
    return _ipi(value)[1]


# ---- UPC-A / EAN-13: releases -----------------------------------------------------------------------------


def gs1_check_digit(digits: str) -> int:
    """The GS1 check digit over the digits before it: weights 3, 1, 3, … from the right, (10 - Σ mod 10) mod 10.

    The same rule serves UPC-A (11 digits before the check) and EAN-13 (12 digits before it).
    """
    if not re.fullmatch(r"[0-9]{11,12}", digits):
        raise ValueError(f"a UPC-A has 11 and an EAN-13 12 digits before the check digit, got {digits!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _upc(value: str) -> tuple[str | None, str | None]:
    code = _GTIN_SEPARATORS.sub("", value.strip())
    if not _GTIN_SHAPE.fullmatch(code):
        return None, UPC_NOT_SHAPED
    expected = gs1_check_digit(code[:-1])
    if int(code[-1]) != expected:
        return None, f"has check digit {code[-1]}, expected {expected}"
    return code, None


def normalise_upc(value: str) -> str:
    """A UPC-A (12 digits) or EAN-13 (13 digits) with a right GS1 check digit, spaces and hyphens of the
    printed form dropped (`0 12345 67890 5` → `012345678905`); the length is kept. IdentifierError otherwise."""
    code, problem = _upc(value)
    if code is None:
        raise IdentifierError("UPC", value, problem or UPC_NOT_SHAPED)
    return code


def parse_upc_or_none(value: str | None) -> str | None:
    """`normalise_upc`, or None for an empty or invalid value."""
    return _upc(value)[0] if value else None


def upc_problem(value: str) -> str | None:
    """None when `normalise_upc` accepts `value`, otherwise why it does not."""
    return _upc(value)[1]


__all__ = [
    "IdentifierError",
    "format_iswc",
    "gs1_check_digit",
    "ipi_check_digits",
    "ipi_name_number",
    "ipi_problem",
    "isrc_problem",
    "iswc_check_digit",
    "iswc_problem",
    "normalise_ipi",
    "normalise_isrc",
    "normalise_iswc",
    "normalise_upc",
    "parse_ipi_or_none",
    "parse_isrc_or_none",
    "parse_iswc_or_none",
    "parse_upc_or_none",
    "upc_problem",
]
