"""Exact money: integer minor units, explicit rounding, largest-remainder allocation."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal

MINOR_UNIT_EXPONENT = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "JPY": 0}


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`amount` in `currency` as whole minor units, half-to-even (bankers') rounding."""
    exponent = MINOR_UNIT_EXPONENT[currency]
    return int((amount * (10**exponent)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` minor units in proportion to `weights` so the parts sum exactly to `total`.

    Largest remainder: everyone gets the floor of their exact share, and the units left over go one each to
    the largest remainders, ties to the earlier weight. Deterministic for the same inputs.
    """
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {list(weights)}")
    whole = sum(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    parts = [magnitude * w // whole for w in weights]
    remainders = [magnitude * w % whole for w in weights]
    leftover = magnitude - sum(parts)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:leftover]:
        parts[i] += 1
    return [sign * p for p in parts]
