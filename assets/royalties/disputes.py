"""Disputes of plays: the steps people take (from the royalties inbox), replayed into each dispute's current
state, and the check that they follow the step order."""

import polars as pl
from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult, MetadataValue, asset, asset_check

from assets.common.keys import AIRPLAY_PLAYLOGS, ROYALTIES_DISPUTES
from assets.common.metadata import table_metadata
from assets.common.paths import DataDirResource
from backbeat.common.quarantine import record_rejects
from backbeat.royalties.disputes import (
    STEPS,
    DisputeEvent,
    activity_frame,
    dispute_changes,
    disputes_frame,
    events_frame,
    read_events,
    replay,
    step_order_violations,
)
from backbeat.royalties.restatements import queue_restatements
from backbeat.royalties.store import play_station_days, replace_tables
from backbeat.royalties.tables import DISPUTE_ACTIVITY, DISPUTE_EVENTS, DISPUTES
from integrations.warehouse import WarehouseResource


@asset(key=ROYALTIES_DISPUTES, deps=[AIRPLAY_PLAYLOGS], group_name="royalties", kinds={"csv", "sql"})
def disputes(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per dispute of a play at its current step (`royalties.disputes`), and one row per step taken
    (`royalties.dispute_events`); the audit trail of steps, comments and attachments (content sha256) with actor,
    role and time in `royalties.dispute_activity`.

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
    activity = activity_frame(history)
    replace_tables(db, {DISPUTE_EVENTS: events, DISPUTES: current, DISPUTE_ACTIVITY: activity})
    record_rejects(db, "royalties/disputes", "", history.rejects, context.log.warning)
    by_status = current.group_by("status").len().sort("status")
    return MaterializeResult(
        metadata={
            **table_metadata(
                current,
                events=events.height,
                activity=activity.height,
                attachments=activity.filter(pl.col("evidence_sha256").is_not_null()).height,
                rejected_rows=len(history.rejects),
                disputes_changed=len(moved),
                station_days_queued=queued,
                open_disputes=current.filter(pl.col("status") != "resolved").height,
            ),
            "by_status": MetadataValue.json({s: n for s, n in by_status.iter_rows()}),
        }
    )


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
