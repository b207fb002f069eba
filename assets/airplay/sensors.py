"""Airplay's sensor: new radio chunks start the chain of their day × shard exactly once."""

import hashlib
import json
from collections import defaultdict

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from assets.airplay.jobs import station_day_job
from assets.common.partitions import day_shard_key, stations_tag
from assets.common.paths import DataDirResource
from backbeat.airplay.landing import ChunkNameError, list_landing, parse_chunk_name
from backbeat.airplay.shards import shard_of


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
    """Watches `data/landing/` for new stream chunks and runs each touched day × shard once, for the stations
    with new chunks (`backbeat/stations`). Files whose names do not say station and time are reported once.
    """
    folder = data_dir.landing
    new, cursor = new_landing_files(folder, context.cursor)
    if not new:
        return SensorResult(skip_reason=f"no new files in {folder}")
    touched: dict[tuple[str, str], list[str]] = defaultdict(list)
    stations: dict[tuple[str, str], set[str]] = defaultdict(set)
    for file in new:
        try:
            chunk = parse_chunk_name(file.path)
        except ChunkNameError as exc:
            context.log.warning(f"landing file ignored: {exc}")
            continue
        shard_day = (chunk.day.isoformat(), shard_of(chunk.station_id))
        # the run key covers names and mtimes: rewritten chunks (a re-generated demo) are new work, not a repeat
        touched[shard_day].append(f"{file.path.name}@{file.mtime_ns}")
        stations[shard_day].add(chunk.station_id)
    requests = [
        RunRequest(
            run_key=f"landing|{day}|{shard}|" + hashlib.sha1("\n".join(sorted(names)).encode()).hexdigest()[:16],
            partition_key=day_shard_key(shard, day),
            tags={"backbeat/new_chunks": str(len(names)), **stations_tag(sorted(stations[(day, shard)]))},
        )
        for (day, shard), names in sorted(touched.items())
    ]
    return SensorResult(run_requests=requests, cursor=cursor)
