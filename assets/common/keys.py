"""Every asset key of the Python-written assets, in one place.

A domain declares its assets with these keys, and every other domain, job, schedule or sensor that depends on
them, selects them or looks them up uses the same constants, so a key is spelled once. Keys say where the data
lives: `[schema, table]` for warehouse tables, `[domain, name]` for files. The dbt models are keyed by the dbt
translator under `analytics/` (`analytics_key`); their sources are the warehouse tables below.
"""

from dagster import AssetKey

# ---- airplay ---------------------------------------------------------------------------------------------------
AIRPLAY_STATIONS = AssetKey(["airplay", "stations"])
AIRPLAY_REFERENCE_FINGERPRINTS = AssetKey(["airplay", "reference_fingerprints"])
AIRPLAY_STREAM_CHUNKS = AssetKey(["airplay", "stream_chunks"])
AIRPLAY_CAPTURE_GAPS = AssetKey(["airplay", "capture_gaps"])
AIRPLAY_STATION_DAY_STATUS = AssetKey(["airplay", "station_day_status"])
AIRPLAY_DETECTIONS = AssetKey(["airplay", "detections"])
AIRPLAY_PLAYLOGS = AssetKey(["airplay", "playlogs"])
AIRPLAY_PROGRAM_SCHEDULE = AssetKey(["airplay", "program_schedule"])
AIRPLAY_PROGRAM_OVERRIDES = AssetKey(["airplay", "program_overrides"])
AIRPLAY_PLAY_PROGRAMS = AssetKey(["airplay", "play_programs"])

# ---- catalog ---------------------------------------------------------------------------------------------------
CATALOG_ARTISTS = AssetKey(["catalog", "artists"])
CATALOG_TRACKS = AssetKey(["catalog", "tracks"])
CATALOG_ALBUM_QUEUE = AssetKey(["catalog", "album_queue"])
CATALOG_SPOTIFY_RECORDINGS = AssetKey(["catalog", "spotify_recordings"])
CATALOG_MUSICBRAINZ_RECORDINGS = AssetKey(["catalog", "musicbrainz_recordings"])
CATALOG_AUDIO_FEATURES = AssetKey(["catalog", "audio_features"])
CATALOG_GOLDEN_RECORDINGS = AssetKey(["catalog", "golden_recordings"])
CATALOG_RECORDING_LINKS = AssetKey(["catalog", "recording_links"])
CATALOG_RESOLUTION_REVIEW = AssetKey(["catalog", "resolution_review"])
CATALOG_RECORDING_DUPLICATES = AssetKey(["catalog", "recording_duplicates"])
CATALOG_REKORDBOX_EXPORT = AssetKey(["catalog", "rekordbox_export"])

# ---- curation --------------------------------------------------------------------------------------------------
CURATION_PLAYLIST_PLAN = AssetKey(["curation", "playlist_plan"])
CURATION_PLAYLIST_PLANS = AssetKey(["curation", "playlist_plans"])
CURATION_PLAYLIST_SNAPSHOTS = AssetKey(["curation", "playlist_snapshots"])
CURATION_SNAPSHOT_PLAYLISTS = AssetKey(["curation", "snapshot_playlists"])
CURATION_PLAYLIST_SYNC = AssetKey(["curation", "playlist_sync"])

# ---- exports ---------------------------------------------------------------------------------------------------
EXPORTS_STAGED_FINANCE_EXPORT = AssetKey(["exports", "staged_finance_export"])
EXPORTS_FINANCE_EXPORT = AssetKey(["exports", "finance_export"])
EXPORTS_STAGED_MONTHLY_FINANCE_EXPORT = AssetKey(["exports", "staged_monthly_finance_export"])
EXPORTS_MONTHLY_FINANCE_EXPORT = AssetKey(["exports", "monthly_finance_export"])

