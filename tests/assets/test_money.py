from decimal import Decimal

import pytest

from backbeat.royalties.money import allocate, to_minor_units


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [3334, 3333, 3333], [34, 33, 33]),
        (1, [5000, 5000], [1, 0]),  # tie goes to the earlier weight
        (-101, [5000, 5000], [-51, -50]),
        (0, [1, 2], [0, 0]),
        (7, [1, 1, 1], [3, 2, 2]),
        (10, [6667, 3333], [7, 3]),
    ],
)
def test_allocate_sums_exactly_and_favours_largest_remainders(total, weights, expected):
    parts = allocate(total, weights)
    assert parts == expected
    assert sum(parts) == total


def test_allocate_random_totals_always_sum_exactly():
    for total in range(-500, 500, 7):
        assert sum(allocate(total, [2500, 2500, 1667, 1666, 1667])) == total


def test_allocate_rejects_empty_or_zero_weights():
    with pytest.raises(ValueError):
        allocate(10, [0, 0])


def test_to_minor_units_rounds_half_to_even():
    assert to_minor_units(Decimal("0.125"), "EUR") == 12
    assert to_minor_units(Decimal("0.135"), "EUR") == 14
    assert to_minor_units(Decimal("181") * Decimal("0.0125"), "EUR") == 226  # 2.2625 → 2.26
    assert to_minor_units(Decimal("12.5"), "JPY") == 12
