"""Payout requests: checked against the rules, approved or rejected, and posted to the ledger once paid.

Requests come from `inbox/royalties/payout_requests.csv` (payout_id, party_id, currency, amount, requested_on,
decision, decided_by, paid_on, note). The file is append-only: a later row with the same payout_id records a
decision or a payment for the request of the first row (its party, currency, amount and day must repeat).

Rules, checked as of the request day: the party is owed in the requested currency, the amount is at least the
minimum payout for the currency (default 50.00), and at most what the party is owed then (earned up to that
day, minus the requests before it that were not rejected). A request breaking a rule is rejected with the
reason. An approved request with a `paid_on` day is paid: batch `payout|{payout_id}` debits the party's
payable and credits cash, dated the paid_on day. A batch is posted once and never edited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject
from backbeat.royalties.ledger_chain import WRITTEN_HEADER, append_batches, seal_unsealed
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.periods import closed_periods, reporting_period
from backbeat.royalties.tables import CASH, LEDGER, LEDGER_BATCHES, PAYABLE, PAYOUTS
from integrations.warehouse import Warehouse

DEFAULT_MINIMUM = Decimal("50.00")
DECISIONS = ("approve", "reject")
RULES_ACTOR = "rules"
REQUEST_COLUMNS = (
    "payout_id",
    "party_id",
    "currency",
    "amount",
    "requested_on",
    "decision",
    "decided_by",
    "paid_on",
    "note",
)
PAYOUT_ID = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,79}"


def _decision(value: str) -> str | None:
    value = value.strip().lower()
    if value and value not in DECISIONS:
        raise f.FieldError(f"is not one of {', '.join(DECISIONS)}")
    return value or None


def _optional_date(value: str) -> date | None:
    return f.iso_date(value) if value.strip() else None


REQUEST_FIELDS: dict[str, f.Parser] = {
    "payout_id": f.matching(PAYOUT_ID, "a payout id (letters, digits, . _ : -)"),
    "party_id": f.text,
    "currency": f.matching("|".join(MINOR_UNIT_EXPONENT), "a supported ISO 4217 currency"),
    "amount": f.decimal,
    "requested_on": f.iso_date,
    "decision": _decision,
    "decided_by": f.optional_text,
    "paid_on": _optional_date,
    "note": f.optional_text,
}


def exact_minor_units(amount: Decimal, currency: str) -> int:
    """`amount` (major units) as whole minor units; ValueError if it has more decimals than the currency."""
    scaled = amount.scaleb(MINOR_UNIT_EXPONENT[currency])
    if scaled != scaled.to_integral_value():
        raise ValueError(f"has more decimal places than {currency} allows ({MINOR_UNIT_EXPONENT[currency]})")
    return int(scaled)


def batch_id_of(payout_id: str) -> str:
    return f"payout|{payout_id}"


@dataclass(frozen=True)
class PayoutRequest:
    """A request and what has been recorded about it so far."""

    payout_id: str
    party_id: str
    currency: str
    amount_minor: int
    requested_on: date
    decision: str | None = None
    decided_by: str | None = None
    paid_on: date | None = None
    note: str | None = None
    source_file: str = ""
    source_row: int | None = None


def _row_problem(request: PayoutRequest) -> tuple[str, str, str] | None:
    """(field, value, reason) of the first inconsistency in a request's recorded state, or None."""
    if request.amount_minor <= 0:
        return "amount", str(request.amount_minor), "amount must be positive"
    if request.decision and not request.decided_by:
        return "decided_by", "", f"a decision ({request.decision}) needs decided_by"
    if request.paid_on is not None:
        if request.decision != "approve":
            return "paid_on", str(request.paid_on), "only an approved request can be paid"
        if request.paid_on < request.requested_on:
            return "paid_on", str(request.paid_on), f"paid before it was requested ({request.requested_on})"
    return None


