"""What currency conversions do to a party's statement for a month, read back from the FX ledger.

A party paid in another currency than its stations are billed in has its balance converted
(`royalties.fx.convert_balances`, lines in `royalties.fx_ledger`). Its statement in a currency the conversions
touch gets a `ConversionSummary`: each conversion reported in the month (the amount in the billed currency, the
rate, its day and source, the amount in the payout currency and the rounding posted on fx_rounding), what the
conversions moved in the statement's currency up to the month's end, the balance left in that currency (the
royalty, contract and FX ledgers' party_payable lines together) and the closing balance in the payout currency.

Figures are what is posted, by the month the lines are reported in. Minor units, positive amounts owed to the
party; the rounding is exact, in billionths of the payout currency (it is rarely whole minor units).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.tables import CONTRACT_LEDGER, FX_LEDGER, LEDGER, PAYABLE
from backbeat.royalties.tables import FX_ROUNDING as ROUNDING
from integrations.warehouse import WarehouseConnection

NANOS = 9
"""The FX ledger's exact amounts are in billionths of the currency unit (`fx.NANOS`)."""


@dataclass(frozen=True)
class ConversionLine:
    """One conversion batch: `from_amount_minor` of `from_currency` at `rate` on `converted_on` is
    `to_amount_minor` of `to_currency`, `rounding_nanos` the fx_rounding line (rounded minus exact)."""

    batch_id: str
    for_period: str
    """The month whose closing balance was converted."""
    converted_on: str
    rate: str
    """Units of to_currency per unit of from_currency, as posted."""
    rate_source: str
    from_currency: str
    from_amount_minor: int
    to_currency: str
    to_amount_minor: int
    rounding_nanos: int


@dataclass(frozen=True)
class ConversionSummary:
    """The conversions of a party's statement in one currency and month (minor units, positive: owed)."""

    lines: list[ConversionLine] = field(default_factory=list)
    """Conversions reported in the month from or into the statement's currency."""
    converted_to_date_minor: int = 0
    """What the conversions moved into (+) or out of (−) the statement's currency up to the month's end."""
    balance_minor: int = 0
    """Owed in the statement's currency after contracts and conversions: closing + contract effects to date +
    converted_to_date."""
    payout_currency: str = ""
    """The currency the party's balances are converted into (its latest conversion's)."""
    payout_balance_minor: int = 0
    """The closing balance in the payout currency: every party_payable line in it up to the month's end."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversionSummary:
        return cls(**{**data, "lines": [ConversionLine(**line) for line in data["lines"]]})


def format_exact(amount_nanos: int, currency: str) -> str:
    """An amount in billionths as major units, with at least the currency's decimals: −857000 USD → -0.000857."""
    amount = Decimal(amount_nanos).scaleb(-NANOS).normalize()
    decimals = max(-int(amount.as_tuple().exponent), MINOR_UNIT_EXPONENT[currency], 0)
    return f"{amount:,.{decimals}f}"


def format_rate(rate: Decimal) -> str:
    """A rate without trailing zeros, never in exponent form: 1.085700 → 1.0857, 100.000000 → 100."""
    return f"{rate.normalize():f}"


def _marks(values: list[str]) -> str:
    return ", ".join("?" for _ in values)


def _batch_lines(conn: WarehouseConnection, period: str, parties: list[str]) -> pl.DataFrame:
    """The party_payable and fx_rounding lines of batches reported in `period` (one row per line)."""
    columns = (
        "batch_id",
        "line_no",
        "party_id",
        "from_currency",
        "to_currency",
        "rate",
        "rate_source",
        "converted_on",
        "for_period",
        "account",
        "currency",
        "amount_nanos",
        "amount_minor",
    )
    return conn.query(
        f"SELECT {', '.join(columns)} FROM {FX_LEDGER.qualified_name} WHERE accounting_period = ? "
        f"AND account IN (?, ?) AND party_id IN ({_marks(parties)}) ORDER BY party_id, converted_on, batch_id, line_no",
        [period, PAYABLE, ROUNDING, *parties],
        {c: FX_LEDGER.polars_schema[c] for c in columns},
    )


