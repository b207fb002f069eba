from decimal import Decimal

from assets.rights.validation import iswc_problem, share_bp, validate_split_rows


def row(work, party, share, role="writer", iswc="T-034.524.680-1", line=2):
    return {"work_id": work, "party_id": party, "role": role, "share_percent": Decimal(share), "iswc": iswc,
            "_source_file": "sheet.csv", "_row": line}


def test_iswc_check_digit():
    assert iswc_problem("T-034.524.680-1") is None
    assert iswc_problem("T0345246801") is None
    assert "check digit" in iswc_problem("T-034.524.680-2")
    assert "not an ISWC" in iswc_problem("X-034.524.680-1")


def test_share_basis_points():
    assert share_bp(Decimal("33.34")) == 3334
    assert share_bp(Decimal("33.333")) is None
    assert share_bp(Decimal("0")) is None
    assert share_bp(Decimal("100.00")) == 10000


def test_work_whose_shares_do_not_sum_to_100_is_held_back_with_the_reason():
    rows = [row("W1", "A", "50.00", line=2), row("W1", "B", "50.00", line=3),
            row("W2", "A", "60.00", line=4), row("W2", "B", "30.00", line=5)]
    approved, rejects = validate_split_rows(rows)
    assert {r["work_id"] for r in approved} == {"W1"}
    assert len(rejects) == 1
    assert rejects[0].row_number == 4 and rejects[0].field == "share_percent"
    assert "sum to 90.00 %" in rejects[0].reason


def test_one_bad_row_holds_back_the_whole_work():
    rows = [row("W1", "A", "50.00", line=2), row("W1", "B", "50.00", role="dj", line=3)]
    approved, rejects = validate_split_rows(rows)
    assert approved == []
    assert [(r.row_number, r.field) for r in rejects] == [(3, "role")]
