"""Closing a month: statements become final, later corrections land in the open month, reopening is audited.

`close_period` freezes a month: every party's statement document (names, balances, earnings by track and
station, adjustments, payouts) is stored in `royalties.frozen_statements` and the month's rows of
`royalties.party_statements` turn `final`. From then on the month's statements are read from the frozen
documents, so they never change. The ledger stays append-only and every batch still sums to zero: a correction
booked later (a restatement, a dispute upheld, a split changed) is reported in the first open month as an
adjustment that names the month of the plays it corrects (`reporting_period`).

Closed months form a prefix of the months that have ledger lines: a month can be closed once it is over and
every earlier month with lines is closed; only the latest closed month can be reopened, with a reason, and
reopening and closing again freezes a new version. Every close and reopen is a row of `royalties.period_events`
(who, when, why). No Dagster here: the `backbeat royalties period` commands and the statements use it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl

from backbeat.royalties.statement_people import StatementDocument, documents_from_statements
from backbeat.royalties.statements import (
    FINAL,
    PROVISIONAL,
    Statements,
    next_period,
    previous_period,
    statements_in,
)
from backbeat.royalties.tables import (
    FROZEN_STATEMENTS,
    LEDGER,
    PARTY_STATEMENTS,
    PERIOD_EVENTS,
    PERIODS,
    STATEMENT_LINES,
)
from integrations.warehouse import Warehouse, WarehouseConnection

PERIOD_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    """A close or reopen that the rules refuse; the message says why."""


@dataclass(frozen=True)
class PeriodState:
    """A month's state: closed or open, who closed (or reopened) it and when, and its frozen version."""

    period: str
    status: str
    version: int = 0
    closed_by: str | None = None
    closed_at: datetime | None = None
    reopened_by: str | None = None
    reopened_at: datetime | None = None
    reopen_reason: str | None = None
    statements_sha256: str | None = None

    @property
    def closed(self) -> bool:
        return self.status == "closed"


@dataclass(frozen=True)
class CloseResult:
    """What `close_period` froze."""

    state: PeriodState
    documents: list[StatementDocument]


def check_period(period: str) -> str:
    """`period` if it is a month written YYYY-MM, else PeriodError."""
    if not PERIOD_PATTERN.match(period):
        raise PeriodError(f"{period!r} is not a month written YYYY-MM")
    return period


def month_start(period: str) -> date:
    """The first day of `period`."""
    year, month = (int(x) for x in check_period(period).split("-"))
    return date(year, month, 1)


