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

ALBUM_QUEUE = table(
    "catalog",
    "album_queue",
    Column("album_id", "text", "Spotify album id (22 base-62 characters).", nullable=False),
    Column("source", "text", "Service the album is ingested from (spotify)."),
    Column("status", "text", "queued, ingested or failed.", nullable=False),
    Column("reason", "text", "Why it failed (error class and message); null otherwise."),
    Column("attempts", "bigint", "Ingestion attempts so far."),
    Column("requested_in", "text", "Request file (or CLI) that queued it."),
    Column("requested_at", "timestamp", "When it was first queued (UTC)."),
    Column("updated_at", "timestamp", "When its status last changed (UTC)."),
    primary_key=("album_id",),
    description="One row per album an admin asked to ingest, and how far it got.",
)

SOURCE_RECORDINGS = table(
    "catalog",
    "source_recordings",
    Column("source", "text", "Where the record comes from: file, spotify or musicbrainz.", nullable=False),
    Column(
        "source_id", "text", "The record's id at its source (track id, Spotify id, MusicBrainz id).", nullable=False
    ),
    Column("isrc", "text", "ISRC as the source gives it; null when it gives none."),
    Column("title", "text", "Title as the source gives it."),
    Column("artist", "text", "Credited artist(s) as the source gives them."),
    Column("album", "text", "Album (release) title."),
    Column("album_id", "text", "Album id at the source."),
    Column("release_date", "date", "Release date (first day of the year or month when the source is less precise)."),
    Column("duration_ms", "bigint", "Duration in milliseconds."),
    Column("explicit", "boolean", "Explicit lyrics flag."),
    Column("popularity", "bigint", "Popularity 0-100 (Spotify)."),
    Column("genre", "text", "Genre (the artist's first genre at Spotify)."),
    Column("iswc", "text", "ISWC of the work the recording embodies (MusicBrainz work relation)."),
    Column(
        "withheld",
        "text",
        "Provenance of nulls: the fields the source did not provide and why, e.g. "
        "'popularity: not provided by Spotify (extended access required)'; null when complete.",
    ),
    Column("ingested_at", "timestamp", "When the record was fetched (UTC)."),
    primary_key=("source", "source_id"),
    description="One row per recording as one source describes it, before entity resolution.",
)

AUDIO_FEATURES = table(
    "catalog",
    "audio_features",
    Column("track_id", "text", "Catalog track.", nullable=False),
    Column("content_hash", "text", "Hash of the audio file the features were computed from.", nullable=False),
    Column("tempo_bpm", "double", "Tempo estimated from the audio, beats per minute."),
    Column("dj_bpm", "double", "Tempo folded (half/double time) into the genre's DJ range."),
    Column("musical_key", "text", "Key in standard notation, e.g. A minor."),
    Column("camelot_key", "text", "The key on the Camelot wheel, e.g. 8A."),
    Column("open_key", "text", "The key in Open Key notation, e.g. 1m."),
    Column("key_confidence", "double", "Correlation of the chroma profile with the key's profile, 0-1."),
    Column("energy", "double", "Energy-like loudness feature, 0-1."),
    Column("loudness_db", "double", "Mean loudness, dBFS."),
    Column("provenance", "text", "How the features were computed (library, version, method)."),
    primary_key=("track_id",),
    description="One row per track with audio: tempo, key and energy computed from the audio by Backbeat.",
)

GOLDEN_RECORDINGS = table(
    "catalog",
    "golden_recordings",
    Column("golden_id", "text", "Backbeat golden recording id.", nullable=False),
    Column("isrc", "text", "ISRC."),
    Column("isrc_source", "text", "Source record the ISRC was taken from (source:source_id)."),
    Column("title", "text", "Title."),
    Column("title_source", "text", "Source record the title was taken from."),
    Column("artist", "text", "Credited artist(s)."),
    Column("artist_source", "text", "Source record the artist was taken from."),
    Column("album", "text", "Album."),
    Column("album_source", "text", "Source record the album was taken from."),
    Column("duration_ms", "bigint", "Duration in milliseconds."),
    Column("duration_ms_source", "text", "Source record the duration was taken from."),
    Column("release_date", "date", "Release date."),
    Column("release_date_source", "text", "Source record the release date was taken from."),
    Column("iswc", "text", "ISWC of the work."),
    Column("iswc_source", "text", "Source record the ISWC was taken from."),
    Column("members", "bigint", "Source records resolved into this recording."),
    primary_key=("golden_id",),
    description="One row per real recording across sources; every field names the source record it came from.",
)

