"""Contract terms in the ledger: advances, shares, recoupment and reserves posted as balanced batches, per month.

`apply_contract_terms(db, period)` runs after the month's royalty ledger and before its statements. It reads the
terms (`royalties.contract_terms`) and the royalty ledger's party_payable credits, computes with
`contract_terms.contract_effects` what every month up to `period` should carry, and appends to
`royalties.contract_ledger` only the difference from what is already posted. Each batch has two lines summing to
zero in one currency (debit positive, credit negative):

- advance:          advance_recoupable +A  / cash −A              (paid to the party at signing)
- share:            party_payable(source) +S / party_payable(party) −S  (the party's share of the source's receipts)
- recoupment:       party_payable +R       / advance_recoupable −R (earnings kept to recoup the advance)
- reserve_hold:     party_payable +H       / reserve −H            (held back)
- reserve_release:  reserve +H             / party_payable −H      (released N months later)

Batch ids are deterministic: `{kind}|{contract}|{party}|{currency}|{month}|r{n}` (share batches
`share|{term_id}|{month}|r{n}`). Re-running posts nothing; when a month's figure changes (a correction reported
in an open month), revision n+1 posts the difference. A month already closed is reported in the first open one.
Lines are never updated or deleted.

What a statement shows of it is read back by `contract_statement.contract_summaries`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import polars as pl

from backbeat.royalties.contract_statement import RECOUPABLE, RESERVE, read_terms
from backbeat.royalties.contract_terms import ContractEffects, ContractTerm, contract_effects
from backbeat.royalties.periods import closed_periods, reporting_period
from backbeat.royalties.tables import CASH, CONTRACT_LEDGER, LEDGER, PAYABLE
from integrations.warehouse import Warehouse, WarehouseConnection

KINDS = {
    "advance": (RECOUPABLE, CASH),
    "recoupment": (PAYABLE, RECOUPABLE),
    "reserve_hold": (PAYABLE, RESERVE),
    "reserve_release": (RESERVE, PAYABLE),
}
"""Pool batch kinds: (debited account, credited account), both lines on the pool's party."""
REASONS = {
    "advance": "advance paid at signing",
    "share": "share of the source party's receipts",
    "recoupment": "earnings recouping the advance",
    "reserve_hold": "reserve held back",
    "reserve_release": "reserve released",
}


def _marks(values: list[str]) -> str:
    return ", ".join("?" for _ in values)


def last_day(period: str) -> date:
    year, month = (int(x) for x in period.split("-"))
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class WantedBatch:
    """A batch family's figure for one month: `base` id (without revision), kind, amount, and whose lines."""

    base: str
    kind: str
    for_period: str
    amount_minor: int
    contract_id: str
    term_id: str | None
    currency: str
    debit: tuple[str, str]
    """(account, party_id) of line 1."""
    credit: tuple[str, str]
    """(account, party_id) of line 2."""
    posted_for: date


def wanted_batches(terms: list[ContractTerm], effects: ContractEffects) -> dict[str, WantedBatch]:
    """base id → the batch family each month's effects ask for (amounts may be zero)."""
    wanted: dict[str, WantedBatch] = {}
    by_id = {t.term_id: t for t in terms}
    for (term_id, period), amount in effects.shares.items():
        t = by_id[term_id]
        assert t.source_party_id is not None
        base = f"share|{term_id}|{period}"
        wanted[base] = WantedBatch(
            base,
            "share",
            period,
            amount,
            t.contract_id,
            term_id,
            t.currency,
            (PAYABLE, t.source_party_id),
            (PAYABLE, t.party_id),
            last_day(period),
        )
    for (contract, party, currency), months in effects.months.items():
        for period, month in months.items():
            amounts = {
                "advance": month.advance_minor,
                "recoupment": month.recouped_minor,
                "reserve_hold": month.reserve_held_minor,
                "reserve_release": month.reserve_released_minor,
            }
            signed = [t.valid_from for t in terms if t.pool == (contract, party, currency) and t.advance_minor]
            for kind, amount in amounts.items():
                base = f"{kind}|{contract}|{party}|{currency}|{period}"
                day = min((d for d in signed if f"{d:%Y-%m}" == period), default=last_day(period))
                wanted[base] = WantedBatch(
                    base,
                    kind,
                    period,
                    amount,
                    contract,
                    None,
                    currency,
                    (KINDS[kind][0], party),
                    (KINDS[kind][1], party),
                    day if kind == "advance" else last_day(period),
                )
    return wanted


def _posted(conn: WarehouseConnection) -> pl.DataFrame:
    """base, kind, for_period, posted (Σ line-1 amounts), revisions, and line 1/2 accounts and parties per family."""
    lines = conn.query(
        f"SELECT {', '.join(CONTRACT_LEDGER.column_names)} FROM {CONTRACT_LEDGER.qualified_name}",
        schema=CONTRACT_LEDGER.polars_schema,
    )
    firsts = lines.filter(pl.col("line_no") == 1).with_columns(base=pl.col("batch_id").str.replace(r"\|r\d+$", ""))
    seconds = lines.filter(pl.col("line_no") == 2).select("batch_id", credit_account="account", credit_party="party_id")
    return (
        firsts.join(seconds, on="batch_id", how="left")
        .sort("revision")
        .group_by("base", maintain_order=True)
        .agg(
            pl.col("batch_kind").first(),
            pl.col("for_period").first(),
            pl.col("contract_id").first(),
            pl.col("term_id").first(),
            pl.col("currency").first(),
            pl.col("account").first(),
            pl.col("party_id").first(),
            pl.col("credit_account").first(),
            pl.col("credit_party").first(),
            pl.col("posted_for").first(),
            posted=pl.col("amount_minor").sum(),
            revisions=pl.col("revision").max(),
        )
    )


