"""Facts the catalog's ingestion and resolution tables must satisfy."""

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from assets.common.keys import (
    CATALOG_ALBUM_QUEUE,
    CATALOG_AUDIO_FEATURES,
    CATALOG_GOLDEN_RECORDINGS,
    CATALOG_RECORDING_LINKS,
    CATALOG_SPOTIFY_RECORDINGS,
)
from backbeat.catalog.queue import STATUSES
from backbeat.catalog.tables import (
    ALBUM_QUEUE,
    AUDIO_FEATURES,
    GOLDEN_RECORDINGS,
    RECORDING_LINKS,
    SOURCE_ALBUMS,
    SOURCE_RECORDINGS,
    TRACKS,
)
from integrations.warehouse import WarehouseResource

_SAMPLE = 20


def _names(values: list[str]) -> str:
    return ", ".join(values[:_SAMPLE]) or "none"


@asset_check(
    asset=CATALOG_ALBUM_QUEUE,
    description="Every queued album is queued, ingested or failed; failed ones "
    "say why, ingested ones carry no reason, and attempts are never negative.",
)
def album_queue_statuses_are_valid(warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    db.ensure(ALBUM_QUEUE)
    bad = db.query(
        "SELECT album_id, status, reason, attempts FROM catalog.album_queue "
        f"WHERE status NOT IN ({', '.join('?' * len(STATUSES))}) "
        "OR (status = 'failed' AND (reason IS NULL OR reason = '')) "
        "OR (status = 'ingested' AND reason IS NOT NULL) OR attempts IS NULL OR attempts < 0 ORDER BY album_id",
        list(STATUSES),
        schema={"album_id": pl.Utf8, "status": pl.Utf8, "reason": pl.Utf8, "attempts": pl.Int64},
    )
    counts = db.query(
        "SELECT status, count(*) AS n FROM catalog.album_queue GROUP BY status ORDER BY status",
        schema={"status": pl.Utf8, "n": pl.Int64},
    )
    return AssetCheckResult(
        passed=bad.is_empty(),
        metadata={
            "invalid_rows": bad.height,
            "invalid_albums": _names(bad["album_id"].to_list()),
            **{f"albums_{s}": n for s, n in counts.iter_rows()},
        },
    )


@asset_check(
    asset=CATALOG_SPOTIFY_RECORDINGS,
    description="Every ingested album has all its tracks in "
    "catalog.source_recordings (as many as the album's total_tracks).",
)
def ingested_albums_have_all_their_tracks(warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    db.ensure(ALBUM_QUEUE, SOURCE_ALBUMS, SOURCE_RECORDINGS)
    short = db.query(
        "SELECT q.album_id, a.total_tracks, count(r.source_id) AS stored FROM catalog.album_queue q "
        "LEFT JOIN catalog.source_albums a ON a.source = 'spotify' AND a.album_id = q.album_id "
        "LEFT JOIN catalog.source_recordings r ON r.source = 'spotify' AND r.album_id = q.album_id "
        "WHERE q.status = 'ingested' GROUP BY q.album_id, a.total_tracks "
        "HAVING a.total_tracks IS NULL OR count(r.source_id) <> a.total_tracks ORDER BY q.album_id",
        schema={"album_id": pl.Utf8, "total_tracks": pl.Int64, "stored": pl.Int64},
    )
    return AssetCheckResult(
        passed=short.is_empty(),
        metadata={"incomplete_albums": short.height, "albums": _names(short["album_id"].to_list())},
    )


@asset_check(
    asset=CATALOG_RECORDING_LINKS,
    description="Every source record (file catalog, Spotify, MusicBrainz) is "
    "linked to exactly one golden recording, and every link points at a golden recording that exists.",
)
def source_recordings_link_to_one_golden_recording(warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    db.ensure(TRACKS, SOURCE_RECORDINGS, RECORDING_LINKS, GOLDEN_RECORDINGS)
    records = db.query(
        "SELECT 'file' AS source, track_id AS source_id FROM catalog.tracks "
        "UNION ALL SELECT source, source_id FROM catalog.source_recordings",
        schema={"source": pl.Utf8, "source_id": pl.Utf8},
    )
    links = db.read(RECORDING_LINKS).select("source", "source_id", "golden_id")
    golden = db.read(GOLDEN_RECORDINGS).select("golden_id")
    per_record = (
        records.join(links, on=["source", "source_id"], how="left")
        .group_by("source", "source_id")
        .agg(pl.col("golden_id").drop_nulls().n_unique().alias("goldens"))
    )
    unlinked = per_record.filter(pl.col("goldens") != 1)
    dangling = links.join(golden, on="golden_id", how="anti")
    orphan_links = links.join(records, on=["source", "source_id"], how="anti")
    keys = [f"{s}:{i}" for s, i in unlinked.sort("source", "source_id").select("source", "source_id").iter_rows()]
    return AssetCheckResult(
        passed=unlinked.is_empty() and dangling.is_empty() and orphan_links.is_empty(),
        metadata={
            "source_records": records.height,
            "not_linked_once": unlinked.height,
            "records_not_linked_once": _names(keys),
            "links_to_missing_golden": dangling.height,
            "links_without_record": orphan_links.height,
        },
    )


@asset_check(asset=CATALOG_GOLDEN_RECORDINGS, description="No two golden recordings share an ISRC.")
def golden_isrcs_are_unique(warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    db.ensure(GOLDEN_RECORDINGS)
    repeated = db.query(
        "SELECT isrc, count(*) AS n FROM catalog.golden_recordings WHERE isrc IS NOT NULL GROUP BY isrc "
        "HAVING count(*) > 1 ORDER BY isrc",
        schema={"isrc": pl.Utf8, "n": pl.Int64},
    )
    return AssetCheckResult(
        passed=repeated.is_empty(),
        metadata={"repeated_isrcs": repeated.height, "isrcs": _names(repeated["isrc"].to_list())},
    )


@asset_check(
    asset=CATALOG_AUDIO_FEATURES,
    description="Every catalog track with audio has audio features (a warning: "
    "a track whose audio cannot be read is in quarantine instead).",
)
def audio_features_cover_catalog_audio(warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    db.ensure(TRACKS, AUDIO_FEATURES)
    missing = db.query(
        "SELECT t.track_id FROM catalog.tracks t LEFT JOIN catalog.audio_features a ON a.track_id = t.track_id "
        "WHERE t.audio_path IS NOT NULL AND a.track_id IS NULL ORDER BY t.track_id",
        schema={"track_id": pl.Utf8},
    )
    return AssetCheckResult(
        passed=missing.is_empty(),
        severity=AssetCheckSeverity.WARN,
        metadata={"tracks_without_features": missing.height, "tracks": _names(missing["track_id"].to_list())},
    )


CATALOG_CHECKS = [
    album_queue_statuses_are_valid,
    ingested_albums_have_all_their_tracks,
    source_recordings_link_to_one_golden_recording,
    golden_isrcs_are_unique,
    audio_features_cover_catalog_audio,
]
