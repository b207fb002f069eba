"""ISRC, ISWC, IPI name numbers and UPC/EAN: one behaviour each, whichever of the three doors a caller uses."""

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from backbeat import identifiers as ids
from backbeat.identifiers import IdentifierError

REPO_ROOT = Path(__file__).resolve().parents[1]

# (kind, value, stored form or None when refused, problem when refused)
CASES = [
    # ISRC: the stored form, the printed form MusicBrainz and labels use, lower case, spaces.
    ("ISRC", "NLBB12600001", "NLBB12600001", None),
    ("ISRC", "NL-BB1-26-00001", "NLBB12600001", None),
    ("ISRC", "nl-bb1-26-00001", "NLBB12600001", None),
    ("ISRC", "us-rc1-76-07839", "USRC17607839", None),
    ("ISRC", " NLBB12600001\t", "NLBB12600001", None),
    ("ISRC", "NL BB1 26 00001", "NLBB12600001", None),
    ("ISRC", "QZA1B2600001", "QZA1B2600001", None),  # registrants may hold digits
    ("ISRC", "NLBB1260001", None, ids.ISRC_NOT_SHAPED),  # 11 characters
    ("ISRC", "NLBB126000012", None, ids.ISRC_NOT_SHAPED),  # 13 characters
    ("ISRC", "NL-BB1-26-0001", None, ids.ISRC_NOT_SHAPED),  # printed, one digit short
    ("ISRC", "N1BB12600001", None, ids.ISRC_NOT_SHAPED),  # the country is two letters
    ("ISRC", "NLBB1A600001", None, ids.ISRC_NOT_SHAPED),  # the year is two digits
    ("ISRC", "NL_BB1_26_00001", None, ids.ISRC_NOT_SHAPED),  # underscores are not a printed form
    ("ISRC", "", None, ids.ISRC_NOT_SHAPED),
    # ISWC: separators optional on input, the printed form stored; the check digit is checked.
    ("ISWC", "T-034.524.680-1", "T-034.524.680-1", None),
    ("ISWC", "T0345246801", "T-034.524.680-1", None),
    ("ISWC", "T-345.246.800-3", "T-345.246.800-3", None),
    ("ISWC", "T-000.000.001-0", "T-000.000.001-0", None),
    ("ISWC", " T-034.524.680-1 ", "T-034.524.680-1", None),
    ("ISWC", "T-034.524.680-2", None, "has check digit 2, expected 1"),
    ("ISWC", "T0345246802", None, "has check digit 2, expected 1"),
    ("ISWC", "X-034.524.680-1", None, ids.ISWC_NOT_SHAPED),
    ("ISWC", "T-034.524.68-1", None, ids.ISWC_NOT_SHAPED),
    ("ISWC", "t-034.524.680-1", None, ids.ISWC_NOT_SHAPED),  # as before: sheets write a capital T
    # IPI name numbers: 11 digits, modulus-101 check digits. A published one (a well-known songwriter's):
    # 0·10 + 0·9 + 0·8 + 1·7 + 4·6 + 1·5 + 0·4 + 7·3 + 3·2 = 63; (101 - 63) mod 100 = 38.
    ("IPI", "00014107338", "00014107338", None),
    ("IPI", "00014107339", None, "has check digits 39, expected 38"),
    ("IPI", "00014107383", None, "has check digits 83, expected 38"),  # check digits swapped
    ("IPI", "00041107338", None, "has check digits 38, expected 35"),  # base digits swapped
    ("IPI", "0001410733", None, ids.IPI_NOT_SHAPED),  # a spreadsheet dropped a leading zero
    ("IPI", "0001410733A", None, ids.IPI_NOT_SHAPED),
    # UPC-A (12 digits) and EAN-13 (13 digits) with the GS1 check digit; printed spaces and hyphens dropped.
    ("UPC", "036000291452", "036000291452", None),
    ("UPC", "0 36000 29145 2", "036000291452", None),
    ("UPC", "036000291453", None, "has check digit 3, expected 2"),
    ("UPC", "4006381333931", "4006381333931", None),
    ("UPC", "978-0-306-40615-7", "9780306406157", None),
    ("UPC", "4006381333932", None, "has check digit 2, expected 1"),
    ("UPC", "03600029145", None, ids.UPC_NOT_SHAPED),  # 11 digits
    ("UPC", "10036000291459", None, ids.UPC_NOT_SHAPED),  # GTIN-14 is not a release code
    ("UPC", "03600029145X", None, ids.UPC_NOT_SHAPED),
]

DOORS: dict[str, tuple[Callable[[str], str], Callable[[str | None], str | None], Callable[[str], str | None]]] = {
    "ISRC": (ids.normalise_isrc, ids.parse_isrc_or_none, ids.isrc_problem),
    "ISWC": (ids.normalise_iswc, ids.parse_iswc_or_none, ids.iswc_problem),
    "IPI": (ids.normalise_ipi, ids.parse_ipi_or_none, ids.ipi_problem),
    "UPC": (ids.normalise_upc, ids.parse_upc_or_none, ids.upc_problem),
}


