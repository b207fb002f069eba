"""Contract terms and what they make a party owed, month by month: plain Python, exact integer minor units.

A party's terms under a contract (`royalties.contract_terms`, one row per version with validity dates) may give
it a share of another party's receipts (the artist's share of the label's), an advance paid at signing and
recouped from the contract's earnings before anything is payable, a reserve (a share of the earnings left after
recoupment, held back and released N months later) and a minimum payout (balances below it carry forward).

`contract_effects` turns the terms and the ledger's party_payable movements into the amounts each month should
carry per pool (contract, party, currency), in this order each month:

1. earnings: the party's own ledger credits for plays on days the term is in force or, for a share term,
   `share_bp` of the source party's credits for such days (half-to-even, per term and month);
2. advance: paid in the month of the term's `valid_from`, added to what is unrecouped;
3. recoupment: the month's earnings up to what is unrecouped (a negative month, e.g. a reversal, un-recoups
   at most what was recouped);
4. reserve: `reserve_bp` of what is left after recoupment (if positive), released `reserve_periods` months later.

Earnings are counted by the month their ledger line is reported in (`accounting_period`), the day they relate to
(`posted_for`) deciding whether a term is in force, so a term ending mid-month counts only its days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import polars as pl

from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.statements import next_period
from backbeat.royalties.tables import CONTRACT_TERMS

FULL_BP = 10_000
PoolKey = tuple[str, str, str]
"""(contract_id, party_id, currency): the advance is recouped from the pool's earnings only."""


