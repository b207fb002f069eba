"""Every warehouse table the domain assets own: dbt reads them as sources, so they must exist before dbt runs."""

from backbeat.airplay import tables as airplay
from backbeat.catalog import tables as catalog
from backbeat.common.quarantine import QUARANTINE
from backbeat.curation import tables as curation
from backbeat.outreach import tables as outreach
from backbeat.outreach.prospecting_tables import PROSPECTING_TABLES
from backbeat.rights import tables as rights
from backbeat.royalties import tables as royalties
from integrations.warehouse import Table

DBT_SOURCE_TABLES: tuple[Table, ...] = (
    catalog.ARTISTS,
    catalog.TRACKS,
    catalog.AUDIO_FEATURES,
    catalog.GOLDEN_RECORDINGS,
    catalog.RECORDING_LINKS,
    airplay.STATIONS,
    airplay.PLAYLOGS,
    airplay.PLAY_PROGRAMS,
    airplay.STREAM_CHUNKS,
    airplay.CAPTURE_GAPS,
    airplay.DETECTIONS,
    airplay.STATION_DAY_STATUS,
    rights.WORKS,
    rights.RECORDINGS,
    rights.PARTIES,
    rights.SPLITS,
    rights.VALIDATION_ISSUES,
    rights.REVIEW_TASKS,
    royalties.TARIFFS,
    royalties.LEDGER,
    royalties.LEDGER_BATCHES,
    royalties.DISPUTES,
    royalties.PARTY_STATEMENTS,
    royalties.STATEMENT_LINES,
    royalties.PAYOUTS,
    curation.SNAPSHOTS,
    curation.SNAPSHOT_PLAYLISTS,
    curation.PLANS,
    curation.SYNC,
    outreach.CONTACTS,
    outreach.ORG_CONTACTS,
    outreach.MAILBOXES,
    outreach.CAMPAIGNS,
    outreach.SEQUENCE_STEPS,
    outreach.PROSPECTS,
    outreach.OUTBOUND_MESSAGES,
    outreach.SEND_ATTEMPTS,
    outreach.OUTCOMES,
)
"""The tables dbt reads (`_sources.yml` is generated from these, in this order)."""

SOURCE_TABLES: tuple[Table, ...] = (
    *DBT_SOURCE_TABLES,
    QUARANTINE,
    airplay.PROGRAM_WINDOWS,
    airplay.PROGRAM_OVERRIDES,
    airplay.DETECTION_CANDIDATES,
    rights.PARTY_IDENTIFIERS,
    rights.CONTRACTS,
    rights.CONTRACT_PARTIES,
    rights.SPLIT_SHEET_LINES,
    rights.FIELD_PROVENANCE,
    rights.VALIDATION_RULES,
    royalties.DISPUTE_EVENTS,
    royalties.RESTATEMENT_QUEUE,
    royalties.DISPUTE_ACTIVITY,
    royalties.PERIODS,
    royalties.PERIOD_EVENTS,
    royalties.FROZEN_STATEMENTS,
    royalties.CONTRACT_TERMS,
    royalties.CONTRACT_LEDGER,
    royalties.FX_RATES,
    royalties.PAYOUT_CURRENCIES,
    royalties.FX_LEDGER,
    airplay.CAPTURE_SESSIONS,
    catalog.ALBUM_QUEUE,
    catalog.SOURCE_RECORDINGS,
    catalog.SOURCE_ALBUMS,
    catalog.SOURCE_ARTISTS,
    catalog.MUSICBRAINZ_LOOKUPS,
    catalog.RESOLUTION_REVIEW,
    catalog.RECORDING_DUPLICATES,
    curation.ASSIGNMENTS,
    curation.ACCOUNTS,
    curation.ACCOUNT_TOKENS,
    curation.SYNC_SKIPS,
    *(t for t in outreach.OUTREACH_TABLES if t not in DBT_SOURCE_TABLES),
    *PROSPECTING_TABLES,
)
"""Every table the assets own; the dbt step ensures they all exist before dbt runs."""