@pytest.mark.parametrize(("kind", "value", "stored", "problem"), CASES, ids=[f"{c[0]}:{c[1]!r}" for c in CASES])
def test_each_identifier_has_one_behaviour(kind: str, value: str, stored: str | None, problem: str | None) -> None:
    normalise, parse_or_none, problem_of = DOORS[kind]
    assert parse_or_none(value) == stored
    assert problem_of(value) == problem
    if stored is not None:
        assert normalise(value) == stored
        assert normalise(stored) == stored  # the stored form is a fixed point
        return
    with pytest.raises(IdentifierError) as caught:
        normalise(value)
    assert (caught.value.kind, caught.value.value, caught.value.problem) == (kind, value, problem)
    assert str(caught.value) == f"{kind} {value!r} {problem}"  # what the rights rules print, too
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("parse_or_none", [d[1] for d in DOORS.values()])
def test_nothing_parses_to_none(parse_or_none: Callable[[str | None], str | None]) -> None:
    assert parse_or_none(None) is None and parse_or_none("") is None


def test_check_digits() -> None:
    assert ids.iswc_check_digit("034524680") == 1
    assert ids.format_iswc(34_524_680) == "T-034.524.680-1"
    # IPI: remainder 0 gives 00, remainder 1 gives (101 - 1) mod 100 = 00 as well.
    assert ids.ipi_check_digits("000141073") == "38"
    assert ids.ipi_check_digits("000000000") == "00" and ids.ipi_check_digits("000000001") == "99"
    for base in (1, 141_073, 999_999_999, 123_456_789):
        assert ids.ipi_problem(ids.ipi_name_number(base)) is None
    assert ids.gs1_check_digit("03600029145") == 2 and ids.gs1_check_digit("400638133393") == 1
    for bad in (lambda: ids.iswc_check_digit("12345"), lambda: ids.ipi_check_digits("1234567890")):
        with pytest.raises(ValueError):
            bad()
    for bad in (lambda: ids.ipi_name_number(0), lambda: ids.ipi_name_number(10**9), lambda: ids.gs1_check_digit("1")):
        with pytest.raises(ValueError):
            bad()


def test_the_demo_writes_identifiers_the_pipeline_accepts() -> None:
    from backbeat.demo import identifiers as demo
    from backbeat.demo.rights import ipi_name_number as demo_ipi

    for base in (1, 919_235_004, 141_073):
        assert demo_ipi(base) == demo.ipi_name_number(base) == ids.ipi_name_number(base)
    assert ids.normalise_isrc(demo.isrc("NL", "BB1", 2026, 1)) == "NLBB12600001"
    assert ids.iswc_problem(demo.iswc(34_524_680)) is None
    with pytest.raises(ValueError):
        demo.isrc("N1", "BB1", 2026, 1)


# The ISRC's shape written as a regular expression: [A-Z]{2} then [A-Z0-9]{3} (or [A-Z\d]{3}).
ISRC_SHAPE_TEXT = re.compile(r"\[A-Z\]\{2\}\s*\[A-Z(?:0-9|\\d)\]\{3\}")
ALLOWED = {
    "backbeat/identifiers.py": "the one place",
    # Integrations cannot import the core. The Spotify client refuses a track payload whose ISRC is not one
    # (MalformedPayload, quarantined) before the core sees it, so it keeps the shape for that one check.
    "integrations/spotify/models.py": "payload validation in a client",
}
SKIPPED_DIRS = {"tests", "target", "node_modules", "site-packages"}


def test_no_other_module_spells_the_isrc_shape() -> None:
    found = set()
    for folder, dirs, files in os.walk(REPO_ROOT):
        dirs[:] = [d for d in dirs if not (d.startswith(".") or d in SKIPPED_DIRS or d.endswith(".egg-info"))]
        for name in files:
            path = Path(folder, name)
            if name.endswith(".py") and ISRC_SHAPE_TEXT.search(path.read_text(encoding="utf-8", errors="replace")):
                found.add(path.relative_to(REPO_ROOT).as_posix())
    assert found == set(ALLOWED), "normalise ISRCs with backbeat.identifiers instead of a pattern of your own"
    assert ISRC_SHAPE_TEXT.search(r'_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")')  # the probe itself works


def test_a_printed_isrc_is_the_same_isrc_everywhere() -> None:
    # MusicBrainz and labels print NL-BB1-26-00001; the catalog file, the MusicBrainz queue and the resolver
    # all read it as NLBB12600001 (the rights rules: tests/rights/test_rules.py).
    from assets.catalog.assets import TRACK_FIELDS
    from backbeat.catalog.ingest import valid_isrcs
    from backbeat.common.csvfiles import FieldError

    assert TRACK_FIELDS["isrc"]("NL-BB1-26-00001") == TRACK_FIELDS["isrc"](" nlbb12600001 ") == "NLBB12600001"
    with pytest.raises(FieldError, match="is not a 12-character ISRC"):
        TRACK_FIELDS["isrc"]("NLBB1260001")
    assert valid_isrcs(["NL-BB1-26-00001", "nlbb12600001", "USRC17607839", "not an isrc", None, ""]) == [
        "NLBB12600001",
        "USRC17607839",
    ]
