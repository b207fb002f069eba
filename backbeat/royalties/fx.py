"""Currency conversion of parties' balances, booked at a stated rate and date: plain Python, exact amounts.

A party with a payout currency (`royalties.payout_currencies`) may earn in other currencies (the ones its
stations are billed in). `convert_balances(db, period, at)` moves what such a party is owed in each other
currency at the end of `period` (every party_payable line reported up to that month: royalty ledger, contract
ledger and earlier conversions) into its payout currency, at the rate of `royalties.fx_rates` effective on day
`at`. One batch per party and currency pair, five lines (debit positive, credit negative):

    from currency:  party_payable  +B            (the balance B leaves the billed currency)
                    fx_clearing    −B
    to currency:    fx_clearing    +B × rate     (exact, no rounding)
                    party_payable  −round(B × rate)   (half-even to the currency's minor units: what is owed)
                    fx_rounding    round(B × rate) − B × rate   (the rounding difference, explicit)

so each currency's lines sum to zero on their own. Amounts are exact in `amount_nanos` (billionths of the unit;
a 6-place rate times a 2-place amount has 8 places); `amount_minor` carries the whole minor units of the lines
that have them (party_payable lines always do).

Batch ids are deterministic: `fx|{party}|{from}|{to}|{period}|r{n}`. What is converted is what is left in the
billed currency, so a re-run posts nothing; a late correction reported in the month is converted by r{n+1}. A
rate missing for the day refuses the whole run (nothing is posted) naming each pair and the day. A month already
closed is reported in the first open one. Lines are never updated or deleted (`royalties.fx_ledger`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from backbeat.royalties.fx_rates import latest_rate_before, payout_currencies, rate_on
from backbeat.royalties.money import MINOR_UNIT_EXPONENT, to_minor_units
from backbeat.royalties.periods import check_period, closed_periods, reporting_period
from backbeat.royalties.tables import CONTRACT_LEDGER, FX_LEDGER, FX_RATES, LEDGER, PAYABLE
from backbeat.royalties.tables import FX_CLEARING as CLEARING
from backbeat.royalties.tables import FX_ROUNDING as ROUNDING
from integrations.warehouse import Warehouse, WarehouseConnection

NANOS = 9
"""Exact amounts are stored in units of 10⁻⁹ of the currency unit."""


class FxRateMissing(LookupError):
    """No rate for a currency pair on the conversion day; the message names each pair and the day."""


@dataclass(frozen=True)
class Conversion:
    """`amount_minor` of `from_currency` converted at `rate`: exact result, what is owed, and the difference."""

    from_currency: str
    to_currency: str
    amount_minor: int
    rate: Decimal
    exact: Decimal
    """amount × rate in units of to_currency, unrounded."""
    converted_minor: int
    """`exact` rounded half-even to to_currency's minor units."""

    @property
    def rounding(self) -> Decimal:
        """Rounded minus exact, in units of to_currency (the fx_rounding line)."""
        return Decimal(self.converted_minor).scaleb(-MINOR_UNIT_EXPONENT[self.to_currency]) - self.exact


def convert(amount_minor: int, from_currency: str, to_currency: str, rate: Decimal) -> Conversion:
    """Convert `amount_minor` of `from_currency` at `rate` (units of to_currency per unit of from_currency)."""
    exact = Decimal(amount_minor).scaleb(-MINOR_UNIT_EXPONENT[from_currency]) * rate
    return Conversion(from_currency, to_currency, amount_minor, rate, exact, to_minor_units(exact, to_currency))


def nanos(amount: Decimal) -> int:
    """`amount` (currency units) in billionths; refuses what would not be exact."""
    scaled = amount.scaleb(NANOS)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {NANOS} decimal places")
    return int(scaled)


def minor_of_nanos(amount_nanos: int, currency: str) -> int | None:
    """Whole minor units of an amount in billionths, or None when it is not whole."""
    per_minor = 10 ** (NANOS - MINOR_UNIT_EXPONENT[currency])
    return amount_nanos // per_minor if amount_nanos % per_minor == 0 else None


@dataclass
class FxRun:
    """What one `convert_balances` call did."""

    period: str
    converted_on: date
    batches_posted: list[str] = field(default_factory=list)
    lines_written: int = 0
    conversions: list[Conversion] = field(default_factory=list)
    balance_nanos: dict[str, int] = field(default_factory=dict)
    """Σ of the lines written per currency, in billionths: 0 when every batch balances."""


def payable_balances(conn: WarehouseConnection, through: str) -> pl.DataFrame:
    """party_id, currency, amount_minor: Σ party_payable over the royalty, contract and FX ledgers, lines reported
    up to month `through` (credit negative: a party owed money has a negative sum)."""
    for t in (LEDGER, CONTRACT_LEDGER, FX_LEDGER):
        conn.ensure(t)
    parts = " UNION ALL ".join(
        f"SELECT party_id, currency, amount_minor FROM {t.qualified_name} "
        "WHERE account = ? AND accounting_period <= ? AND party_id IS NOT NULL"
        for t in (LEDGER, CONTRACT_LEDGER, FX_LEDGER)
    )
    return conn.query(
        f"SELECT party_id, currency, CAST(SUM(amount_minor) AS BIGINT) AS amount_minor FROM ({parts}) lines "
        "GROUP BY party_id, currency ORDER BY party_id, currency",
        [PAYABLE, through] * 3,
        {"party_id": pl.Utf8(), "currency": pl.Utf8(), "amount_minor": pl.Int64()},
    )


def _revisions(conn: WarehouseConnection) -> dict[str, int]:
    """Batch id without its revision → the last revision posted."""
    frame = conn.query(f"SELECT DISTINCT batch_id FROM {FX_LEDGER.qualified_name}")
    last: dict[str, int] = {}
    for (batch_id,) in frame.iter_rows():
        base, _, revision = batch_id.rpartition("|r")
        last[base] = max(last.get(base, 0), int(revision))
    return last


