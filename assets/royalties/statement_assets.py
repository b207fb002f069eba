"""Royalty adjustments and reporting: disputes of plays, payout requests, and monthly party statements."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    AssetSpec,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
    multi_asset,
)

from assets.common.metadata import table_metadata
from assets.common.partitions import monthly_partitions, range_backfill
from assets.common.paths import DataDirResource
from assets.common.table_specs import table_key, table_spec
from backbeat.airplay.tables import PLAYLOGS
from backbeat.common.quarantine import record_rejects
from backbeat.royalties.disputes import (
    STEPS,
    DisputeEvent,
    dispute_changes,
    disputes_frame,
    events_frame,
    read_events,
    replay,
    step_order_violations,
)
from backbeat.royalties.ledger_chain import require_sound_ledger
from backbeat.royalties.payouts import (
    DEFAULT_MINIMUM,
    PayoutRules,
    decide_payouts,
    payouts_frame,
    post_payouts,
    read_requests,
)
from backbeat.royalties.restatements import queue_restatements
from backbeat.royalties.statements import (
    BALANCE_SCHEMA,
    build_statements,
    carry_forward_breaks,
    movements_add_up,
    next_period,
    periods_between,
    previous_period,
)
from backbeat.royalties.tables import (
    DISPUTE_EVENTS,
    DISPUTES,
    LEDGER,
    PARTY_STATEMENTS,
    PAYOUTS,
    STATEMENT_LINES,
)
from integrations.warehouse import Table, Warehouse, WarehouseResource

LEDGER_KEY = ["royalties", "royalty_ledger"]
STATEMENTS_KEY = ["royalties", "party_statements"]
IN_CHUNK = 1000


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def play_station_days(db: Warehouse, play_ids: list[str]) -> dict[str, tuple[str, date]]:
    """Station and day of each of `play_ids` found in airplay.playlogs."""
    found: dict[str, tuple[str, date]] = {}
    with db.connect() as conn:
        conn.ensure(PLAYLOGS)
        for start in range(0, len(play_ids), IN_CHUNK):
            chunk = play_ids[start : start + IN_CHUNK]
            frame = conn.query(
                f"SELECT play_id, station_id, play_date FROM {PLAYLOGS.qualified_name} "
                f"WHERE play_id IN ({', '.join('?' for _ in chunk)})",
                chunk,
            )
            found.update({p: (s, d) for p, s, d in frame.iter_rows()})
    return found


def replace_tables(
    db: Warehouse, frames: dict[Table, pl.DataFrame], where: str = "", params: list | None = None
) -> None:
    """Replace each table's rows matching `where` (all when empty) with its frame, all in one transaction."""
    with db.connect() as conn:
        for table, frame in frames.items():
            conn.ensure(table)
            conn.execute(f"DELETE FROM {table.qualified_name}" + (f" WHERE {where}" if where else ""), params or [])
            conn.insert(table, frame)


