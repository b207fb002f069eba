"""Exchange rates and payout currencies, read from the royalties inbox: plain Python, exact decimals.

`inbox/royalties/fx_rates.csv` holds one rate per currency pair and day (base, quote, effective_on, rate,
source): `rate` units of `quote` for one unit of `base`, at most 6 decimal places so storing it never rounds it.
`inbox/royalties/payout_currencies.csv` names the parties paid in another currency than they earn in
(party_id, payout_currency; an empty currency: paid in what it earned).

A bad row is rejected whole with file, row and field (the quarantine keeps it); two rows for the same pair and
day with different rates are both rejected, since nobody can tell which one was meant.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.tables import FX_RATES, PAYOUT_CURRENCIES
from integrations.warehouse import WarehouseConnection

RATE_PLACES = 6
"""Decimal places a rate may have: `royalties.fx_rates.rate` is DECIMAL(18, 6)."""

_currency = f.matching("|".join(sorted(MINOR_UNIT_EXPONENT)), "a supported ISO 4217 currency")


def _rate(value: str) -> Decimal:
    rate: Decimal = f.decimal_places(RATE_PLACES)(value)
    if rate <= 0:
        raise f.FieldError("must be positive")
    return rate


def _optional_currency(value: str) -> str | None:
    return _currency(value) if value.strip() else None


RATE_FIELDS: dict[str, f.Parser] = {
    "base": _currency,
    "quote": _currency,
    "effective_on": f.iso_date,
    "rate": _rate,
    "source": f.optional_text,
}
"""Columns of the FX rates CSV."""

PAYOUT_CURRENCY_FIELDS: dict[str, f.Parser] = {"party_id": f.text, "payout_currency": _optional_currency}
"""Columns of the payout currencies CSV."""


def read_rates_csv(path: Path) -> tuple[pl.DataFrame, list[Reject]]:
    """`royalties.fx_rates` rows of `path` and the rows rejected (with file, row, field and why)."""
    parsed = f.read_csv(path, RATE_FIELDS)
    rejects = list(parsed.rejects)
    by_key: dict[tuple[str, str, date], list[dict[str, Any]]] = defaultdict(list)
    for row in parsed.rows:
        if row["base"] == row["quote"]:
            rejects.append(Reject(row["_source_file"], row["_row"], "quote", row["quote"], "quote equals base"))
        else:
            by_key[(row["base"], row["quote"], row["effective_on"])].append(row)
    kept = []
    for (base, quote, day), rows in by_key.items():
        first = rows[0]
        if len({r["rate"] for r in rows}) > 1:
            for r in rows:
                others = ", ".join(str(o["_row"]) for o in rows if o is not r)
                reason = f"rate for {base}/{quote} on {day} conflicts with row(s) {others}: none is used"
                rejects.append(Reject(r["_source_file"], r["_row"], "rate", str(r["rate"]), reason))
            continue
        for r in rows[1:]:
            rejects.append(
                Reject(r["_source_file"], r["_row"], "effective_on", str(day), f"duplicate of row {first['_row']}")
            )
        kept.append(first)
    return rates_frame(kept), rejects


def rates_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """`royalties.fx_rates` rows of parsed CSV rows (or dicts with base, quote, effective_on, rate, source)."""
    return FX_RATES.from_rows(
        [
            {
                "base": r["base"],
                "quote": r["quote"],
                "effective_on": r["effective_on"],
                "rate": Decimal(r["rate"]),
                "source": r.get("source"),
                "source_file": r.get("_source_file"),
                "source_row": r.get("_row"),
            }
            for r in sorted(rows, key=lambda r: (r["base"], r["quote"], r["effective_on"]))
        ]
    )


def read_payout_currencies_csv(path: Path) -> tuple[pl.DataFrame, list[Reject]]:
    """`royalties.payout_currencies` rows of `path` (one per party: a second row for a party is rejected)."""
    parsed = f.reject_duplicates(f.read_csv(path, PAYOUT_CURRENCY_FIELDS), lambda r: r["party_id"], "party_id")
    frame = PAYOUT_CURRENCIES.from_rows(
        [
            {
                "party_id": r["party_id"],
                "payout_currency": r["payout_currency"],
                "source_file": r["_source_file"],
                "source_row": r["_row"],
            }
            for r in parsed.rows
        ]
    )
    return frame, parsed.rejects


def rate_on(conn: WarehouseConnection, base: str, quote: str, day: date) -> tuple[Decimal, str | None] | None:
    """The rate (and its source) for `base`→`quote` effective on `day` exactly; None when there is none."""
    conn.ensure(FX_RATES)
    frame = conn.query(
        f"SELECT rate, source FROM {FX_RATES.qualified_name} WHERE base = ? AND quote = ? AND effective_on = ?",
        [base, quote, day],
        {"rate": FX_RATES.polars_schema["rate"], "source": pl.Utf8()},
    )
    if frame.is_empty():
        return None
    rate, source = frame.row(0)
    return Decimal(rate), source


def latest_rate_before(conn: WarehouseConnection, base: str, quote: str, day: date) -> date | None:
    """The last day before `day` with a `base`→`quote` rate (for error messages); None when there is none."""
    conn.ensure(FX_RATES)
    value = conn.scalar(
        f"SELECT MAX(effective_on) FROM {FX_RATES.qualified_name} WHERE base = ? AND quote = ? AND effective_on < ?",
        [base, quote, day],
    )
    return value if isinstance(value, date) else None


def payout_currencies(conn: WarehouseConnection) -> dict[str, str]:
    """party_id → the currency it is paid in, for the parties that have one."""
    conn.ensure(PAYOUT_CURRENCIES)
    frame = conn.query(
        f"SELECT party_id, payout_currency FROM {PAYOUT_CURRENCIES.qualified_name} WHERE payout_currency IS NOT NULL"
    )
    return {p: c for p, c in frame.iter_rows()}