def batch_lines(
    batch_id: str, party_id: str, c: Conversion, source: str | None, period: str, reported_in: str, at: date
) -> list[dict[str, object]]:
    """The five lines of one conversion batch (without posted_at); `c` converts what the party is owed
    (positive: owed to it, negative: it owes)."""
    from_exp, to_exp = MINOR_UNIT_EXPONENT[c.from_currency], MINOR_UNIT_EXPONENT[c.to_currency]
    moves = [
        (PAYABLE, c.from_currency, Decimal(c.amount_minor).scaleb(-from_exp)),
        (CLEARING, c.from_currency, -Decimal(c.amount_minor).scaleb(-from_exp)),
        (CLEARING, c.to_currency, c.exact),
        (PAYABLE, c.to_currency, -Decimal(c.converted_minor).scaleb(-to_exp)),
        (ROUNDING, c.to_currency, c.rounding),
    ]
    rows = []
    for line_no, (account, currency, amount) in enumerate(moves, start=1):
        amount_nanos = nanos(amount)
        rows.append(
            {
                "batch_id": batch_id,
                "line_no": line_no,
                "party_id": party_id,
                "from_currency": c.from_currency,
                "to_currency": c.to_currency,
                "rate": c.rate,
                "rate_source": source,
                "converted_on": at,
                "for_period": period,
                "accounting_period": reported_in,
                "account": account,
                "currency": currency,
                "amount_nanos": amount_nanos,
                "amount_minor": minor_of_nanos(amount_nanos, currency),
            }
        )
    return rows


def convert_balances(warehouse: Warehouse, period: str, at: date, posted_at: datetime | None = None) -> FxRun:
    """Convert every party's balance at the end of `period` (YYYY-MM) in a currency other than its payout
    currency into the payout currency, at the rates effective on `at`; one transaction, all or nothing.

    Raises FxRateMissing (naming each pair and the day) when a needed rate is not in `royalties.fx_rates` for
    `at`: nothing is posted then. Idempotent: a second run converts nothing, since nothing is left to convert.
    """
    check_period(period)
    stamp = posted_at or datetime.now(UTC)
    if stamp.tzinfo is not None:  # the ledger stores naive UTC
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    run = FxRun(period, at)
    with warehouse.connect() as conn:
        wanted = payout_currencies(conn)
        balances = payable_balances(conn, period)
        todo = [
            (party, currency, int(amount))
            for party, currency, amount in balances.iter_rows()
            if party in wanted and currency != wanted[party] and amount != 0
        ]
        rates: dict[tuple[str, str], tuple[Decimal, str | None]] = {}
        missing = []
        for pair in sorted({(currency, wanted[party]) for party, currency, _ in todo}):
            found = rate_on(conn, *pair, at)
            if found is None:
                before = latest_rate_before(conn, *pair, at)
                latest = f" (latest earlier rate: {before})" if before else " (none earlier either)"
                missing.append(f"{pair[0]}/{pair[1]} on {at}{latest}")
            else:
                rates[pair] = found
        if missing:
            raise FxRateMissing(
                f"no FX rate in {FX_RATES.qualified_name} for {'; '.join(missing)}: add the day's rate to "
                f"inbox/royalties/fx_rates.csv; nothing was converted for {period}"
            )
        reported_in = reporting_period(period, closed_periods(conn))
        last = _revisions(conn)
        rows: list[dict[str, object]] = []
        for party, currency, amount in todo:
            to = wanted[party]
            rate, source = rates[(currency, to)]
            conversion = convert(-amount, currency, to, rate)  # owed: the credit balance, positive
            base = f"fx|{party}|{currency}|{to}|{period}"
            batch_id = f"{base}|r{last.get(base, 0) + 1}"
            rows += batch_lines(batch_id, party, conversion, source, period, reported_in, at)
            run.batches_posted.append(batch_id)
            run.conversions.append(conversion)
        if rows:
            frame = FX_LEDGER.from_rows([{**r, "posted_at": stamp} for r in rows])
            conn.insert(FX_LEDGER, frame)
            run.lines_written = frame.height
            sums = frame.group_by("currency").agg(pl.col("amount_nanos").sum()).sort("currency")
            run.balance_nanos = {c: int(a) for c, a in sums.iter_rows()}
    return run


def unbalanced_fx_batches(conn: WarehouseConnection) -> list[str]:
    """FX ledger batches whose lines do not sum to zero per currency (should be none)."""
    conn.ensure(FX_LEDGER)
    frame = conn.query(
        f"SELECT batch_id, currency FROM {FX_LEDGER.qualified_name} GROUP BY batch_id, currency "
        "HAVING SUM(amount_nanos) <> 0 ORDER BY batch_id, currency"
    )
    return [f"{b} ({c})" for b, c in frame.iter_rows()]


def fx_payable_lines(conn: WarehouseConnection, period: str) -> pl.DataFrame:
    """The FX ledger's party_payable lines reported in month `period` (for statements and payouts): batch,
    party, currency, amount_minor (negative: owed to the party), the pair, rate, its source and the day."""
    conn.ensure(FX_LEDGER)
    columns = (
        "batch_id, party_id, currency, amount_minor, from_currency, to_currency, rate, rate_source, converted_on, "
        "for_period"
    )
    return conn.query(
        f"SELECT {columns} FROM {FX_LEDGER.qualified_name} WHERE account = ? AND accounting_period = ? "
        "ORDER BY party_id, batch_id, line_no",
        [PAYABLE, period],
        {c.strip(): FX_LEDGER.polars_schema[c.strip()] for c in columns.split(",")},
    )