RECORDING_LINKS = table(
    "catalog",
    "recording_links",
    Column("source", "text", "Source of the record.", nullable=False),
    Column("source_id", "text", "The record's id at its source.", nullable=False),
    Column("golden_id", "text", "Golden recording it was resolved into.", nullable=False),
    Column("match_rule", "text", "Why: isrc, fuzzy (title/artist/duration) or self."),
    Column("score", "double", "Fuzzy score 0-100 of the link (100 for ISRC and self)."),
    primary_key=("source", "source_id"),
    description="One row per source record: the golden recording it belongs to and why.",
)

RESOLUTION_REVIEW = table(
    "catalog",
    "resolution_review",
    Column("left_key", "text", "One record (source:source_id).", nullable=False),
    Column("right_key", "text", "The other record.", nullable=False),
    Column("score", "double", "Fuzzy score 0-100."),
    Column("reason", "text", "Why the pair is uncertain."),
    primary_key=("left_key", "right_key"),
    description="One row per pair of records that may be the same recording: left unmerged for a person to decide.",
)

SOURCE_ALBUMS = table(
    "catalog",
    "source_albums",
    Column("source", "text", "Service the album comes from (spotify).", nullable=False),
    Column("album_id", "text", "Album id at the source.", nullable=False),
    Column("name", "text", "Album title."),
    Column("album_type", "text", "album, single or compilation."),
    Column("artist", "text", "Album artist(s), comma-separated as credited."),
    Column("release_date", "date", "Release date (first day of the year or month when the source is less precise)."),
    Column("release_date_precision", "text", "day, month or year: how precise the source's release date is."),
    Column("label", "text", "Record label."),
    Column("upc", "text", "Universal Product Code of the release."),
    Column("total_tracks", "bigint", "Tracks on the album, as the source counts them."),
    Column(
        "withheld",
        "text",
        "Provenance of nulls: the fields the source did not provide and why, e.g. "
        "'popularity: not provided by Spotify (extended access required)'; null when complete.",
    ),
    Column("ingested_at", "timestamp", "When the album was fetched (UTC)."),
    primary_key=("source", "album_id"),
    description="One row per album fetched from a streaming service (the album queue's ingested albums).",
)

SOURCE_ARTISTS = table(
    "catalog",
    "source_artists",
    Column("source", "text", "Service the artist comes from (spotify).", nullable=False),
    Column("artist_id", "text", "Artist id at the source.", nullable=False),
    Column("name", "text", "Artist name."),
    Column("genres", "text", "The artist's genres at the source, '; '-separated, most specific first as given."),
    Column("popularity", "bigint", "Popularity 0-100 (Spotify)."),
    Column(
        "withheld",
        "text",
        "Provenance of nulls: the fields the source did not provide and why, e.g. "
        "'popularity: not provided by Spotify (extended access required)'; null when complete.",
    ),
    Column("ingested_at", "timestamp", "When the artist was fetched (UTC)."),
    primary_key=("source", "artist_id"),
    description="One row per artist credited on an ingested album or track, with genres.",
)

MUSICBRAINZ_LOOKUPS = table(
    "catalog",
    "musicbrainz_lookups",
    Column("isrc", "text", "ISRC looked up at MusicBrainz.", nullable=False),
    Column("status", "text", "found, not_found or malformed.", nullable=False),
    Column("recordings", "bigint", "MusicBrainz recordings carrying the ISRC."),
    Column("reason", "text", "Why a malformed answer was quarantined; null otherwise."),
    Column("looked_up_at", "timestamp", "When it was looked up (UTC)."),
    primary_key=("isrc",),
    description="One row per ISRC asked of MusicBrainz, misses included, so no ISRC is asked twice.",
)

RECORDING_DUPLICATES = table(
    "catalog",
    "recording_duplicates",
    Column("golden_id", "text", "Golden recording listed more than once by one source.", nullable=False),
    Column("source", "text", "The source that lists it more than once.", nullable=False),
    Column("records", "bigint", "How many of the source's records resolved into it."),
    Column("source_ids", "text", "Those records' ids at the source, comma-separated."),
    Column("title", "text", "Golden title."),
    Column("artist", "text", "Golden artist."),
    primary_key=("golden_id", "source"),
    description="One row per golden recording and source that lists it more than once (duplicate report).",
)
