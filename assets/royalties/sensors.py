"""Royalties' sensors: new dispute steps and payout requests start their assets; queued restatements re-post the
station-days they name, by day × shard."""

from collections import defaultdict
from datetime import datetime

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from assets.common.inbox import inbox_run
from assets.common.partitions import day_shard_key, stations_tag
from assets.common.paths import DataDirResource
from assets.royalties.jobs import ledger_restatement_job, royalty_adjustments_job
from backbeat.airplay.shards import shard_of
from backbeat.royalties.tables import RESTATEMENT_QUEUE
from integrations.warehouse import WarehouseResource

ROYALTIES_INBOX = ("disputes", "payout_requests.csv")


@sensor(job=royalty_adjustments_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def royalties_inbox_sensor(context: SensorEvaluationContext, data_dir: DataDirResource):
    """Watches `inbox/royalties/`: new dispute steps (`backbeat royalties dispute ...`) or payout requests
    re-run the disputes and payouts assets.
    """
    return inbox_run(context, data_dir.inbox / "royalties", ROYALTIES_INBOX, "royalties")


@sensor(job=ledger_restatement_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def ledger_restatement_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    """Turns `royalties.restatement_queue` into ledger runs: one per day × shard with queued station-days, once per
    change, restricted to the queued stations (`backbeat/stations`).

    The cursor is the latest `requested_at` handled. The ledger itself decides whether anything changed:
    a station-day whose payments are the same posts nothing.
    """
    db = warehouse.client()
    db.ensure(RESTATEMENT_QUEUE)
    since = context.cursor or "1970-01-01T00:00:00"
    queued = db.query(
        "SELECT station_id, play_date, max(requested_at) AS requested_at, "
        "string_agg(DISTINCT reason, '; ' ORDER BY reason) AS reason "
        "FROM royalties.restatement_queue WHERE requested_at > CAST(? AS TIMESTAMP) "
        "GROUP BY station_id, play_date ORDER BY station_id, play_date",
        [since],
    )
    if queued.is_empty():
        return SensorResult(skip_reason="no queued restatements")
    grouped: dict[tuple[str, str], list[tuple[str, datetime, str]]] = defaultdict(list)
    for station, day, requested_at, reason in queued.iter_rows():
        grouped[(str(day), shard_of(station))].append((station, requested_at, reason or ""))
    requests = []
    for (day, shard), items in sorted(grouped.items()):
        latest = max(requested_at for _, requested_at, _ in items)
        reasons = sorted({part for _, _, reason in items for part in reason.split("; ") if part})
        requests.append(
            RunRequest(
                run_key=f"restate|{day}|{shard}|{latest.isoformat()}",
                partition_key=day_shard_key(shard, day),
                tags={
                    "backbeat/restatement_reason": "; ".join(reasons)[:200],
                    **stations_tag([station for station, _, _ in items]),
                },
            )
        )
    cursor = max(queued["requested_at"].to_list()).isoformat()
    return SensorResult(run_requests=requests, cursor=cursor)
