"""From source recordings to golden recordings: the resolution's input, and its output as warehouse tables.

Plain Python over `backbeat.catalog.resolution` (no Dagster). The label's own catalog (`catalog.tracks`, source
`file`) ranks first for every golden field, then MusicBrainz, then Spotify (`resolution.SOURCE_PRIORITY`).
"""

from dataclasses import dataclass

import polars as pl
from rapidfuzz import fuzz

from backbeat.catalog.resolution import (
    SOURCE_PRIORITY,
    ResolutionConfig,
    normalise_artist,
    normalise_title,
    resolve,
)
from backbeat.catalog.tables import GOLDEN_RECORDINGS, RECORDING_DUPLICATES, RECORDING_LINKS, RESOLUTION_REVIEW

FILE_SOURCE = "file"
RESOLUTION_COLUMNS = ("source", "source_id", "isrc", "title", "artist", "album", "duration_ms", "release_date", "iswc")
_INPUT_SCHEMA = {
    "source": pl.String,
    "source_id": pl.String,
    "isrc": pl.String,
    "title": pl.String,
    "artist": pl.String,
    "album": pl.String,
    "duration_ms": pl.Int64,
    "release_date": pl.Date,
    "iswc": pl.String,
}
MATCH_RULES = {"single": "self", "isrc": "isrc", "fuzzy": "fuzzy"}


def resolution_config() -> ResolutionConfig:
    """The resolution's defaults, with the label's own catalog (source `file`) first for every field."""
    return ResolutionConfig(source_priority=(FILE_SOURCE, *SOURCE_PRIORITY))


def file_records(tracks: pl.DataFrame, artists: pl.DataFrame) -> pl.DataFrame:
    """`catalog.tracks` as source records (source `file`, id = track id), the artist's name credited."""
    names = artists.select("artist_id", pl.col("name").alias("artist"))
    return (
        tracks.join(names, on="artist_id", how="left")
        .with_columns(source=pl.lit(FILE_SOURCE), source_id=pl.col("track_id"), iswc=pl.lit(None, pl.String))
        .select(list(RESOLUTION_COLUMNS))
        .cast(_INPUT_SCHEMA)  # type: ignore[arg-type]
    )


def resolution_input(source_recordings: pl.DataFrame, tracks: pl.DataFrame, artists: pl.DataFrame) -> pl.DataFrame:
    """Every source record: `catalog.source_recordings` (Spotify, MusicBrainz) and the file catalog."""
    stored = source_recordings.select(list(RESOLUTION_COLUMNS)).cast(_INPUT_SCHEMA)  # type: ignore[arg-type]
    return pl.concat([file_records(tracks, artists), stored]).sort("source", "source_id")


@dataclass
class CatalogResolution:
    """The four tables `catalog/golden_recordings` writes, conformed to their declarations, and the stats."""

    golden: pl.DataFrame
    links: pl.DataFrame
    review: pl.DataFrame
    duplicates: pl.DataFrame
    stats: dict[str, int]


def _link_scores(
    records: pl.DataFrame, clusters: pl.DataFrame, golden: pl.DataFrame, config: ResolutionConfig
) -> pl.DataFrame:
    """record_key → score 0-100: 100 for ISRC and single-record links; for a fuzzy link, the resolution's own
    score (weighted title and artist similarity) of the record against the golden title and artist."""
    keyed = records.with_columns(record_key=pl.concat_str("source", pl.lit(":"), "source_id"))
    rows = (
        clusters.select("record_key", "golden_id", "matched_by")
        .join(keyed.select("record_key", "title", "artist"), on="record_key", how="left")
        .join(
            golden.select("golden_id", pl.col("title").alias("g_title"), pl.col("artist").alias("g_artist")),
            on="golden_id",
            how="left",
        )
    )
    scores: list[float] = []
    for matched_by, title, artist, g_title, g_artist in rows.select(
        "matched_by", "title", "artist", "g_title", "g_artist"
    ).iter_rows():
        if matched_by != "fuzzy":
            scores.append(100.0)
            continue
        title_score = fuzz.token_sort_ratio(normalise_title(title)[0], normalise_title(g_title)[0])
        artist_score = fuzz.token_set_ratio(normalise_artist(artist), normalise_artist(g_artist))
        w = config.title_weight
        scores.append(round(w * title_score + (1 - w) * artist_score, 2))
    return rows.select("record_key").with_columns(score=pl.Series(scores, dtype=pl.Float64))


def resolve_catalog(records: pl.DataFrame, config: ResolutionConfig | None = None) -> CatalogResolution:
    """Resolve source records into golden recordings, links, the review queue and the duplicate report."""
    config = config or resolution_config()
    if records.is_empty():
        return CatalogResolution(
            GOLDEN_RECORDINGS.empty_frame(),
            RECORDING_LINKS.empty_frame(),
            RESOLUTION_REVIEW.empty_frame(),
            RECORDING_DUPLICATES.empty_frame(),
            {"records": 0, "golden_records": 0, "review_pairs": 0, "duplicate_groups": 0},
        )
    result = resolve(records.select(list(RESOLUTION_COLUMNS)), config)
    golden = GOLDEN_RECORDINGS.conform(result.golden.rename({"member_count": "members"}))
    scores = _link_scores(records, result.clusters, result.golden, config)
    links = RECORDING_LINKS.conform(
        result.clusters.join(scores, on="record_key", how="left")
        .with_columns(match_rule=pl.col("matched_by").replace_strict(MATCH_RULES, return_dtype=pl.String))
        .sort("source", "source_id")
    )
    review = RESOLUTION_REVIEW.conform(result.review.rename({"record_key_a": "left_key", "record_key_b": "right_key"}))
    duplicates = RECORDING_DUPLICATES.conform(
        result.duplicates.with_columns(source_ids=pl.col("source_ids").list.join(", "))
    )
    return CatalogResolution(golden, links, review, duplicates, dict(result.stats))
