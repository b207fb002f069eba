"""Airplay's sensor: new radio chunks start their station-day's chain exactly once."""

import hashlib
import json
from collections import defaultdict

from dagster import (
    AddDynamicPartitionsRequest,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from assets.airplay.jobs import station_day_job
from assets.common.partitions import station_day_key, station_partitions
from assets.common.paths import DataDirResource
from backbeat.airplay.landing import ChunkNameError, list_landing, parse_chunk_name


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