@dataclass(frozen=True)
class ContractTerm:
    """One version of a party's financial terms under a contract; amounts in minor units of `currency`."""

    term_id: str
    contract_id: str
    party_id: str
    currency: str
    valid_from: date
    valid_to: date | None = None
    """Last day in force; None: open-ended."""
    source_party_id: str | None = None
    share_bp: int | None = None
    advance_minor: int = 0
    minimum_payout_minor: int = 0
    reserve_bp: int = 0
    reserve_periods: int = 0
    note: str | None = None

    @property
    def pool(self) -> PoolKey:
        return (self.contract_id, self.party_id, self.currency)

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def overlaps(self, period: str) -> bool:
        """Whether the term is in force on any day of month `period`."""
        first = date.fromisoformat(f"{period}-01")
        after = date.fromisoformat(f"{next_period(period)}-01")
        return self.valid_from < after and (self.valid_to is None or self.valid_to >= first)

    def problems(self) -> list[str]:
        """What makes the term unusable (empty: fine)."""
        found = []
        if self.currency not in MINOR_UNIT_EXPONENT:
            found.append(f"currency {self.currency} is not supported")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            found.append(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        if (self.source_party_id is None) != (self.share_bp is None):
            found.append("a share needs both source_party_id and share_bp")
        if self.source_party_id == self.party_id:
            found.append("a party cannot take a share of its own receipts")
        if self.share_bp is not None and not 0 <= self.share_bp <= FULL_BP:
            found.append(f"share_bp {self.share_bp} is outside 0..10000")
        if not 0 <= self.reserve_bp <= FULL_BP:
            found.append(f"reserve_bp {self.reserve_bp} is outside 0..10000")
        if self.reserve_bp and self.reserve_periods < 1:
            found.append("a reserve needs reserve_periods of at least 1")
        if min(self.advance_minor, self.minimum_payout_minor, self.reserve_periods) < 0:
            found.append("advance, minimum payout and reserve periods cannot be negative")
        return found


def terms_from_frame(frame: pl.DataFrame) -> list[ContractTerm]:
    """ContractTerm per `royalties.contract_terms` row (nulls → no advance, no minimum, no reserve)."""
    return [
        ContractTerm(
            term_id=r["term_id"],
            contract_id=r["contract_id"],
            party_id=r["party_id"],
            currency=r["currency"],
            valid_from=r["valid_from"],
            valid_to=r["valid_to"],
            source_party_id=r["source_party_id"],
            share_bp=r["share_bp"],
            advance_minor=r["advance_minor"] or 0,
            minimum_payout_minor=r["minimum_payout_minor"] or 0,
            reserve_bp=r["reserve_bp"] or 0,
            reserve_periods=r["reserve_periods"] or 0,
            note=r["note"],
        )
        for r in frame.iter_rows(named=True)
    ]


def terms_frame(terms: Iterable[ContractTerm]) -> pl.DataFrame:
    """`royalties.contract_terms` rows of `terms`."""
    return CONTRACT_TERMS.from_rows([vars(t) for t in terms])


def _money(currency: str) -> f.Parser:
    def parse(value: str) -> int | None:
        if not value.strip():
            return None
        amount = f.decimal(value)
        scaled = amount.scaleb(MINOR_UNIT_EXPONENT.get(currency, 2))
        if scaled != scaled.to_integral_value():
            raise f.FieldError(f"has more decimal places than {currency} allows")
        return int(scaled)

    return parse


def _optional(parser: f.Parser) -> f.Parser:
    return lambda value: parser(value) if value.strip() else None


def _percent_bp(value: str) -> int | None:
    """'20' or '12.5' (percent) → basis points; empty → None."""
    if not value.strip():
        return None
    bp = f.decimal(value) * 100
    if bp != bp.to_integral_value():
        raise f.FieldError("has more than two decimal places of a percent")
    return int(bp)


TERM_FIELDS: dict[str, f.Parser] = {
    "term_id": f.text,
    "contract_id": f.text,
    "party_id": f.text,
    "currency": f.matching("|".join(MINOR_UNIT_EXPONENT), "a supported ISO 4217 currency"),
    "valid_from": f.iso_date,
    "valid_to": _optional(f.iso_date),
    "source_party_id": f.optional_text,
    "share_percent": _percent_bp,
    "advance": f.optional_text,
    "minimum_payout": f.optional_text,
    "reserve_percent": _percent_bp,
    "reserve_periods": _optional(f.integer),
    "note": f.optional_text,
}
"""Columns of a contract terms CSV (amounts in major units, shares and reserves in percent)."""


def read_terms_csv(path: Path) -> tuple[list[ContractTerm], list[Reject]]:
    """The terms of a CSV with `TERM_FIELDS` columns, and the rows rejected (with why)."""
    parsed = f.read_csv(path, TERM_FIELDS)
    terms, rejects = [], list(parsed.rejects)
    for row in parsed.rows:
        where = (row["_source_file"], row["_row"])
        amounts = {}
        try:
            for name in ("advance", "minimum_payout"):
                amounts[name] = _money(row["currency"])(row[name] or "") or 0
        except f.FieldError as exc:
            rejects.append(Reject(*where, name, row[name] or "", f"{name} {exc}"))
            continue
        term = ContractTerm(
            term_id=row["term_id"],
            contract_id=row["contract_id"],
            party_id=row["party_id"],
            currency=row["currency"],
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            source_party_id=row["source_party_id"],
            share_bp=row["share_percent"],
            advance_minor=amounts["advance"],
            minimum_payout_minor=amounts["minimum_payout"],
            reserve_bp=row["reserve_percent"] or 0,
            reserve_periods=row["reserve_periods"] or 0,
            note=row["note"],
        )
        problems = term.problems()
        if problems:
            rejects.append(Reject(*where, "term_id", term.term_id, "; ".join(problems)))
            continue
        terms.append(term)
    return terms, rejects


def share_of(amount_minor: int, bp: int) -> int:
    """`bp` basis points of `amount_minor`, half-to-even to a whole minor unit."""
    return int((Decimal(amount_minor) * bp / FULL_BP).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass
class PoolMonth:
    """What a pool's terms make of one month, minor units (positive: in the party's favour for earnings)."""

    earnings_minor: int = 0
    advance_minor: int = 0
    recouped_minor: int = 0
    reserve_held_minor: int = 0
    reserve_released_minor: int = 0


@dataclass
class ContractEffects:
    """Per pool and month what the terms make of the earnings, and per share term and month the amount moved
    from the source party to the party."""

    months: dict[PoolKey, dict[str, PoolMonth]] = field(default_factory=dict)
    shares: dict[tuple[str, str], int] = field(default_factory=dict)
    """(term_id, period) → minor units moved from the term's source party to its party."""


def _earnings(terms: list[ContractTerm], credits: pl.DataFrame) -> dict[tuple[str, str], int]:
    """(term_id, period) → the term's earnings in the month: own credits or its share of the source's."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    if credits.is_empty():
        return out
    by_party = credits.partition_by("party_id", "currency", as_dict=True)
    for term in terms:
        mine = by_party.get((term.source_party_id or term.party_id, term.currency))
        if mine is None:
            continue
        in_force = mine.filter(
            (pl.col("posted_for") >= term.valid_from)
            & (pl.lit(term.valid_to is None) | (pl.col("posted_for") <= (term.valid_to or term.valid_from)))
        )
        for period, owed in in_force.group_by("accounting_period").agg(pl.col("amount_minor").sum()).iter_rows():
            received = -int(owed)
            out[(term.term_id, period)] += share_of(received, term.share_bp) if term.share_bp is not None else received
    return out


def _term_for_month(terms: list[ContractTerm], period: str) -> ContractTerm | None:
    """The pool's term in force in month `period` that started last (None: none in force that month)."""
    in_force = [t for t in terms if t.overlaps(period)]
    return max(in_force, key=lambda t: (t.valid_from, t.term_id)) if in_force else None


def contract_effects(terms: list[ContractTerm], credits: pl.DataFrame, through: str) -> ContractEffects:
    """What `terms` make of the ledger `credits` in every month up to `through` (YYYY-MM).

    `credits`: the royalty ledger's party_payable lines from plays (postings and reversals, not payouts) of the
    terms' parties and source parties: party_id, currency, posted_for, accounting_period, amount_minor (credit
    negative). Months after `through` are ignored; terms not yet signed by then pay no advance.
    """
    credits = credits.filter(pl.col("accounting_period") <= through)
    earnings = _earnings(terms, credits)
    effects = ContractEffects()
    by_id = {t.term_id: t for t in terms}
    pool_earnings: dict[PoolKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (term_id, period), amount in earnings.items():
        term = by_id[term_id]
        pool_earnings[term.pool][period] += amount
        if term.source_party_id is not None and amount:
            effects.shares[(term_id, period)] = amount
    pools: dict[PoolKey, list[ContractTerm]] = defaultdict(list)
    for term in terms:
        pools[term.pool].append(term)
    for pool, pool_terms in sorted(pools.items()):
        earned = pool_earnings[pool]
        starts = [f"{t.valid_from:%Y-%m}" for t in pool_terms] + list(earned)
        period = min(starts)
        months: dict[str, PoolMonth] = defaultdict(PoolMonth)
        unrecouped = recouped = 0
        while period <= through:
            month = months[period]
            month.earnings_minor = earned.get(period, 0)
            month.advance_minor = sum(t.advance_minor for t in pool_terms if f"{t.valid_from:%Y-%m}" == period)
            unrecouped += month.advance_minor
            month.recouped_minor = min(max(month.earnings_minor, -recouped), unrecouped)
            unrecouped -= month.recouped_minor
            recouped += month.recouped_minor
            left = month.earnings_minor - month.recouped_minor
            in_force = _term_for_month(pool_terms, period)
            if in_force is not None and in_force.reserve_bp and left > 0:
                month.reserve_held_minor = share_of(left, in_force.reserve_bp)
                release = period
                for _ in range(in_force.reserve_periods):
                    release = next_period(release)
                if release <= through:
                    months[release].reserve_released_minor += month.reserve_held_minor
            period = next_period(period)
        effects.months[pool] = {p: m for p, m in sorted(months.items()) if p <= through}
    return effects


def minimum_payout(terms: list[ContractTerm], party_id: str, currency: str, period: str) -> int:
    """The party's minimum payout in `currency` for month `period`: the largest of its terms in force then."""
    found = [
        t.minimum_payout_minor
        for t in terms
        if t.party_id == party_id and t.currency == currency and t.overlaps(period)
    ]
    return max(found, default=0)
