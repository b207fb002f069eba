"""Catalog's sensor: `album_queue_sensor` runs `catalog_ingest_job` while work remains (queued albums, ISRCs
MusicBrainz was not asked about yet, or new request files)."""

import hashlib
import json

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from assets.catalog.assets import ALBUM_REQUESTS_DIR
from assets.catalog.jobs import CATALOG_INGEST_JOB, catalog_ingest_job
from assets.common.paths import DataDirResource
from backbeat.catalog.queue import request_files
from backbeat.catalog.tables import ALBUM_QUEUE, MUSICBRAINZ_LOOKUPS, SOURCE_RECORDINGS, TRACKS
from integrations.warehouse import Warehouse, WarehouseResource

_ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


def requests_fingerprint(data_dir: DataDirResource) -> str:
    """A short hash of the request files' names, sizes and modification times."""
    folder = data_dir.inbox.joinpath(*ALBUM_REQUESTS_DIR)
    digest = hashlib.sha256()
    for path in request_files(folder):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def queue_state(db: Warehouse) -> dict[str, object]:
    """Queued albums, all albums, the latest status change, and ISRCs MusicBrainz has not been asked about."""
    db.ensure(ALBUM_QUEUE, SOURCE_RECORDINGS, TRACKS, MUSICBRAINZ_LOOKUPS)
    queue = db.query(
        "SELECT CAST(coalesce(sum(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0) AS BIGINT) AS queued, "
        "CAST(count(*) AS BIGINT) AS albums, CAST(max(updated_at) AS VARCHAR) AS changed FROM catalog.album_queue"
    ).row(0, named=True)
    pending = db.scalar(
        "SELECT CAST(count(*) AS BIGINT) FROM (SELECT isrc FROM catalog.source_recordings "
        "WHERE source = 'spotify' AND isrc IS NOT NULL UNION SELECT isrc FROM catalog.tracks WHERE isrc IS NOT NULL"
        ") s WHERE NOT EXISTS (SELECT 1 FROM catalog.musicbrainz_lookups l WHERE l.isrc = s.isrc)"
    )
    return {
        "queued": int(queue["queued"] or 0),
        "albums": int(queue["albums"] or 0),
        "changed": queue["changed"] or "",
        "pending_isrcs": int(pending or 0),
    }


@sensor(job=catalog_ingest_job, minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING)
def album_queue_sensor(
    context: SensorEvaluationContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> SensorResult:
    """Runs `catalog_ingest_job` while albums are queued (or ISRCs wait for MusicBrainz), and when request files in
    `inbox/catalog/album_requests/` change.

    The run key is the queue's state, so a state is drained once: a run that changes nothing (e.g. Spotify is
    not configured) is not repeated until something changes. One run at a time.
    """
    files = requests_fingerprint(data_dir)
    seen = json.loads(context.cursor) if context.cursor else {}
    state = queue_state(warehouse.client())
    if not state["queued"] and not state["pending_isrcs"] and files == seen.get("files"):
        return SensorResult(skip_reason="no queued albums, no ISRCs waiting and no new request files")
    active = context.instance.get_runs(RunsFilter(job_name=CATALOG_INGEST_JOB, statuses=_ACTIVE), limit=1)
    if active:
        return SensorResult(skip_reason=f"{CATALOG_INGEST_JOB} is already running ({active[0].run_id})")
    key = hashlib.sha256(json.dumps({"files": files, **state}, sort_keys=True).encode()).hexdigest()[:20]
    request = RunRequest(
        run_key=f"catalog-ingest|{key}",
        tags={"backbeat/queued_albums": str(state["queued"]), "backbeat/pending_isrcs": str(state["pending_isrcs"])},
    )
    return SensorResult(run_requests=[request], cursor=json.dumps({"files": files}))
