"""Curation's schedules, on the documented UTC cadence (the jobs: `assets/curation/jobs.py`).

| when (UTC) | job | does |
|---|---|---|
| every 30 min | `curation_token_refresh_job` | refreshes each connected account's access token (encrypted at rest) |
| 02:00 | `curation_plan_job` | today's `curation/playlist_plan`: P*, capacity, floor, assignments |
| 03:00 | `curation_ingest_job` | catalog ingest: catalog files, album queue → Spotify recordings → MusicBrainz |
| 03:30 | `curation_enrich_job` | audio features (tempo, key, energy) and entity resolution |
| 04:00 | `curation_snapshots_job` | today's `curation/playlist_snapshots` |
| 04:10 | `curation_sync_job` | today's `curation/playlist_sync` (skipped while today's snapshots are missing) |

`curation_day_job` (plan → snapshots → sync for one day) is for backfills and the demo. `assets/curation/__init__.py`
registers `CURATION_JOBS` and `CURATION_SCHEDULES` in curation's `defs`.
"""

from dagster import RunRequest, ScheduleDefinition, ScheduleEvaluationContext, SkipReason, schedule

from assets.common.keys import CURATION_PLAYLIST_SNAPSHOTS
from assets.curation.jobs import (
    curation_enrich_job,
    curation_ingest_job,
    curation_plan_job,
    curation_snapshots_job,
    curation_sync_job,
    curation_token_refresh_job,
)

curation_token_refresh_schedule = ScheduleDefinition(
    name="curation_token_refresh_schedule",
    job=curation_token_refresh_job,
    cron_schedule="*/30 * * * *",
    execution_timezone="UTC",
    description="Every 30 minutes (UTC): refresh Spotify account tokens.",
)


def _today(context: ScheduleEvaluationContext) -> str:
    return context.scheduled_execution_time.date().isoformat()


@schedule(job=curation_plan_job, cron_schedule="0 2 * * *", execution_timezone="UTC")
def curation_plan_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """At 02:00 UTC, today's playlist plan (scaling planner and account assignments)."""
    day = _today(context)
    return RunRequest(run_key=f"curation-plan|{day}", partition_key=day)


@schedule(job=curation_ingest_job, cron_schedule="0 3 * * *", execution_timezone="UTC")
def curation_ingest_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """At 03:00 UTC, catalog ingest (catalog files, queued albums from Spotify, MusicBrainz lookups)."""
    return RunRequest(run_key=f"curation-ingest|{_today(context)}")


@schedule(job=curation_enrich_job, cron_schedule="30 3 * * *", execution_timezone="UTC")
def curation_enrich_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """At 03:30 UTC, catalog enrichment (audio features, entity resolution)."""
    return RunRequest(run_key=f"curation-enrich|{_today(context)}")


@schedule(job=curation_snapshots_job, cron_schedule="0 4 * * *", execution_timezone="UTC")
def curation_snapshots_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """At 04:00 UTC, today's playlist snapshots (planned in memory if the 02:00 plan is missing)."""
    day = _today(context)
    return RunRequest(run_key=f"curation-snapshots|{day}", partition_key=day)


@schedule(job=curation_sync_job, cron_schedule="10 4 * * *", execution_timezone="UTC")
def curation_sync_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    """At 04:10 UTC, today's sync to Spotify; skipped (with the reason) while today's snapshots are missing."""
    day = _today(context)
    done = context.instance.get_materialized_partitions(CURATION_PLAYLIST_SNAPSHOTS)
    if day not in done:
        return SkipReason(f"curation/playlist_snapshots has no materialization for {day} yet")
    return RunRequest(run_key=f"curation-sync|{day}", partition_key=day)


CURATION_SCHEDULES = [
    curation_token_refresh_schedule,
    curation_plan_schedule,
    curation_ingest_schedule,
    curation_enrich_schedule,
    curation_snapshots_schedule,
    curation_sync_schedule,
]
