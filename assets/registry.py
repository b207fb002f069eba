"""Every warehouse table the domain assets own: dbt reads them as sources, so they must exist before dbt runs."""

from assets.airplay.tables import (
    CAPTURE_GAPS,
    DETECTION_CANDIDATES,
    DETECTIONS,
    PLAY_PROGRAMS,
    PLAYLOGS,
    PROGRAM_OVERRIDES,
    PROGRAM_WINDOWS,
    STATIONS,
    STREAM_CHUNKS,
)
from assets.catalog.tables import ARTISTS, TRACKS
from assets.common.quarantine import QUARANTINE
from assets.curation.tables import SNAPSHOTS
from assets.outreach.tables import CONTACTS
from assets.rights.tables import PARTIES, SPLITS, WORKS
from assets.royalties.tables import LEDGER, TARIFFS
from integrations.warehouse import Table

SOURCE_TABLES: tuple[Table, ...] = (
    ARTISTS, TRACKS, STATIONS, STREAM_CHUNKS, DETECTIONS, PLAYLOGS, WORKS, PARTIES, SPLITS, TARIFFS, LEDGER,
    SNAPSHOTS, CONTACTS, QUARANTINE, PROGRAM_WINDOWS, PROGRAM_OVERRIDES, PLAY_PROGRAMS,
    DETECTION_CANDIDATES, CAPTURE_GAPS,
)