def merge_request_rows(
    rows: list[dict], rejects: list[Reject] | None = None
) -> tuple[list[PayoutRequest], list[Reject]]:
    """Fold the file's rows into one PayoutRequest per payout_id, in first-seen order.

    The first row of an id is the request; later rows may add a decision, decided_by, paid_on or note, but
    must repeat its party, currency, amount and day and cannot change a decision or payment already recorded.
    """
    rejects = list(rejects or [])
    merged: dict[str, PayoutRequest] = {}
    for row in rows:
        where = (row["_source_file"], row["_row"])
        try:
            amount_minor = exact_minor_units(row["amount"], row["currency"])
        except ValueError as exc:
            rejects.append(Reject(*where, "amount", str(row["amount"]), f"amount {exc}"))
            continue
        seen = merged.get(row["payout_id"])
        if seen is None:
            candidate = PayoutRequest(
                row["payout_id"],
                row["party_id"],
                row["currency"],
                amount_minor,
                row["requested_on"],
                row["decision"],
                row["decided_by"],
                row["paid_on"],
                row["note"],
                *where,
            )
        else:
            problem = _update_problem(seen, row, amount_minor)
            if problem:
                rejects.append(Reject(*where, *problem))
                continue
            candidate = replace(
                seen,
                decision=row["decision"] or seen.decision,
                decided_by=row["decided_by"] or seen.decided_by,
                paid_on=row["paid_on"] or seen.paid_on,
                note=row["note"] or seen.note,
            )
        problem = _row_problem(candidate)
        if problem:
            rejects.append(Reject(*where, *problem))
            continue
        merged[row["payout_id"]] = candidate
    return list(merged.values()), rejects


def _update_problem(seen: PayoutRequest, row: dict, amount_minor: int) -> tuple[str, str, str] | None:
    first = f"row {seen.source_row}"
    for name, old, new in (
        ("party_id", seen.party_id, row["party_id"]),
        ("currency", seen.currency, row["currency"]),
        ("amount", seen.amount_minor, amount_minor),
        ("requested_on", seen.requested_on, row["requested_on"]),
    ):
        if old != new:
            return name, str(row["amount"] if name == "amount" else new), f"{name} differs from the request ({first})"
    if row["decision"] and seen.decision and row["decision"] != seen.decision:
        return "decision", row["decision"], f"already decided: {seen.decision} by {seen.decided_by}"
    if row["paid_on"] and seen.paid_on and row["paid_on"] != seen.paid_on:
        return "paid_on", str(row["paid_on"]), f"already paid on {seen.paid_on}"
    return None


def read_requests(path: Path) -> tuple[list[PayoutRequest], list[Reject]]:
    """The requests of `path` (absent file: none), and the rows rejected on the way."""
    if not path.exists():
        return [], []
    parsed = f.read_csv(path, REQUEST_FIELDS)
    return merge_request_rows(parsed.rows, parsed.rejects)


@dataclass(frozen=True)
class PayoutRules:
    """Minimum payout per currency in major units (e.g. {"JPY": Decimal("5000")}); others use the default."""

    minimum: Mapping[str, Decimal] = field(default_factory=dict)
    default_minimum: Decimal = DEFAULT_MINIMUM

    def minimum_minor(self, currency: str) -> int:
        return exact_minor_units(self.minimum.get(currency, self.default_minimum), currency)


@dataclass(frozen=True)
class PayoutDecision:
    """What became of a request: status (requested, approved, rejected, paid), why, and its ledger batch."""

    request: PayoutRequest
    status: str
    decided_by: str | None
    note: str | None
    batch_id: str | None = None
    amount_minor: int | None = None
    to_post: bool = False


def payable_lines(ledger: pl.DataFrame) -> pl.DataFrame:
    """The party_payable lines of `ledger` (batch_id, entry_kind, party_id, currency, posted_for, amount_minor)."""
    return ledger.filter((pl.col("account") == PAYABLE) & pl.col("party_id").is_not_null()).select(
        "batch_id", "entry_kind", "party_id", "currency", "posted_for", "amount_minor"
    )


