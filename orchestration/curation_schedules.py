"""Curation's jobs and schedules, on the documented UTC cadence.

| when (UTC) | job | does |
|---|---|---|
| every 30 min | `curation_token_refresh_job` | refreshes each connected account's access token (encrypted at rest) |
| 02:00 | `curation_plan_job` | today's `curation/playlist_plan`: P*, capacity, floor, assignments |
| 03:00 | `curation_ingest_job` | catalog ingest: catalog files, album queue → Spotify recordings → MusicBrainz |
| 03:30 | `curation_enrich_job` | audio features (tempo, key, energy) and entity resolution |
| 04:00 | `curation_snapshots_job` | today's `curation/playlist_snapshots` |
| 04:10 | `curation_sync_job` | today's `curation/playlist_sync` (skipped while today's snapshots are missing) |

`curation_day_job` (plan → snapshots → sync for one day) is for backfills and the demo. The lead registers
`CURATION_JOBS` and `CURATION_SCHEDULES` in `orchestration/definitions.py`.
"""

from dagster import (
    AssetSelection,
    OpExecutionContext,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    job,
    op,
    schedule,
)

from assets.common.paths import DataDirResource
from assets.curation.assets import PLAN_KEY, SNAPSHOTS_KEY, SYNC_KEY
from backbeat.curation.planner import Account
from backbeat.curation.store import read_accounts
from backbeat.curation.sync import refresh_account_tokens
from backbeat.curation.tables import ACCOUNT_TOKENS
from integrations.spotify.accounts import SpotifyAccountsResource
from integrations.spotify.playlists import SpotifyPlaylistClient
from integrations.warehouse import WarehouseResource

# The catalog's ingest and enrichment assets, selected by key string and kept to materializable ones, so that a
# key the catalog does not (yet) define — or knows only as an upstream of curation — selects nothing instead of
# failing the code location.
INGEST_SELECTION = AssetSelection.from_string(
    'key:"catalog/artists" or key:"catalog/tracks" or key:"catalog/album_queue" or key:"catalog/spotify_recordings" '
    'or key:"catalog/musicbrainz_recordings"'
).materializable()
ENRICH_SELECTION = AssetSelection.from_string(
    'key:"catalog/audio_features" or key:"catalog/golden_recordings" or key:"catalog/recording_links" or '
    'key:"catalog/resolution_review" or key:"catalog/recording_duplicates"'
).materializable()

curation_plan_job = define_asset_job(
    "curation_plan_job",
    selection=AssetSelection.assets(PLAN_KEY).required_multi_asset_neighbors(),
    description="A day's playlist plan: how many playlists the usable catalog sustains, and their accounts.",
)
curation_ingest_job = define_asset_job(
    "curation_ingest_job",
    selection=INGEST_SELECTION,
    description="Catalog ingest before curation: catalog files, queued albums from Spotify, MusicBrainz lookups.",
)
curation_enrich_job = define_asset_job(
    "curation_enrich_job",
    selection=ENRICH_SELECTION,
    description="Catalog enrichment before curation: audio features from the audio, entity resolution.",
)
curation_snapshots_job = define_asset_job(
    "curation_snapshots_job",
    selection=AssetSelection.assets(SNAPSHOTS_KEY).required_multi_asset_neighbors(),
    description="A day's playlist snapshots under their policies.",
)
curation_sync_job = define_asset_job(
    "curation_sync_job",
    selection=AssetSelection.assets(SYNC_KEY),
    description="A day's snapshots published to their Spotify accounts, or exported as M3U/CSV files.",
)
curation_day_job = define_asset_job(
    "curation_day_job",
    selection=AssetSelection.assets(PLAN_KEY, SNAPSHOTS_KEY, SYNC_KEY).required_multi_asset_neighbors(),
    description="Plan → snapshots → sync for one day (backfills, the demo).",
)


@op(
    description="Refresh the Spotify access token of every active, connected account expiring within 40 minutes; "
    "record each account's token state in curation.account_tokens (never a token)."
)
def refresh_spotify_account_tokens(
    context: OpExecutionContext,
    data_dir: DataDirResource,
    warehouse: WarehouseResource,
    spotify_accounts: SpotifyAccountsResource,
) -> int:
    accounts, note = read_accounts(data_dir.inbox)
    if note:
        context.log.warning(note)
    if not spotify_accounts.configured:
        context.log.warning("Spotify is not configured (missing: " + ", ".join(spotify_accounts.missing()) + ")")
        return 0
    store = spotify_accounts.token_store()

    def make_client(account: Account) -> SpotifyPlaylistClient:
        return spotify_accounts.client(account.account_id, account.spotify_user_id, store=store)

    db = warehouse.client()
    previous = {r["account_id"]: r for r in db.read(ACCOUNT_TOKENS).iter_rows(named=True)}
    rows = refresh_account_tokens(accounts, make_client, previous)
    kept = [r for a, r in previous.items() if a not in {row["account_id"] for row in rows}]
    db.replace(ACCOUNT_TOKENS, ACCOUNT_TOKENS.from_rows(rows + kept) if rows or kept else ACCOUNT_TOKENS.empty_frame())
    for row in rows:
        if row["status"] != "ok":
            context.log.error(f"Spotify account {row['account_id']}: token {row['status']}: {row['error']}")
    return sum(1 for r in rows if r["refreshed_at"] is not None and r["status"] == "ok")


@job(description="Every 30 minutes: keep each connected Spotify account's access token fresh (encrypted at rest).")
def curation_token_refresh_job() -> None:
    refresh_spotify_account_tokens()


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
    done = context.instance.get_materialized_partitions(SNAPSHOTS_KEY)
    if day not in done:
        return SkipReason(f"curation/playlist_snapshots has no materialization for {day} yet")
    return RunRequest(run_key=f"curation-sync|{day}", partition_key=day)


CURATION_JOBS = [
    curation_plan_job,
    curation_ingest_job,
    curation_enrich_job,
    curation_snapshots_job,
    curation_sync_job,
    curation_day_job,
    curation_token_refresh_job,
]
CURATION_SCHEDULES = [
    curation_token_refresh_schedule,
    curation_plan_schedule,
    curation_ingest_schedule,
    curation_enrich_schedule,
    curation_snapshots_schedule,
    curation_sync_schedule,
]
