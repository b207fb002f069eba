"""Warehouse tables owned by the airplay domain."""

from integrations.warehouse import Column, table

STATIONS = table(
    "airplay",
    "stations",
    Column("station_id", "text", "Station id: lowercase letters, digits and hyphens.", nullable=False),
    Column("name", "text", "Station name."),
    Column("stream_url", "text", "URL of the live stream that capture records."),
    Column("active", "boolean", "Whether the station is captured and matched."),
    Column("timezone", "text", "IANA time zone of the station's programme schedule."),
    primary_key=("station_id",),
    description="One row per radio station.",
)

STREAM_CHUNKS = table(
    "airplay",
    "stream_chunks",
    Column("chunk_id", "text", "File name without extension: {station}_{YYYYmmddTHHMMSSZ}.", nullable=False),
    Column("station_id", "text", "Station that was captured."),
    Column("chunk_date", "date", "UTC day of the chunk's start (the partition)."),
    Column("start_utc", "timestamp", "UTC start of the chunk, from its name."),
    Column("duration_s", "double", "Audio duration in seconds."),
    Column("path", "text", "Path of the chunk file."),
    Column("format", "text", "Audio container (flac, ogg, mp3, ...)."),
    Column("size_bytes", "bigint", "File size in bytes."),
    primary_key=("chunk_id",),
    description="One row per readable captured chunk of a station's stream.",
)

DETECTIONS = table(
    "airplay",
    "detections",
    Column("chunk_id", "text", "Chunk in which the track was heard.", nullable=False),
    Column("station_id", "text", "Station."),
    Column("chunk_date", "date", "UTC day of the chunk (the partition)."),
    Column("chunk_start_utc", "timestamp", "UTC start of the chunk."),
    Column("track_id", "text", "Matched catalog track.", nullable=False),
    Column("track_offset_s", "double", "Position in the track at the chunk's start (negative: starts mid-chunk)."),
    Column("query_start_s", "double", "Start of the matched span inside the chunk, seconds."),
    Column("query_end_s", "double", "End of the matched span inside the chunk, seconds."),
    Column("score", "bigint", "Fingerprint hashes voting for this match."),
    Column("confidence", "double", "Match confidence, 0 to 1."),
    primary_key=("chunk_id", "track_id"),
    description="One row per chunk × track match.",
)

PLAYLOGS = table(
    "airplay",
    "playlogs",
    Column("play_id", "text", "Deterministic id of the play: station, track and start.", nullable=False),
    Column("station_id", "text", "Station that played the track."),
    Column("track_id", "text", "Catalog track played."),
    Column("play_date", "date", "UTC day the play started (the partition)."),
    Column("start_utc", "timestamp", "UTC start of the play, to the second."),
    Column("end_utc", "timestamp", "UTC end of the play, to the second."),
    Column("duration_s", "bigint", "Seconds of airplay."),
    Column("confidence", "double", "Confidence of the play, 0 to 1."),
    Column("detection_count", "bigint", "Chunk detections merged into this play."),
    primary_key=("play_id",),
    description="One row per play: station, track, start, end.",
)
