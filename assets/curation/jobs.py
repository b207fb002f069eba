"""Curation's jobs: the day's plan, snapshots and sync, the catalog ingest and enrichment curation needs
first, and the Spotify token refresh. When each runs: `assets/curation/schedules.py`.

`curation_day_job` and `curation_job` (plan → snapshots → sync for one day) are for backfills and the demo.
"""

from dagster import (
    AssetKey,
    AssetSelection,
    OpExecutionContext,
    define_asset_job,
    job,
    op,
)

from assets.common.keys import (
    CATALOG_ALBUM_QUEUE,
    CATALOG_ARTISTS,
    CATALOG_AUDIO_FEATURES,
    CATALOG_GOLDEN_RECORDINGS,
    CATALOG_MUSICBRAINZ_RECORDINGS,
    CATALOG_RECORDING_DUPLICATES,
    CATALOG_RECORDING_LINKS,
    CATALOG_RESOLUTION_REVIEW,
    CATALOG_SPOTIFY_RECORDINGS,
    CATALOG_TRACKS,
    CURATION_PLAYLIST_PLAN,
    CURATION_PLAYLIST_SNAPSHOTS,
    CURATION_PLAYLIST_SYNC,
)
from assets.common.paths import DataDirResource
from backbeat.curation.planner import Account
from backbeat.curation.store import read_accounts
from backbeat.curation.sync import refresh_account_tokens
from backbeat.curation.tables import ACCOUNT_TOKENS
from integrations.spotify.accounts import SpotifyAccountsResource
from integrations.spotify.playlists import SpotifyPlaylistClient
from integrations.warehouse import WarehouseResource

# The catalog's ingest and enrichment assets, selected by key string and kept to materializable ones, so that a
# key the catalog does not (yet) define — or knows only as an upstream of curation — selects nothing instead of
# failing the code location (curation's defs load on their own in tests).


def _any_of(*keys: AssetKey) -> AssetSelection:
    """The materializable assets among `keys`; a key nothing defines selects nothing."""
    return AssetSelection.from_string(" or ".join(f'key:"{key.to_user_string()}"' for key in keys)).materializable()


INGEST_SELECTION = _any_of(
    CATALOG_ARTISTS,
    CATALOG_TRACKS,
    CATALOG_ALBUM_QUEUE,
    CATALOG_SPOTIFY_RECORDINGS,
    CATALOG_MUSICBRAINZ_RECORDINGS,
)
ENRICH_SELECTION = _any_of(
    CATALOG_AUDIO_FEATURES,
    CATALOG_GOLDEN_RECORDINGS,
    CATALOG_RECORDING_LINKS,
    CATALOG_RESOLUTION_REVIEW,
    CATALOG_RECORDING_DUPLICATES,
)

curation_plan_job = define_asset_job(
    "curation_plan_job",
    selection=AssetSelection.assets(CURATION_PLAYLIST_PLAN).required_multi_asset_neighbors(),
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
    selection=AssetSelection.assets(CURATION_PLAYLIST_SNAPSHOTS).required_multi_asset_neighbors(),
    description="A day's playlist snapshots under their policies.",
)
curation_sync_job = define_asset_job(
    "curation_sync_job",
    selection=AssetSelection.assets(CURATION_PLAYLIST_SYNC),
    description="A day's snapshots published to their Spotify accounts, or exported as M3U/CSV files.",
)
DAY_SELECTION = AssetSelection.assets(
    CURATION_PLAYLIST_PLAN, CURATION_PLAYLIST_SNAPSHOTS, CURATION_PLAYLIST_SYNC
).required_multi_asset_neighbors()
"""One curated day: plan → snapshots → sync, with the tables written in the same steps."""

curation_day_job = define_asset_job(
    "curation_day_job",
    selection=DAY_SELECTION,
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


curation_job = define_asset_job(
    "curation_job",
    selection=DAY_SELECTION,
    description="One curated day: the scaling plan, every playlist's snapshot, and its sync to Spotify accounts "
    "(or a file export where an account refuses).",
)

CURATION_JOBS = [
    curation_job,
    curation_plan_job,
    curation_ingest_job,
    curation_enrich_job,
    curation_snapshots_job,
    curation_sync_job,
    curation_day_job,
    curation_token_refresh_job,
]