@asset(key=["royalties", "disputes"], deps=[["airplay", "playlogs"]], group_name="royalties", kinds={"csv", "sql"})
def disputes(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per dispute of a play at its current step (`royalties.disputes`), and one row per step taken
    (`royalties.dispute_events`).

    Read from the event files `inbox/royalties/disputes/*.csv` (written by `backbeat royalties dispute ...`).
    Steps go Pending → Verified → Resolving → Review → Resolved (upheld or rejected), in order, each with an
    actor and a timestamp; a step breaking a rule, or for a play not in `airplay.playlogs`, goes to
    `quarantine.rejected_rows`. The station-days of disputes whose step or resolution changed since the last run
    are queued for restatement: the ledger holds an open dispute's credits and does not pay an upheld one.
    """
    db = warehouse.client()
    parsed = read_events(data_dir.inbox / "royalties" / "disputes")
    plays = play_station_days(db, sorted({r["play_id"] for r in parsed.rows}))
    history = replay((DisputeEvent.from_row(r) for r in parsed.rows), plays, parsed.rejects)
    current, events = disputes_frame(history, plays), events_frame(history)
    before = db.read(DISPUTES)
    moved, changed = dispute_changes(before, current)
    # Queue before storing the new states: if storing fails, the next run sees the change again.
    queued = queue_restatements(db, changed, f"dispute stepped: {', '.join(moved)}"[:200])
    replace_tables(db, {DISPUTE_EVENTS: events, DISPUTES: current})
    record_rejects(db, "royalties/disputes", "", history.rejects, context.log.warning)
    by_status = current.group_by("status").len().sort("status")
    return MaterializeResult(
        metadata={
            **table_metadata(
                current,
                events=events.height,
                rejected_rows=len(history.rejects),
                disputes_changed=len(moved),
                station_days_queued=queued,
                open_disputes=current.filter(pl.col("status") != "resolved").height,
            ),
            "by_status": MetadataValue.json({s: n for s, n in by_status.iter_rows()}),
        }
    )


class PayoutConfig(Config):
    """Minimum payout per currency, in major units as text (e.g. {"JPY": "5000"}); others use the default."""

    minimum_payout: dict[str, str] = {}
    default_minimum_payout: str = str(DEFAULT_MINIMUM)

    def rules(self) -> PayoutRules:
        try:
            return PayoutRules(
                {c: Decimal(v) for c, v in self.minimum_payout.items()}, Decimal(self.default_minimum_payout)
            )
        except InvalidOperation:
            raise Failure(
                description=f"minimum payouts must be decimal numbers, got {self.minimum_payout} and "
                f"{self.default_minimum_payout!r}"
            ) from None


PAYABLE_SQL = (
    "SELECT CASE WHEN entry_kind = 'payout' THEN batch_id END AS batch_id, entry_kind, account, party_id, currency, "
    "posted_for, CAST(sum(amount_minor) AS BIGINT) AS amount_minor FROM royalties.royalty_ledger "
    "WHERE account = 'party_payable' AND party_id IS NOT NULL "
    "GROUP BY CASE WHEN entry_kind = 'payout' THEN batch_id END, entry_kind, account, party_id, currency, posted_for"
)
PAYABLE_SCHEMA = {
    "batch_id": pl.Utf8(),
    "entry_kind": pl.Utf8(),
    "account": pl.Utf8(),
    "party_id": pl.Utf8(),
    "currency": pl.Utf8(),
    "posted_for": pl.Date(),
    "amount_minor": pl.Int64(),
}


@asset(key=["royalties", "payouts"], deps=[LEDGER_KEY], group_name="royalties", kinds={"csv", "sql"})
def payouts(
    context: AssetExecutionContext, config: PayoutConfig, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per payout request and what became of it: requested, approved, rejected (with the reason) or paid.

    Read from `inbox/royalties/payout_requests.csv` (written by `backbeat royalties payout ...`) and checked
    against the ledger as of the request day: the amount must be at least the minimum payout for its currency
    and at most what the party is owed, in a currency the party is owed in. An approved request with a paid_on
    day posts batch `payout|{payout_id}` to `royalties.royalty_ledger` (debit party_payable, credit cash), once.
    """
    db = warehouse.client()
    requests, rejects = read_requests(data_dir.inbox / "royalties" / "payout_requests.csv")
    db.ensure(LEDGER)
    ledger = db.query(PAYABLE_SQL, schema=PAYABLE_SCHEMA)
    decisions = decide_payouts(requests, ledger, config.rules())
    posted = post_payouts(db, decisions, _now())
    frame = payouts_frame(decisions)
    db.replace(PAYOUTS, frame)
    record_rejects(db, "royalties/payouts", "", rejects, context.log.warning)
    by_status = frame.group_by("status").len().sort("status")
    paid = frame.filter(pl.col("status") == "paid").group_by("currency").agg(pl.col("amount_minor").sum())
    return MaterializeResult(
        metadata={
            **table_metadata(frame, rejected_rows=len(rejects), batches_posted=len(posted)),
            "by_status": MetadataValue.json({s: n for s, n in by_status.iter_rows()}),
            "paid_minor_by_currency": MetadataValue.json({c: int(a) for c, a in paid.iter_rows()}),
        }
    )


def statement_periods(context: AssetExecutionContext | AssetCheckExecutionContext) -> list[str]:
    """The months (YYYY-MM) of the run's partition window: one for a normal run, several for a range backfill."""
    window = context.partition_time_window
    return periods_between(window.start, window.end)


BALANCES_SQL = (
    "SELECT party_id, currency, "
    "CAST(-sum(CASE WHEN account = 'party_payable' THEN amount_minor ELSE 0 END) AS BIGINT) AS payable_minor, "
    "CAST(-sum(CASE WHEN account = 'hold' THEN amount_minor ELSE 0 END) AS BIGINT) AS hold_minor "
    "FROM royalties.royalty_ledger WHERE account IN ('party_payable', 'hold') AND party_id IS NOT NULL "
    "AND accounting_period < ? GROUP BY party_id, currency"
)


@multi_asset(
    name="royalties__party_statements",
    partitions_def=monthly_partitions,
    backfill_policy=range_backfill,
    specs=[
        AssetSpec(STATEMENTS_KEY, deps=[LEDGER_KEY, payouts], group_name="royalties", kinds={"sql", "polars"}),
        table_spec(
            STATEMENT_LINES, "royalties", "royalties/party_statements", {"sql", "polars"}, deps=[LEDGER_KEY, payouts]
        ),
    ],
)
def party_statements(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    """One row per party, month and currency (`royalties.party_statements`): opening balance, earnings,
    adjustments, payouts, closing balance and credits held for disputed plays; and the detail
    (`royalties.statement_lines`), one row per party, month, line type, recording and station with its plays.

    Computed from `royalties.royalty_ledger` by accounting period: earnings are first postings of plays,
    adjustments are reversals and corrected revisions, payouts are payout batches. Amounts are owed to the
    party (positive), in integer minor units. Re-running a month replaces exactly that month.
    """
    db = warehouse.client()
    require_sound_ledger(db)  # statements are money: never built from a ledger that fails verification
    frames, details = [], []
    for period in statement_periods(context):
        before = db.query(BALANCES_SQL, [period], schema=BALANCE_SCHEMA)
        lines = db.read(LEDGER, "accounting_period = ? AND account IN ('party_payable', 'hold')", [period])
        result = build_statements(period, lines, before)
        replace_tables(db, {PARTY_STATEMENTS: result.statements, STATEMENT_LINES: result.lines}, "period = ?", [period])
        frames.append(result.statements)
        details.append(result.lines)
    statements = PARTY_STATEMENTS.concat(frames)
    closing = statements.group_by("currency").agg(pl.col("closing_minor", "held_minor").sum()).sort("currency")
    yield MaterializeResult(
        asset_key=STATEMENTS_KEY,
        metadata={
            **table_metadata(
                statements,
                statement_lines=sum(d.height for d in details),
                periods=", ".join(statement_periods(context)),
            ),
            "closing_minor_by_currency": MetadataValue.json({c: int(v) for c, v, _ in closing.iter_rows()}),
            "held_minor_by_currency": MetadataValue.json({c: int(h) for c, _, h in closing.iter_rows()}),
        },
    )
    yield MaterializeResult(
        asset_key=table_key(STATEMENT_LINES),
        metadata=table_metadata(STATEMENT_LINES.concat(details), periods=", ".join(statement_periods(context))),
    )


# ---- Checks ----------------------------------------------------------------------------------------------


@asset_check(
    asset=disputes,
    description="Every dispute's steps follow Pending → Verified → Resolving → Review → "
    "Resolved without skipping, in time order, with a resolution only on the resolved step.",
)
def disputes_follow_step_order(warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    events = db.read(DISPUTE_EVENTS)
    problems = step_order_violations(events)
    current = db.read(DISPUTES)
    rank = {s: i for i, s in enumerate(STEPS)}
    last = events.group_by("dispute_id").agg(
        pl.col("status").sort_by(pl.col("status").replace_strict(rank, return_dtype=pl.Int64)).last()
    )
    mismatched = current.join(last, on="dispute_id", how="left").filter(
        pl.col("status_right").is_null() | (pl.col("status") != pl.col("status_right"))
    )
    problems += [f"{d}: current step is not its latest event" for d in mismatched["dispute_id"].to_list()]
    return AssetCheckResult(
        passed=not problems,
        metadata={
            "disputes": current.height,
            "events": events.height,
            "violations": len(problems),
            "examples": MetadataValue.md("\n".join(f"- {p}" for p in problems[:20]) or "_none_"),
        },
    )


@asset_check(
    asset=payouts,
    description="Every paid payout has exactly one payout batch in the ledger, debiting the "
    "party's payable by its amount and balancing to zero; no payout batch lacks a paid request.",
)
def paid_payouts_are_posted_once(warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    db.ensure(LEDGER)
    paid = db.read(PAYOUTS, "status = 'paid'")
    batches = db.query(
        "SELECT batch_id, CAST(sum(amount_minor) AS BIGINT) AS balance, "
        "CAST(sum(CASE WHEN account = 'party_payable' THEN amount_minor ELSE 0 END) AS BIGINT) AS debit, "
        "count(*) AS lines FROM royalties.royalty_ledger WHERE entry_kind = 'payout' GROUP BY batch_id",
        schema={"batch_id": pl.Utf8(), "balance": pl.Int64(), "debit": pl.Int64(), "lines": pl.Int64()},
    )
    joined = paid.join(batches, on="batch_id", how="full", coalesce=True)
    unposted = joined.filter(pl.col("debit").is_null()).height
    orphan = joined.filter(pl.col("payout_id").is_null()).height
    wrong = joined.filter(
        pl.col("debit").is_not_null()
        & pl.col("payout_id").is_not_null()
        & ((pl.col("balance") != 0) | (pl.col("debit") != pl.col("amount_minor")) | (pl.col("lines") != 2))
    ).height
    return AssetCheckResult(
        passed=unposted == orphan == wrong == 0,
        metadata={
            "paid_payouts": paid.height,
            "payout_batches": batches.height,
            "paid_but_not_posted": unposted,
            "batches_without_paid_request": orphan,
            "batches_wrong_or_unbalanced": wrong,
        },
    )


@asset_check(
    asset=STATEMENTS_KEY,
    partitions_def=monthly_partitions,
    description="Each statement's closing balance is its opening plus earnings, adjustments and payouts, "
    "and its detail lines sum to those totals.",
)
def party_statements_add_up(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    periods = statement_periods(context)
    marks = ", ".join("?" for _ in periods)
    statements = db.read(PARTY_STATEMENTS, f"period IN ({marks})", periods)
    lines = db.read(STATEMENT_LINES, f"period IN ({marks})", periods)
    problems = movements_add_up(statements, lines)
    return AssetCheckResult(
        passed=not problems,
        metadata={
            "statements": statements.height,
            "lines": lines.height,
            "problems": len(problems),
            "examples": MetadataValue.md("\n".join(f"- {p}" for p in problems[:20]) or "_none_"),
        },
    )


@asset_check(
    asset=STATEMENTS_KEY,
    partitions_def=monthly_partitions,
    description="A party's closing balance of a month equals its opening balance of the next month, "
    "wherever both statements exist.",
)
def party_statements_carry_forward(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    periods = statement_periods(context)
    around = sorted({previous_period(periods[0]), *periods, next_period(periods[-1])})
    statements = warehouse.client().read(PARTY_STATEMENTS, f"period IN ({', '.join('?' for _ in around)})", around)
    breaks = carry_forward_breaks(statements)
    return AssetCheckResult(
        passed=not breaks,
        metadata={
            "periods_compared": ", ".join(sorted(set(statements["period"].to_list()))),
            "breaks": len(breaks),
            "examples": MetadataValue.md("\n".join(f"- {b}" for b in breaks[:20]) or "_none_"),
        },
    )


STATEMENT_ASSETS = [disputes, payouts, party_statements]
STATEMENT_CHECKS = [
    disputes_follow_step_order,
    paid_payouts_are_posted_once,
    party_statements_add_up,
    party_statements_carry_forward,
]
