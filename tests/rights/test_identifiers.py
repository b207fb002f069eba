"""ISRC, ISWC and IPI name numbers: formats and check digits."""

import pytest

from backbeat.rights.identifiers import (
    ipi_check_digits,
    ipi_name_number,
    ipi_problem,
    isrc_problem,
    iswc_check_digit,
    iswc_problem,
    normalise_iswc,
)


def test_isrc_is_twelve_characters_without_hyphens():
    assert isrc_problem("NLBB12600001") is None
    assert isrc_problem("USRC17607839") is None
    assert "without hyphens" in isrc_problem("NL-BB1-26-00001")
    assert "without hyphens" in isrc_problem("nlbb12600001")
    for bad in ("NLBB1260001", "NLBB126000012", "N1BB12600001", "NLBB1A600001", ""):
        assert "is not an ISRC" in isrc_problem(bad), bad


@pytest.mark.parametrize("iswc", ["T-034.524.680-1", "T0345246801", "T-345.246.800-3", "T-000.000.001-0"])
def test_valid_iswcs(iswc):
    assert iswc_problem(iswc) is None


def test_iswc_check_digit_and_format():
    assert iswc_check_digit("034524680") == 1
    assert iswc_problem("T-034.524.680-2") == "has check digit 2, expected 1"
    assert "is not an ISWC" in iswc_problem("X-034.524.680-1")
    assert "is not an ISWC" in iswc_problem("T-034.524.68-1")
    assert normalise_iswc("T0345246801") == "T-034.524.680-1"
    with pytest.raises(ValueError):
        iswc_check_digit("12345")


def test_ipi_name_numbers_carry_modulus_101_check_digits():
    # A published IPI name number (a well-known songwriter's), and how its check digits come about:
    # 0·10 + 0·9 + 0·8 + 1·7 + 4·6 + 1·5 + 0·4 + 7·3 + 3·2 = 63; (101 - 63) mod 100 = 38.
    assert ipi_check_digits("000141073") == "38"
    assert ipi_problem("00014107338") is None
    assert ipi_problem("00014107339") == "has check digits 39, expected 38"
    assert ipi_problem("00014107383") == "has check digits 83, expected 38"  # swapped check digits
    assert ipi_problem("00041107338") is not None  # swapped base digits
    assert "11 digits" in ipi_problem("0001410733")
    assert "11 digits" in ipi_problem("0001410733A")
    # Remainder 0 gives 00, remainder 1 gives (101 - 1) mod 100 = 00 as well.
    assert ipi_check_digits("000000000") == "00"
    assert ipi_check_digits("000000001") == "99"
    for base in (1, 141073, 999_999_999, 123_456_789):
        assert ipi_problem(ipi_name_number(base)) is None


def test_the_demo_writes_ipis_the_rules_accept():
    from backbeat.demo.rights import ipi_name_number as demo_ipi

    for base in (1, 919_235_004, 141_073):
        assert demo_ipi(base) == ipi_name_number(base)