# ---- outreach --------------------------------------------------------------------------------------------------
OUTREACH_CONTACTS = AssetKey(["outreach", "contacts"])
OUTREACH_CAMPAIGNS = AssetKey(["outreach", "campaigns"])
OUTREACH_MAILBOXES = AssetKey(["outreach", "mailboxes"])
OUTREACH_SUPPRESSIONS = AssetKey(["outreach", "suppressions"])
OUTREACH_SENDS = AssetKey(["outreach", "sends"])
OUTREACH_OUTCOMES = AssetKey(["outreach", "outcomes"])
OUTREACH_MESSAGE_BODIES = AssetKey(["outreach", "message_bodies"])
OUTREACH_SEQUENCE_STEPS = AssetKey(["outreach", "sequence_steps"])
OUTREACH_PROSPECTS = AssetKey(["outreach", "prospects"])
OUTREACH_SEND_ATTEMPTS = AssetKey(["outreach", "send_attempts"])
OUTREACH_OUTBOUND_MESSAGES = AssetKey(["outreach", "outbound_messages"])
OUTREACH_CANDIDATES = AssetKey(["outreach", "candidates"])
OUTREACH_CANDIDATE_EMAILS = AssetKey(["outreach", "candidate_emails"])
OUTREACH_ORG_CONTACTS = AssetKey(["outreach", "org_contacts"])
OUTREACH_PROSPECT_SCORES = AssetKey(["outreach", "prospect_scores"])
OUTREACH_DRAFTS = AssetKey(["outreach", "drafts"])

# ---- rights ----------------------------------------------------------------------------------------------------
RIGHTS_VALIDATION_RULES = AssetKey(["rights", "validation_rules"])
RIGHTS_SPLIT_SHEET_LINES = AssetKey(["rights", "split_sheet_lines"])
RIGHTS_FIELD_PROVENANCE = AssetKey(["rights", "field_provenance"])
RIGHTS_VALIDATION_ISSUES = AssetKey(["rights", "validation_issues"])
RIGHTS_REVIEW_TASKS = AssetKey(["rights", "review_tasks"])
RIGHTS_SPLITS = AssetKey(["rights", "splits"])
RIGHTS_WORKS = AssetKey(["rights", "works"])
RIGHTS_RECORDINGS = AssetKey(["rights", "recordings"])
RIGHTS_PARTIES = AssetKey(["rights", "parties"])
RIGHTS_PARTY_IDENTIFIERS = AssetKey(["rights", "party_identifiers"])
RIGHTS_CONTRACTS = AssetKey(["rights", "contracts"])
RIGHTS_CONTRACT_PARTIES = AssetKey(["rights", "contract_parties"])

# ---- royalties -------------------------------------------------------------------------------------------------
ROYALTIES_TARIFFS = AssetKey(["royalties", "tariffs"])
ROYALTIES_ROYALTY_LEDGER = AssetKey(["royalties", "royalty_ledger"])
ROYALTIES_LEDGER_BATCHES = AssetKey(["royalties", "ledger_batches"])
ROYALTIES_DISPUTES = AssetKey(["royalties", "disputes"])
ROYALTIES_PAYOUTS = AssetKey(["royalties", "payouts"])
ROYALTIES_PARTY_STATEMENTS = AssetKey(["royalties", "party_statements"])
ROYALTIES_STATEMENT_LINES = AssetKey(["royalties", "statement_lines"])
ROYALTIES_CONTRACT_TERMS = AssetKey(["royalties", "contract_terms"])
ROYALTIES_CONTRACT_LEDGER = AssetKey(["royalties", "contract_ledger"])
ROYALTIES_FX_RATES = AssetKey(["royalties", "fx_rates"])
ROYALTIES_PAYOUT_CURRENCIES = AssetKey(["royalties", "payout_currencies"])
ROYALTIES_FX_LEDGER = AssetKey(["royalties", "fx_ledger"])

# ---- analytics (dbt) -------------------------------------------------------------------------------------------
ANALYTICS_PREFIX = "analytics"
"""The key prefix of every dbt model."""


def analytics_key(model: str) -> AssetKey:
    """The asset key the dbt translator gives `model`: `analytics/<model>`."""
    return AssetKey([ANALYTICS_PREFIX, model])


ALL_KEYS: tuple[AssetKey, ...] = tuple(value for value in dict(globals()).values() if isinstance(value, AssetKey))
"""Every key above, in declaration order."""