def decide_payouts(
    requests: list[PayoutRequest], ledger: pl.DataFrame, rules: PayoutRules | None = None
) -> list[PayoutDecision]:
    """Each request's status, in request order (day, then file order).

    `ledger` holds party_payable lines (at least batch_id, entry_kind, account, party_id, currency, posted_for,
    amount_minor; lines may be pre-summed per batch and day). A request whose batch is already in the ledger is
    paid whatever the rules say now: the ledger is the record and is never edited.
    """
    rules = rules or PayoutRules()
    payable = payable_lines(ledger)
    earned = payable.filter(pl.col("entry_kind") != "payout")
    paid_batches = {
        r["batch_id"]: r
        for r in payable.filter(pl.col("entry_kind") == "payout")
        .group_by("batch_id")
        .agg(
            pl.col("party_id").first(),
            pl.col("currency").first(),
            pl.col("posted_for").min(),
            pl.col("amount_minor").sum(),
        )
        .iter_rows(named=True)
    }
    known_batches = {batch_id_of(r.payout_id) for r in requests}
    # Payouts in the ledger that no request in the file explains still reduce what is owed.
    foreign = [b for batch_id, b in paid_batches.items() if batch_id not in known_batches]
    reserved: dict[tuple[str, str], int] = {}
    decisions = []
    for request in sorted(requests, key=lambda r: r.requested_on):
        key = (request.party_id, request.currency)
        batch_id = batch_id_of(request.payout_id)
        if batch_id in paid_batches:
            paid = paid_batches[batch_id]
            amount = int(paid["amount_minor"])
            note = request.note
            if amount != request.amount_minor:
                note = f"ledger paid {amount} minor units, the request says {request.amount_minor}"
            decisions.append(
                PayoutDecision(
                    replace(request, paid_on=request.paid_on or paid["posted_for"]),
                    "paid",
                    request.decided_by,
                    note,
                    batch_id,
                    amount,
                )
            )
            reserved[key] = reserved.get(key, 0) + amount
            continue
        if request.decision == "reject":
            decisions.append(PayoutDecision(request, "rejected", request.decided_by, request.note))
            continue
        problems = _rule_problems(request, earned, foreign, reserved.get(key, 0), rules)
        if problems:
            decisions.append(PayoutDecision(request, "rejected", RULES_ACTOR, "; ".join(problems)))
            continue
        reserved[key] = reserved.get(key, 0) + request.amount_minor
        if request.decision == "approve" and request.paid_on is not None:
            decisions.append(
                PayoutDecision(
                    request, "paid", request.decided_by, request.note, batch_id, request.amount_minor, to_post=True
                )
            )
        elif request.decision == "approve":
            decisions.append(PayoutDecision(request, "approved", request.decided_by, request.note))
        else:
            decisions.append(PayoutDecision(request, "requested", None, request.note))
    return decisions


def _rule_problems(
    request: PayoutRequest, earned: pl.DataFrame, foreign: list[dict], reserved: int, rules: PayoutRules
) -> list[str]:
    party = earned.filter(pl.col("party_id") == request.party_id)
    currencies = sorted(set(party["currency"].to_list()))
    if request.currency not in currencies:
        owed_in = f"is owed in {', '.join(currencies)}" if currencies else "is owed nothing"
        return [f"currency {request.currency} does not match: party {request.party_id} {owed_in}"]
    problems = []
    minimum = rules.minimum_minor(request.currency)
    if request.amount_minor < minimum:
        problems.append(f"below the minimum payout of {minimum} minor units ({request.currency})")
    owed = -int(
        party.filter((pl.col("currency") == request.currency) & (pl.col("posted_for") <= request.requested_on))[
            "amount_minor"
        ].sum()
    )
    paid_elsewhere = sum(
        int(b["amount_minor"])
        for b in foreign
        if b["party_id"] == request.party_id
        and b["currency"] == request.currency
        and b["posted_for"] <= request.requested_on
    )
    available = owed - paid_elsewhere - reserved
    if request.amount_minor > available:
        problems.append(
            f"exceeds the balance owed on {request.requested_on}: {available} minor units ({request.currency})"
        )
    return problems


