"""Catalog assets: artists and tracks ingested from the catalog inbox, validated row by row."""


from datetime import UTC, datetime

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    asset,
    asset_check,
)

from assets.catalog.tables import ARTISTS, TRACKS
from assets.common import csvfiles as f
from assets.common.metadata import table_metadata
from assets.common.paths import DataDirResource
from assets.common.quarantine import Reject, record_rejects
from integrations.warehouse import WarehouseResource

ISRC_PATTERN = r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}"

ARTIST_FIELDS = {"artist_id": f.text, "name": f.text, "country": f.matching(r"[A-Z]{2}", "a 2-letter country code")}
TRACK_FIELDS = {
    "track_id": f.text,
    "isrc": f.matching(ISRC_PATTERN, "a 12-character ISRC (e.g. NLBB12600001)"),
    "title": f.text,
    "artist_id": f.text,
    "album": f.optional_text,
    "release_date": f.iso_date,
    "duration_ms": f.in_range(f.integer, 1, 3_600_000),
    "genre": f.optional_text,
    "explicit": f.boolean,
    "popularity": f.in_range(f.integer, 0, 100),
    "work_id": f.optional_text,
    "audio_path": f.optional_text,
}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@asset(
    key=["catalog", "artists"],
    group_name="catalog",
    kinds={"csv", "sql"},
)
def catalog_artists(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per artist, from `inbox/catalog/artists.csv`.

    Rows with a missing id or name, a bad country code or a duplicate id go to `quarantine.rejected_rows`.
    """
    path = data_dir.inbox / "catalog" / "artists.csv"
    parsed = f.reject_duplicates(f.read_csv(path, ARTIST_FIELDS), lambda r: r["artist_id"], "artist_id")
    frame = ARTISTS.from_rows([{**r, "ingested_at": _now()} for r in parsed.rows])
    db = warehouse.client()
    db.replace(ARTISTS, frame)
    record_rejects(db, "catalog/artists", "", parsed.rejects, context.log.warning)
    return MaterializeResult(metadata=table_metadata(frame, rejected_rows=len(parsed.rejects)))


@asset(
    key=["catalog", "tracks"],
    deps=[catalog_artists],
    group_name="catalog",
    kinds={"csv", "sql"},
)
def catalog_tracks(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per recording, from `inbox/catalog/tracks.csv`: ISRC, title, artist, release, duration, work.

    Rows with a malformed ISRC, an unknown artist, a duplicate track id or ISRC, or a missing audio file
    go to `quarantine.rejected_rows` with file, row and field; the rest are stored.
    """
    catalog_dir = data_dir.inbox / "catalog"
    parsed = f.read_csv(catalog_dir / "tracks.csv", TRACK_FIELDS)
    parsed = f.reject_duplicates(parsed, lambda r: r["track_id"], "track_id")
    parsed = f.reject_duplicates(parsed, lambda r: r["isrc"], "isrc")
    db = warehouse.client()
    known_artists = set(db.read(ARTISTS)["artist_id"].to_list())
    rows, rejects = [], list(parsed.rejects)
    for row in parsed.rows:
        problem = None
        if row["artist_id"] not in known_artists:
            problem = ("artist_id", row["artist_id"], "artist_id is not in catalog.artists")
        elif row["audio_path"] and not (catalog_dir / row["audio_path"]).is_file():
            problem = ("audio_path", row["audio_path"], "audio file does not exist")
        if problem:
            rejects.append(Reject(row["_source_file"], row["_row"], *problem))
        else:
            rows.append(row)
    frame = TRACKS.from_rows([{**r, "ingested_at": _now()} for r in rows])
    db.replace(TRACKS, frame)
    record_rejects(db, "catalog/tracks", "", rejects, context.log.warning)
    with_audio = frame.filter(pl.col("audio_path").is_not_null()).height
    return MaterializeResult(
        metadata=table_metadata(frame.drop("ingested_at"), rejected_rows=len(rejects), tracks_with_audio=with_audio)
    )


@asset_check(asset=AssetKey(["catalog", "tracks"]), description="Track ids and ISRCs are unique.")
def tracks_have_unique_ids_and_isrcs(warehouse: WarehouseResource) -> AssetCheckResult:
    counts = warehouse.client().query(
        "SELECT count(*) AS n, count(DISTINCT track_id) AS ids, count(DISTINCT isrc) AS isrcs FROM catalog.tracks"
    ).row(0, named=True)
    return AssetCheckResult(
        passed=counts["n"] == counts["ids"] == counts["isrcs"],
        metadata={"rows": counts["n"], "distinct_ids": counts["ids"], "distinct_isrcs": counts["isrcs"]},
    )