def _now(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at


def _ensure(conn: WarehouseConnection) -> None:
    for table in (LEDGER, PERIODS, PERIOD_EVENTS, FROZEN_STATEMENTS, PARTY_STATEMENTS, STATEMENT_LINES):
        conn.ensure(table)


def period_states(conn: WarehouseConnection) -> dict[str, PeriodState]:
    """Every month that has ever been closed, by month (a month absent here is open and was never closed)."""
    conn.ensure(PERIODS)
    frame = conn.query(f"SELECT {', '.join(PERIODS.column_names)} FROM {PERIODS.qualified_name}")
    return {r["period"]: PeriodState(**r) for r in frame.iter_rows(named=True)}


def closed_periods(conn: WarehouseConnection) -> set[str]:
    """The months closed now."""
    return {p for p, s in period_states(conn).items() if s.closed}


def reporting_period(period: str, closed: Collection[str]) -> str:
    """The month a line about `period` is reported in: `period` itself while it is open, else the month after
    the latest closed one (closed months are a prefix, so that is the first open month after `period`)."""
    if period not in closed:
        return period
    return max(period, next_period(max(closed)))


def reporting_period_expr(period: pl.Expr, closed: Collection[str]) -> pl.Expr:
    """`reporting_period` over a column of months (YYYY-MM strings compare in time order)."""
    if not closed:
        return period
    first_open = next_period(max(closed))
    return pl.when(period.is_in(sorted(closed))).then(pl.max_horizontal(period, pl.lit(first_open))).otherwise(period)


def is_final(conn: WarehouseConnection, period: str) -> bool:
    """Whether `period`'s statements are final (the month is closed)."""
    state = period_states(conn).get(period)
    return state is not None and state.closed


def _ledger_periods(conn: WarehouseConnection) -> list[str]:
    frame = conn.query(f"SELECT DISTINCT accounting_period FROM {LEDGER.qualified_name} ORDER BY 1")
    return [p for (p,) in frame.iter_rows() if p is not None]


def late_lines(conn: WarehouseConnection, period: str) -> int:
    """Ledger lines reported in the closed `period` but posted after its close: they should have been reported
    in the open month (`reporting_period`). Zero while the ledger honours closes."""
    state = period_states(conn).get(period)
    if state is None or not state.closed or state.closed_at is None:
        return 0
    return int(
        conn.scalar(
            f"SELECT count(*) FROM {LEDGER.qualified_name} WHERE accounting_period = ? AND posted_at > ?",
            [period, state.closed_at],
        )
    )


def _next_seq(conn: WarehouseConnection, period: str) -> int:
    return int(
        conn.scalar(f"SELECT coalesce(max(seq), 0) FROM {PERIOD_EVENTS.qualified_name} WHERE period = ?", [period])
    )


def _event(conn: WarehouseConnection, period: str, action: str, actor: str, at: datetime, **extra: object) -> None:
    row = {
        "period": period,
        "seq": _next_seq(conn, period) + 1,
        "action": action,
        "actor": actor,
        "acted_at": at,
        "reason": None,
        "statements_sha256": None,
    }
    conn.insert(PERIOD_EVENTS, PERIOD_EVENTS.from_rows([{**row, **extra}]))


def _save_state(conn: WarehouseConnection, state: PeriodState) -> None:
    conn.execute(f"DELETE FROM {PERIODS.qualified_name} WHERE period = ?", [state.period])
    conn.insert(PERIODS, PERIODS.from_rows([vars(state)]))


def frozen_documents(
    conn: WarehouseConnection, period: str, party_id: str | None = None, version: int | None = None
) -> list[StatementDocument]:
    """The statement documents frozen by the latest close of `period` (or by close `version`)."""
    conn.ensure(FROZEN_STATEMENTS)
    if version is None:
        state = period_states(conn).get(period)
        if state is None:
            return []
        version = state.version
    where, params = "period = ? AND version = ?", [period, version]
    if party_id is not None:
        where, params = where + " AND party_id = ?", [*params, party_id]
    frame = conn.query(
        f"SELECT document FROM {FROZEN_STATEMENTS.qualified_name} WHERE {where} ORDER BY party_id, currency", params
    )
    return [StatementDocument.from_json(d) for (d,) in frame.iter_rows()]


def statements_sha256(documents: list[StatementDocument]) -> str:
    """sha256 over the documents' JSON in (party, currency) order: what a close froze, in one value."""
    digest = hashlib.sha256()
    for document in sorted(documents, key=lambda d: (d.party_id, d.currency)):
        digest.update(document.to_json().encode("utf-8") + b"\n")
    return digest.hexdigest()


def close_period(db: Warehouse, period: str, by: str, at: datetime | None = None) -> CloseResult:
    """Close `period` as `by` at `at` (naive UTC; default now): freeze its statements, mark them final, audit it.

    Refused when the month is not over at `at`, is already closed, an earlier month with ledger lines is still
    open, or its openings differ from the previous closed month's frozen closings (the ledger changed a closed
    month). All in one transaction.
    """
    check_period(period)
    by = by.strip()
    if not by:
        raise PeriodError("say who closes the month (--by)")
    at = _now(at)
    if at.date() < month_start(next_period(period)):
        raise PeriodError(f"{period} is not over yet ({at:%Y-%m-%d %H:%M} UTC): a month closes after its last day")
    with db.connect() as conn:
        _ensure(conn)
        states = period_states(conn)
        previous_state = states.get(period)
        if previous_state is not None and previous_state.closed:
            raise PeriodError(
                f"{period} is already closed (by {previous_state.closed_by} at {previous_state.closed_at})"
            )
        closed = {p for p, s in states.items() if s.closed}
        still_open = [p for p in _ledger_periods(conn) if p < period and p not in closed]
        if still_open:
            raise PeriodError(f"close the earlier months first: {', '.join(still_open)} still open")
        statements = statements_in(conn, period, FINAL)
        _refuse_carry_forward_breaks(conn, period, statements.statements, states)
        documents = documents_from_statements(conn, period, statements, FINAL, by, at)
        version = (previous_state.version if previous_state else 0) + 1
        sha = statements_sha256(documents)
        conn.execute(f"DELETE FROM {PARTY_STATEMENTS.qualified_name} WHERE period = ?", [period])
        conn.execute(f"DELETE FROM {STATEMENT_LINES.qualified_name} WHERE period = ?", [period])
        conn.insert(PARTY_STATEMENTS, statements.statements)
        conn.insert(STATEMENT_LINES, statements.lines)
        conn.insert(
            FROZEN_STATEMENTS,
            FROZEN_STATEMENTS.from_rows(
                [
                    {
                        "period": period,
                        "version": version,
                        "party_id": d.party_id,
                        "currency": d.currency,
                        "document": d.to_json(),
                        "document_sha256": hashlib.sha256(d.to_json().encode("utf-8")).hexdigest(),
                        "frozen_at": at,
                    }
                    for d in documents
                ]
            ),
        )
        _event(conn, period, "close", by, at, statements_sha256=sha)
        state = PeriodState(
            period,
            "closed",
            version,
            by,
            at,
            previous_state.reopened_by if previous_state else None,
            previous_state.reopened_at if previous_state else None,
            previous_state.reopen_reason if previous_state else None,
            sha,
        )
        _save_state(conn, state)
    return CloseResult(state, documents)


def _refuse_carry_forward_breaks(
    conn: WarehouseConnection, period: str, statements: pl.DataFrame, states: dict[str, PeriodState]
) -> None:
    before = previous_period(period)
    if before not in states or not states[before].closed:
        return
    closing = {(d.party_id, d.currency): d.closing_minor for d in frozen_documents(conn, before)}
    opening = {(r["party_id"], r["currency"]): r["opening_minor"] for r in statements.iter_rows(named=True)}
    breaks = [
        f"{party} {currency}: {before} closed at {closing.get((party, currency), 0)}, "
        f"{period} opens at {opening.get((party, currency), 0)}"
        for party, currency in sorted(closing.keys() | opening.keys())
        if closing.get((party, currency), 0) != opening.get((party, currency), 0)
    ]
    if breaks:
        raise PeriodError(
            f"the ledger changed the closed month {before} ({late_lines(conn, before)} lines posted after its "
            f"close); not closing {period}: " + "; ".join(breaks[:5])
        )


def reopen_period(db: Warehouse, period: str, by: str, reason: str, at: datetime | None = None) -> PeriodState:
    """Reopen the closed `period` as `by`, for `reason`: its statements turn provisional again (the frozen
    documents stay, for the record). Only the latest closed month can be reopened; audited."""
    check_period(period)
    by, reason = by.strip(), reason.strip()
    if not by or not reason:
        raise PeriodError("reopening needs who (--by) and why (--reason)")
    at = _now(at)
    with db.connect() as conn:
        _ensure(conn)
        states = period_states(conn)
        state = states.get(period)
        if state is None or not state.closed:
            raise PeriodError(f"{period} is not closed")
        later = sorted(p for p, s in states.items() if s.closed and p > period)
        if later:
            raise PeriodError(f"reopen the later closed months first: {', '.join(later)}")
        _event(conn, period, "reopen", by, at, reason=reason)
        reopened = PeriodState(
            period,
            "open",
            state.version,
            state.closed_by,
            state.closed_at,
            by,
            at,
            reason,
            state.statements_sha256,
        )
        _save_state(conn, reopened)
        conn.execute(f"UPDATE {PARTY_STATEMENTS.qualified_name} SET status = ? WHERE period = ?", [PROVISIONAL, period])
    return reopened


def period_overview(db: Warehouse) -> list[PeriodState]:
    """Every month that has ledger lines or was ever closed, in order: closed ones with who and when, the others
    open (their statements provisional)."""
    with db.connect() as conn:
        _ensure(conn)
        states = period_states(conn)
        months = sorted(set(_ledger_periods(conn)) | set(states))
    return [states.get(p, PeriodState(p, "open")) for p in months]


def period_events(db: Warehouse, period: str | None = None) -> pl.DataFrame:
    """The audit trail of closes and reopenings (of one month, or all), in order."""
    where = ("period = ?", [period]) if period else ("", [])
    return db.read(PERIOD_EVENTS, *where).sort("period", "seq")


def statement_documents(db: Warehouse, period: str, party_id: str | None = None) -> list[StatementDocument]:
    """`period`'s statement documents (every party, or `party_id`'s): as frozen when the month is closed, else
    built from the ledger now and marked provisional."""
    check_period(period)
    with db.connect() as conn:
        _ensure(conn)
        if is_final(conn, period):
            return frozen_documents(conn, period, party_id)
        statements = statements_in(conn, period, PROVISIONAL, party_id)
        return documents_from_statements(conn, period, statements, PROVISIONAL)


def store_statements(db: Warehouse, period: str) -> Statements:
    """Write `period`'s rows of royalties.party_statements and statement_lines from the ledger, marked
    provisional; a closed month is left as its close wrote it (final) and its stored rows are returned."""
    check_period(period)
    with db.connect() as conn:
        _ensure(conn)
        if is_final(conn, period):
            return Statements(
                conn.query(
                    f"SELECT {', '.join(PARTY_STATEMENTS.column_names)} FROM {PARTY_STATEMENTS.qualified_name} "
                    "WHERE period = ?",
                    [period],
                    PARTY_STATEMENTS.polars_schema,
                ),
                conn.query(
                    f"SELECT {', '.join(STATEMENT_LINES.column_names)} FROM {STATEMENT_LINES.qualified_name} "
                    "WHERE period = ?",
                    [period],
                    STATEMENT_LINES.polars_schema,
                ),
            )
        result = statements_in(conn, period, PROVISIONAL)
        conn.execute(f"DELETE FROM {PARTY_STATEMENTS.qualified_name} WHERE period = ?", [period])
        conn.execute(f"DELETE FROM {STATEMENT_LINES.qualified_name} WHERE period = ?", [period])
        conn.insert(PARTY_STATEMENTS, result.statements)
        conn.insert(STATEMENT_LINES, result.lines)
        return result