def _conversion_lines(batches: pl.DataFrame) -> dict[str, list[ConversionLine]]:
    """party_id → its conversion lines, from the batches' party_payable and fx_rounding lines."""
    out: dict[str, list[ConversionLine]] = {}
    for (batch_id,), lines in batches.group_by("batch_id", maintain_order=True):
        rows = {(r["account"], r["currency"]): r for r in lines.iter_rows(named=True)}
        first = lines.row(0, named=True)
        source, target = first["from_currency"], first["to_currency"]
        rounding = rows.get((ROUNDING, target))
        out.setdefault(first["party_id"], []).append(
            ConversionLine(
                batch_id=str(batch_id),
                for_period=first["for_period"],
                converted_on=f"{first['converted_on']}",
                rate=format_rate(first["rate"]),
                rate_source=first["rate_source"] or "",
                from_currency=source,
                from_amount_minor=int(rows[(PAYABLE, source)]["amount_minor"]),  # debit: leaves what is owed
                to_currency=target,
                to_amount_minor=-int(rows[(PAYABLE, target)]["amount_minor"]),  # credit: now owed
                rounding_nanos=int(rounding["amount_nanos"]) if rounding else 0,
            )
        )
    return out


def _owed_to_date(conn: WarehouseConnection, period: str, parties: list[str]) -> dict[tuple[str, str, str], int]:
    """(ledger, party_id, currency) → what the ledger's party_payable lines up to `period` owe the party."""
    parts = " UNION ALL ".join(
        f"SELECT '{name}' AS ledger, party_id, currency, amount_minor FROM {t.qualified_name} "
        f"WHERE account = ? AND accounting_period <= ? AND party_id IN ({_marks(parties)})"
        for name, t in (("royalty", LEDGER), ("contract", CONTRACT_LEDGER), ("fx", FX_LEDGER))
    )
    frame = conn.query(
        f"SELECT ledger, party_id, currency, CAST(SUM(amount_minor) AS BIGINT) AS amount_minor FROM ({parts}) lines "
        "GROUP BY ledger, party_id, currency",
        [PAYABLE, period, *parties] * 3,
        {"ledger": pl.Utf8(), "party_id": pl.Utf8(), "currency": pl.Utf8(), "amount_minor": pl.Int64()},
    )
    return {(ledger, p, c): -int(a) for ledger, p, c, a in frame.iter_rows()}


def _payout_currencies(conn: WarehouseConnection, period: str, parties: list[str]) -> dict[str, str]:
    """party_id → the currency of its latest conversion reported up to `period`."""
    frame = conn.query(
        f"SELECT party_id, to_currency FROM {FX_LEDGER.qualified_name} WHERE account = ? AND accounting_period <= ? "
        f"AND party_id IN ({_marks(parties)}) ORDER BY party_id, converted_on, posted_at, batch_id",
        [PAYABLE, period, *parties],
        {"party_id": pl.Utf8(), "to_currency": pl.Utf8()},
    )
    return dict(frame.iter_rows())  # the last row of each party wins


def conversion_summaries(
    conn: WarehouseConnection, period: str, parties: list[str]
) -> dict[tuple[str, str], ConversionSummary]:
    """(party_id, currency) → the month's conversion summary, for each party and currency that conversions
    reported up to `period` moved money from or into; empty without conversions."""
    if not parties:
        return {}
    conn.ensure(FX_LEDGER)
    payout = _payout_currencies(conn, period, parties)
    if not payout:
        return {}
    converted = sorted(payout)
    for table in (LEDGER, CONTRACT_LEDGER):
        conn.ensure(table)
    owed = _owed_to_date(conn, period, converted)
    lines = _conversion_lines(_batch_lines(conn, period, converted))

    def total(party: str, currency: str) -> int:
        return sum(owed.get((ledger, party, currency), 0) for ledger in ("royalty", "contract", "fx"))

    out = {}
    for ledger, party, currency in sorted(owed):
        if ledger != "fx":
            continue
        out[(party, currency)] = ConversionSummary(
            lines=[c for c in lines.get(party, []) if currency in (c.from_currency, c.to_currency)],
            converted_to_date_minor=owed[(ledger, party, currency)],
            balance_minor=total(party, currency),
            payout_currency=payout[party],
            payout_balance_minor=total(party, payout[party]),
        )
    return out
