"""Warehouse tables owned by the catalog domain."""

from integrations.warehouse import Column, table

ARTISTS = table(
    "catalog",
    "artists",
    Column("artist_id", "text", "Backbeat artist id.", nullable=False),
    Column("name", "text", "Artist name as credited."),
    Column("country", "text", "ISO 3166-1 alpha-2 country of the artist."),
    Column("ingested_at", "timestamp", "When this row was ingested (UTC)."),
    primary_key=("artist_id",),
    description="One row per artist.",
)

TRACKS = table(
    "catalog",
    "tracks",
    Column("track_id", "text", "Backbeat track (recording) id.", nullable=False),
    Column("isrc", "text", "International Standard Recording Code, 12 characters, no hyphens."),
    Column("title", "text", "Track title."),
    Column("artist_id", "text", "Main artist (catalog.artists)."),
    Column("album", "text", "Album the track was released on."),
    Column("release_date", "date", "Release date."),
    Column("duration_ms", "bigint", "Duration in milliseconds."),
    Column("genre", "text", "Genre label."),
    Column("explicit", "boolean", "Explicit lyrics flag."),
    Column("popularity", "bigint", "Popularity 0-100."),
    Column("work_id", "text", "The composition this recording embodies (rights.works)."),
    Column("audio_path", "text", "Reference audio file, relative to the catalog inbox; null when there is none."),
    Column("ingested_at", "timestamp", "When this row was ingested (UTC)."),
    primary_key=("track_id",),
    description="One row per recording in the catalog.",
)
