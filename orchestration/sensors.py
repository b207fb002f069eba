"""Sensors: new radio chunks start their station-day's chain exactly once; new rights and royalties files
start their assets; queued restatements re-post the station-days they name."""

import hashlib
import json
from collections import defaultdict

from dagster import (
    AddDynamicPartitionsRequest,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from assets.common.partitions import station_day_key, station_partitions
from assets.common.paths import DataDirResource
from backbeat.airplay.landing import ChunkNameError, list_landing, parse_chunk_name
from backbeat.royalties.tables import RESTATEMENT_QUEUE
from integrations.warehouse import WarehouseResource
from orchestration.jobs import ledger_restatement_job, rights_job, royalty_adjustments_job, station_day_job


def new_landing_files(folder, cursor: str | None):
    """Files newer than the cursor's watermark, and the next cursor.

    The cursor is a modification-time watermark plus the names seen at exactly that time, so its size does
    not grow with the folder. Capture writes `*.part` files and renames them, so mtimes only move forward.
    """
    state = json.loads(cursor) if cursor else {"mtime_ns": -1, "names": []}
    seen_at_mark = set(state["names"])
    new = [
        f
        for f in list_landing(folder)
        if f.mtime_ns > state["mtime_ns"] or (f.mtime_ns == state["mtime_ns"] and f.path.name not in seen_at_mark)
    ]
    if not new:
        return [], cursor
    mark = max(state["mtime_ns"], *(f.mtime_ns for f in new))
    names = sorted(
        {f.path.name for f in new if f.mtime_ns == mark} | (seen_at_mark if mark == state["mtime_ns"] else set())
    )
    return new, json.dumps({"mtime_ns": mark, "names": names})


@sensor(job=station_day_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def landing_chunks_sensor(context: SensorEvaluationContext, data_dir: DataDirResource):
    """Watches `data/landing/` for new stream chunks and runs each touched station-day once.

    New stations become station partitions. Files whose names do not say station and time are reported once.
    """
    folder = data_dir.landing
    new, cursor = new_landing_files(folder, context.cursor)
    if not new:
        return SensorResult(skip_reason=f"no new files in {folder}")
    touched: dict[tuple[str, str], list[str]] = defaultdict(list)
    for file in new:
        try:
            chunk = parse_chunk_name(file.path)
        except ChunkNameError as exc:
            context.log.warning(f"landing file ignored: {exc}")
            continue
        # the run key covers names and mtimes: rewritten chunks (a re-generated demo) are new work, not a repeat
        touched[(chunk.station_id, chunk.day.isoformat())].append(f"{file.path.name}@{file.mtime_ns}")
    known = set(context.instance.get_dynamic_partitions(station_partitions.name))
    stations = sorted({station for station, _ in touched} - known)
    requests = [
        RunRequest(
            run_key=f"landing|{day}|{station}|" + hashlib.sha1("\n".join(sorted(names)).encode()).hexdigest()[:16],
            partition_key=station_day_key(station, day),
            tags={"backbeat/new_chunks": str(len(names))},
        )
        for (station, day), names in sorted(touched.items())
    ]
    additions = [AddDynamicPartitionsRequest(station_partitions.name, stations)] if stations else []
    return SensorResult(run_requests=requests, dynamic_partitions_requests=additions, cursor=cursor)


analytics_automation_sensor = AutomationConditionSensorDefinition(
    "analytics_automation_sensor",
    target=AssetSelection.key_prefixes("analytics")
    | AssetSelection.assets(["exports", "staged_finance_export"], ["exports", "finance_export"]),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Rebuilds the dbt marts and the finance export once the station-day runs that feed them finish.",
)


RIGHTS_INBOX = ("split_sheets", "review_decisions", "parties.csv", "contracts.csv")
ROYALTIES_INBOX = ("disputes", "payout_requests.csv")


def inbox_fingerprint(root, entries: tuple[str, ...]) -> str:
    """A short hash of the names, sizes and modification times of the files under `root`/`entries`.

    It changes when any watched file is added, removed or rewritten, and its size does not grow with the folder.
    """
    digest = hashlib.sha256()
    for entry in entries:
        path = root / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] if path.is_file() else []
        for file in files:
            if file.name.startswith(".") or file.suffix == ".part":
                continue
            stat = file.stat()
            digest.update(f"{file.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _inbox_run(context: SensorEvaluationContext, root, entries: tuple[str, ...], label: str):
    fingerprint = inbox_fingerprint(root, entries)
    if fingerprint == context.cursor:
        return SensorResult(skip_reason=f"nothing new in {root}")
    return SensorResult(run_requests=[RunRequest(run_key=f"{label}|{fingerprint}")], cursor=fingerprint)


@sensor(job=rights_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def rights_inbox_sensor(context: SensorEvaluationContext, data_dir: DataDirResource):
    """Watches `inbox/rights/`: a new or changed split sheet, reviewer decision file (written by
    `backbeat rights review approve|reject`), party register or contract list re-runs the rights assets.

    The rights assets queue restatements for the plays whose approved splits changed.
    """
    return _inbox_run(context, data_dir.inbox / "rights", RIGHTS_INBOX, "rights")


@sensor(job=royalty_adjustments_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def royalties_inbox_sensor(context: SensorEvaluationContext, data_dir: DataDirResource):
    """Watches `inbox/royalties/`: new dispute steps (`backbeat royalties dispute ...`) or payout requests
    re-run the disputes and payouts assets.
    """
    return _inbox_run(context, data_dir.inbox / "royalties", ROYALTIES_INBOX, "royalties")


@sensor(job=ledger_restatement_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def ledger_restatement_sensor(context: SensorEvaluationContext, warehouse: WarehouseResource):
    """Turns `royalties.restatement_queue` into ledger runs: one per queued station-day, once per change.

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
    known = set(context.instance.get_dynamic_partitions(station_partitions.name))
    requests, unknown = [], 0
    for station, day, requested_at, reason in queued.iter_rows():
        if station not in known:
            unknown += 1
            continue
        requests.append(
            RunRequest(
                run_key=f"restate|{day}|{station}|{requested_at.isoformat()}",
                partition_key=station_day_key(station, day),
                tags={"backbeat/restatement_reason": (reason or "")[:200]},
            )
        )
    if unknown:
        context.log.warning(f"{unknown} queued station-days name stations that are not registered partitions")
    cursor = max(queued["requested_at"].to_list()).isoformat()
    return SensorResult(run_requests=requests, cursor=cursor)
