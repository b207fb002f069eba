"""What a party's contract terms do to its statement for a month, read back from the contract ledger.

Per party and currency: for each contract the advance, what was recouped in the month and to date, what remains,
the reserve held, released and still held; then the shares moved in the month, the balance after the contracts
(the royalty ledger's party_payable plus the contract ledger's), the minimum payout in force and what of the
balance is payable or carried forward. Figures are what is posted (`recoupment.apply_contract_terms`), by the month
lines are reported in. Minor units; positive amounts are owed to the party.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from backbeat.royalties.contract_terms import ContractTerm, minimum_payout, terms_from_frame
from backbeat.royalties.tables import CONTRACT_LEDGER, CONTRACT_TERMS, LEDGER, PAYABLE
from integrations.warehouse import WarehouseConnection

RECOUPABLE, RESERVE = "advance_recoupable", "reserve"


def _marks(values: list[str]) -> str:
    return ", ".join("?" for _ in values)


def read_terms(conn: WarehouseConnection) -> list[ContractTerm]:
    """Every row of royalties.contract_terms, by term id."""
    conn.ensure(CONTRACT_TERMS)
    return terms_from_frame(
        conn.query(
            f"SELECT {', '.join(CONTRACT_TERMS.column_names)} FROM {CONTRACT_TERMS.qualified_name} ORDER BY term_id",
            schema=CONTRACT_TERMS.polars_schema,
        )
    )


@dataclass(frozen=True)
class ContractPool:
    """One contract's progress for a party in one currency, as of a month (minor units)."""

    contract_id: str
    advance_minor: int
    """Advances paid up to the month's end."""
    recouped_minor: int
    """Recouped in the month."""
    recouped_to_date_minor: int
    remaining_minor: int
    """Advance not yet recouped at the month's end."""
    reserve_held_minor: int
    reserve_released_minor: int
    reserve_balance_minor: int
    """Held in reserve at the month's end."""


@dataclass(frozen=True)
class ContractSummary:
    """What a party's contracts do to its statement in one currency and month (minor units, positive: owed)."""

    contracts: list[ContractPool]
    shares_minor: int
    """Shares moved in the month: received from another party's receipts (+) or paid to another party (−)."""
    deductions_to_date_minor: int
    """Everything the contracts took from or added to the royalty balance up to the month's end (recouped,
    reserves net of releases, shares), as a change of what is owed."""
    balance_minor: int
    """Owed after the contracts: the royalty ledger's closing balance plus deductions_to_date."""
    minimum_payout_minor: int
    payable_minor: int
    """The balance if it reaches the minimum payout, else 0."""
    carried_forward_minor: int
    """The balance not payable this month (below the minimum)."""


def contract_summaries(
    conn: WarehouseConnection, period: str, parties: list[str]
) -> dict[tuple[str, str], ContractSummary]:
    """(party_id, currency) → the month's contract summary, for parties with contract terms or contract lines."""
    if not parties:
        return {}
    conn.ensure(CONTRACT_LEDGER)
    conn.ensure(LEDGER)
    terms = [t for t in read_terms(conn) if not t.problems()]
    lines = conn.query(
        f"SELECT batch_kind, contract_id, accounting_period, account, party_id, amount_minor, currency "
        f"FROM {CONTRACT_LEDGER.qualified_name} WHERE accounting_period <= ? AND party_id IN ({_marks(parties)})",
        [period, *parties],
        {k: CONTRACT_LEDGER.polars_schema[k] for k in ("batch_kind", "contract_id", "accounting_period", "account")}
        | {k: CONTRACT_LEDGER.polars_schema[k] for k in ("party_id", "amount_minor", "currency")},
    )
    royalty = conn.query(
        f"SELECT party_id, currency, CAST(SUM(amount_minor) AS BIGINT) AS amount_minor FROM {LEDGER.qualified_name} "
        f"WHERE account = ? AND accounting_period <= ? AND party_id IN ({_marks(parties)}) GROUP BY party_id, currency",
        [PAYABLE, period, *parties],
        {"party_id": pl.Utf8(), "currency": pl.Utf8(), "amount_minor": pl.Int64()},
    )
    owed = {(p, c): -int(a) for p, c, a in royalty.iter_rows()}
    keys = {(p, c) for p, c in lines.select("party_id", "currency").unique().iter_rows()}
    keys |= {(t.party_id, t.currency) for t in terms if t.party_id in parties and f"{t.valid_from:%Y-%m}" <= period}
    out = {}
    for party, currency in sorted(keys):
        mine = lines.filter((pl.col("party_id") == party) & (pl.col("currency") == currency))
        now = pl.col("accounting_period") == period

        def total(frame: pl.DataFrame, *conditions: pl.Expr) -> int:
            for condition in conditions:
                frame = frame.filter(condition)
            return int(frame["amount_minor"].sum())

        pools = []
        for contract in sorted(set(mine["contract_id"].drop_nulls().to_list())):
            c = mine.filter(pl.col("contract_id") == contract)
            recoupable, reserve = pl.col("account") == RECOUPABLE, pl.col("account") == RESERVE
            pools.append(
                ContractPool(
                    contract_id=contract,
                    advance_minor=total(c, recoupable, pl.col("batch_kind") == "advance"),
                    recouped_minor=-total(c, recoupable, pl.col("batch_kind") == "recoupment", now),
                    recouped_to_date_minor=-total(c, recoupable, pl.col("batch_kind") == "recoupment"),
                    remaining_minor=total(c, recoupable),
                    reserve_held_minor=-total(c, reserve, pl.col("batch_kind") == "reserve_hold", now),
                    reserve_released_minor=total(c, reserve, pl.col("batch_kind") == "reserve_release", now),
                    reserve_balance_minor=-total(c, reserve),
                )
            )
        payable_lines = mine.filter(pl.col("account") == PAYABLE)
        deductions = -total(payable_lines)
        balance = owed.get((party, currency), 0) + deductions
        minimum = minimum_payout(terms, party, currency, period)
        payable = balance if balance > 0 and balance >= minimum else 0
        out[(party, currency)] = ContractSummary(
            contracts=pools,
            shares_minor=-total(payable_lines, pl.col("batch_kind") == "share", now),
            deductions_to_date_minor=deductions,
            balance_minor=balance,
            minimum_payout_minor=minimum,
            payable_minor=payable,
            carried_forward_minor=balance - payable,
        )
    return out