def payouts_frame(decisions: list[PayoutDecision]) -> pl.DataFrame:
    """royalties.payouts rows, one per request."""
    return PAYOUTS.from_rows(
        [
            {
                "payout_id": d.request.payout_id,
                "party_id": d.request.party_id,
                "currency": d.request.currency,
                "amount_minor": d.amount_minor if d.amount_minor is not None else d.request.amount_minor,
                "requested_on": d.request.requested_on,
                "status": d.status,
                "decided_by": d.decided_by,
                "note": d.note,
                "paid_on": d.request.paid_on if d.status == "paid" else None,
                "batch_id": d.batch_id,
            }
            for d in sorted(decisions, key=lambda d: d.request.payout_id)
        ]
    )


def payout_batch(
    decision: PayoutDecision, posted_at: datetime, closed: Collection[str] = ()
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ledger lines (debit party_payable, credit cash) and the ledger_batches row of a paid payout, reported
    in its month, or in the first open month when that one is closed (`closed`)."""
    request, amount = decision.request, decision.amount_minor or decision.request.amount_minor
    paid_on = request.paid_on
    assert paid_on is not None and decision.batch_id is not None, "only paid payouts are posted"
    period = reporting_period(f"{paid_on:%Y-%m}", closed)
    common = {
        "batch_id": decision.batch_id,
        "entry_kind": "payout",
        "posted_for": paid_on,
        "accounting_period": period,
        "station_id": None,
        "play_id": None,
        "recording_id": None,
        "party_id": request.party_id,
        "currency": request.currency,
        "tariff_id": None,
        "posted_at": posted_at,
    }
    lines = LEDGER.from_rows(
        [
            {**common, "line_no": 1, "account": PAYABLE, "amount_minor": amount},
            {**common, "line_no": 2, "account": CASH, "amount_minor": -amount},
        ]
    )
    basis = f"{request.payout_id}|{request.party_id}|{request.currency}|{amount}|{paid_on}"
    batch = pl.DataFrame(
        [
            {
                "batch_id": decision.batch_id,
                "batch_kind": "payout",
                "station_id": None,
                "posted_for": paid_on,
                "accounting_period": period,
                "tariff_id": None,
                "revision": 1,
                "basis_hash": hashlib.sha256(basis.encode()).hexdigest()[:16],
                "reverses_batch_id": None,
                "reason": f"payout {request.payout_id} approved by {decision.decided_by}",
                "lines": 2,
                "debit_minor": amount,
                "currency": request.currency,
                "posted_at": posted_at,
            }
        ],
        schema=WRITTEN_HEADER,
    )
    return lines, batch


def post_payouts(db: Warehouse, decisions: list[PayoutDecision], posted_at: datetime) -> list[str]:
    """Append the batches of paid payouts not yet in the ledger, in one transaction; returns the batch ids posted.

    A batch already in the ledger is left alone, so re-running posts nothing twice.
    """
    due = [d for d in decisions if d.to_post]
    if not due:
        return []
    if posted_at.tzinfo is not None:  # the ledger stores naive UTC
        posted_at = posted_at.astimezone(UTC).replace(tzinfo=None)
    with db.connect() as conn:
        conn.ensure(LEDGER)
        seal_unsealed(conn)
        ids = [d.batch_id for d in due]
        marks = ", ".join("?" for _ in ids)
        existing = (
            set(
                conn.query(f"SELECT DISTINCT batch_id FROM {LEDGER.qualified_name} WHERE batch_id IN ({marks})", ids)[
                    "batch_id"
                ].to_list()
            )
            if ids
            else set()
        )
        existing |= set(
            conn.query(f"SELECT batch_id FROM {LEDGER_BATCHES.qualified_name} WHERE batch_id IN ({marks})", ids)[
                "batch_id"
            ].to_list()
        )
        posted, line_frames, batch_frames = [], [], []
        closed = closed_periods(conn)
        for decision in due:
            if decision.batch_id in existing:
                continue
            lines, batch = payout_batch(decision, posted_at, closed)
            line_frames.append(lines)
            batch_frames.append(batch)
            posted.append(decision.batch_id)
        if batch_frames:
            append_batches(conn, pl.concat(batch_frames), LEDGER.concat(line_frames))
    return posted