@dataclass
class ContractRun:
    """What one `apply_contract_terms` call did."""

    period: str
    batches_posted: list[str] = field(default_factory=list)
    lines_written: int = 0
    balance_minor: dict[str, int] = field(default_factory=dict)
    """Σ of the lines written per currency: 0 when every batch balances."""
    terms_skipped: dict[str, str] = field(default_factory=dict)
    """term_id → why it was not applied (its problems)."""


def _credits(conn: WarehouseConnection, parties: list[str], through: str) -> pl.DataFrame:
    """The royalty ledger's party_payable lines from plays of `parties`, summed per party, currency, day and month."""
    schema = {
        "party_id": pl.Utf8(),
        "currency": pl.Utf8(),
        "posted_for": pl.Date(),
        "accounting_period": pl.Utf8(),
        "amount_minor": pl.Int64(),
    }
    if not parties:
        return pl.DataFrame(schema=schema)
    return conn.query(
        f"SELECT party_id, currency, posted_for, accounting_period, CAST(SUM(amount_minor) AS BIGINT) AS amount_minor "
        f"FROM {LEDGER.qualified_name} WHERE account = ? AND entry_kind IN ('posting', 'reversal') "
        f"AND accounting_period <= ? AND party_id IN ({_marks(parties)}) "
        f"GROUP BY party_id, currency, posted_for, accounting_period",
        [PAYABLE, through, *parties],
        schema,
    )


def _batch_rows(want: WantedBatch, revision: int, amount: int, period: str, at: datetime) -> list[dict[str, object]]:
    common = {
        "batch_id": f"{want.base}|r{revision}",
        "batch_kind": want.kind,
        "revision": revision,
        "contract_id": want.contract_id,
        "term_id": want.term_id,
        "for_period": want.for_period,
        "accounting_period": period,
        "posted_for": want.posted_for,
        "currency": want.currency,
        "reason": REASONS[want.kind] + (f" (correction r{revision})" if revision > 1 else ""),
        "posted_at": at,
    }
    return [
        {**common, "line_no": 1, "account": want.debit[0], "party_id": want.debit[1], "amount_minor": amount},
        {**common, "line_no": 2, "account": want.credit[0], "party_id": want.credit[1], "amount_minor": -amount},
    ]


def apply_contract_terms(db: Warehouse, period: str, posted_at: datetime | None = None) -> ContractRun:
    """Post every month's contract effects up to `period` (YYYY-MM) not yet in the contract ledger; one
    transaction. Idempotent: a second run with the same ledger and terms posts nothing."""
    at = posted_at or datetime.now(UTC)
    if at.tzinfo is not None:  # the ledger stores naive UTC
        at = at.astimezone(UTC).replace(tzinfo=None)
    run = ContractRun(period)
    with db.connect() as conn:
        conn.ensure(LEDGER)
        conn.ensure(CONTRACT_LEDGER)
        terms = []
        for term in read_terms(conn):
            problems = term.problems()
            if problems:
                run.terms_skipped[term.term_id] = "; ".join(problems)
            else:
                terms.append(term)
        parties = sorted({t.party_id for t in terms} | {t.source_party_id for t in terms if t.source_party_id})
        effects = contract_effects(terms, _credits(conn, parties, period), period)
        wanted = wanted_batches(terms, effects)
        posted = {r["base"]: r for r in _posted(conn).iter_rows(named=True)}
        for base, row in posted.items():  # a family no term asks for any more is taken back to zero
            if base not in wanted and row["for_period"] <= period:
                wanted[base] = WantedBatch(
                    base,
                    row["batch_kind"],
                    row["for_period"],
                    0,
                    row["contract_id"],
                    row["term_id"],
                    row["currency"],
                    (row["account"], row["party_id"]),
                    (row["credit_account"], row["credit_party"]),
                    row["posted_for"],
                )
        closed = closed_periods(conn)
        rows: list[dict[str, object]] = []
        for base, want in sorted(wanted.items(), key=lambda kv: (kv[1].for_period, kv[0])):
            seen = posted.get(base)
            delta = want.amount_minor - (int(seen["posted"]) if seen else 0)
            if delta == 0:
                continue
            revision = int(seen["revisions"]) + 1 if seen else 1
            rows += _batch_rows(want, revision, delta, reporting_period(want.for_period, closed), at)
            run.batches_posted.append(f"{base}|r{revision}")
        if rows:
            frame = CONTRACT_LEDGER.from_rows(rows)
            conn.insert(CONTRACT_LEDGER, frame)
            run.lines_written = frame.height
            sums = frame.group_by("currency").agg(pl.col("amount_minor").sum()).sort("currency")
            run.balance_minor = {c: int(a) for c, a in sums.iter_rows()}
    return run


def unbalanced_batches(conn: WarehouseConnection) -> list[str]:
    """Contract ledger batches whose lines do not sum to zero per currency (should be none)."""
    conn.ensure(CONTRACT_LEDGER)
    frame = conn.query(
        f"SELECT batch_id, currency FROM {CONTRACT_LEDGER.qualified_name} GROUP BY batch_id, currency "
        "HAVING SUM(amount_minor) <> 0 ORDER BY batch_id"
    )
    return [f"{b} ({c})" for b, c in frame.iter_rows()]
