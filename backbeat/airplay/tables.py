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

CAPTURE_GAPS = table(
    "airplay",
    "capture_gaps",
    Column("station_id", "text", "Station whose stream was not captured.", nullable=False),
    Column("gap_date", "date", "UTC day of the gap's start (the partition)."),
    Column("gap_start_utc", "timestamp", "End of the last captured audio (UTC).", nullable=False),
    Column("gap_end_utc", "timestamp", "Start of the next captured audio, or the stop (UTC)."),
    Column("seconds", "double", "Length of the gap in seconds."),
    Column("reason", "text", "Why: connection reset, HTTP 503 (x3), HTTP 404 on HLS segment, ..."),
    Column("attempts", "bigint", "Connection attempts that failed during the gap."),
    primary_key=("station_id", "gap_start_utc"),
    description="One row per stretch of air time that capture missed, and why (from landing/_gaps/).",
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
    Column("speed", "double", "Estimated playback speed factor (1.0 = normal; radio speeds songs up by 1-4 %)."),
    Column("runner_up_track_id", "text", "Another catalog track claiming the same audio (a version clash), if any."),
    Column("runner_up_confidence", "double", "Confidence of that runner-up."),
    primary_key=("chunk_id", "track_id"),
    description="One row per chunk × track match.",
)

DETECTION_CANDIDATES = table(
    "airplay",
    "detection_candidates",
    Column("chunk_id", "text", "Chunk.", nullable=False),
    Column("station_id", "text", "Station."),
    Column("chunk_date", "date", "UTC day of the chunk (the partition)."),
    Column("track_id", "text", "Candidate track.", nullable=False),
    Column("rank", "bigint", "1 = the detection; 2.. = close runners-up claiming the same audio."),
    Column("score", "bigint", "Fingerprint hashes voting for the candidate."),
    Column("confidence", "double", "Candidate confidence, 0 to 1."),
    Column("speed", "double", "Estimated playback speed factor."),
    primary_key=("chunk_id", "track_id"),
    description="One row per chunk × candidate track: the best match and its close runners-up with their scores.",
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
    Column("speed", "double", "Playback speed factor (median of its detections; 1.0 = normal)."),
    Column("runner_up_track_id", "text", "Strongest other track claiming the same audio (a version clash), if any."),
    Column("runner_up_confidence", "double", "Confidence of that runner-up."),
    Column(
        "aired_start_utc",
        "timestamp",
        "UTC moment the song began on air as its fingerprints place it: start_utc, or up to 15 s earlier when the "
        "song's top went unheard (noise, a talk-over) and no other matched audio was heard there.",
    ),
    primary_key=("play_id",),
    description="One row per play: station, track, start, end.",
)

PROGRAM_WINDOWS = table(
    "airplay",
    "program_windows",
    Column("station_id", "text", "Station broadcasting the programme.", nullable=False),
    Column("program_id", "text", "Programme (show) id.", nullable=False),
    Column("name", "text", "Programme name."),
    Column("weekday", "bigint", "Local weekday, Monday = 0.", nullable=False),
    Column("start_minute", "bigint", "Start, minutes after local midnight.", nullable=False),
    Column(
        "end_minute",
        "bigint",
        "End (exclusive), minutes after local midnight; windows crossing midnight are split in two.",
        nullable=False,
    ),
    primary_key=("station_id", "weekday", "start_minute"),
    description="One row per weekly programme window in the station's local time.",
)

PROGRAM_OVERRIDES = table(
    "airplay",
    "program_overrides",
    Column("station_id", "text", "Station.", nullable=False),
    Column("start_utc", "timestamp", "Start of the corrected period (UTC).", nullable=False),
    Column("end_utc", "timestamp", "End of the corrected period (UTC, exclusive)."),
    Column("program_id", "text", "Programme that actually aired."),
    Column("changed_by", "text", "Who made the correction."),
    Column("changed_at", "timestamp", "When the correction was made (UTC)."),
    Column("note", "text", "Why."),
    Column("source_file", "text", "File the correction came from."),
    Column("source_row", "bigint", "Line in that file."),
    primary_key=("station_id", "start_utc", "changed_at"),
    description="One row per manual correction of which programme aired, kept with who made it and when.",
)

PLAY_PROGRAMS = table(
    "airplay",
    "play_programs",
    Column("play_id", "text", "Play (airplay.playlogs).", nullable=False),
    Column("station_id", "text", "Station."),
    Column("play_date", "date", "UTC day the play started (the partition)."),
    Column("program_id", "text", "Programme the play aired in; null when unscheduled."),
    Column("program_name", "text", "Programme name."),
    Column("attribution", "text", "override, schedule or unscheduled."),
    Column("override_by", "text", "Who made the override that decided it, if any."),
    Column("override_at", "timestamp", "When that override was made (UTC)."),
    primary_key=("play_id",),
    description="One row per play: the programme (show) it aired in.",
)

CAPTURE_SESSIONS = table(
    "airplay",
    "capture_sessions",
    Column("session_id", "text", "One run of one station's capture in `backbeat capture-all`.", nullable=False),
    Column("station_id", "text", "Station captured.", nullable=False),
    Column("state", "text", "queued, connecting, running, reconnecting, restarting, stopped, refused or interrupted."),
    Column("detail", "text", "Why the state: the reason a stream was lost, a refusal, the failure."),
    Column("host", "text", "Machine running the capture."),
    Column("pid", "bigint", "Process id of the capture service on that host."),
    Column("started_at", "timestamp", "When the session began (UTC)."),
    Column("stopped_at", "timestamp", "When it ended (UTC); null while it runs."),
    Column("heartbeat_at", "timestamp", "Last time the service wrote this row (UTC)."),
    Column("heartbeat_seconds", "double", "How often the service writes: a live row older than 3 beats is stale."),
    Column("resumed_after_utc", "timestamp", "End of the audio captured before this session (the gap's start)."),
    Column("last_chunk_id", "text", "The last chunk this session wrote."),
    Column("last_chunk_at", "timestamp", "End of the audio of that chunk (UTC)."),
    Column("chunks", "bigint", "Chunks written by this session."),
    Column("gaps", "bigint", "Gaps logged by this session (the restart gap included)."),
    Column("restarts", "bigint", "Times the service restarted this station's capture after a failure."),
    Column("last_error", "text", "The last unexpected failure, if any."),
    primary_key=("session_id",),
    description="One row per capture session of a station: its state, where it runs, its last chunk and errors.",
)

STATION_DAY_STATUS = table(
    "airplay",
    "station_day_status",
    Column("station_id", "text", "Station.", nullable=False),
    Column("status_date", "date", "UTC day processed.", nullable=False),
    Column(
        "stage",
        "text",
        "Which asset processed it: stream_chunks, detections, playlogs, play_programs or royalty_ledger.",
        nullable=False,
    ),
    Column("shard", "text", "The station's shard (s00…s31): with the day, the partition that processed it."),
    Column("status", "text", "ok, or empty when the stage had nothing for the station that day."),
    Column(
        "row_count",
        "bigint",
        "Rows written for the station-day (chunks, detections, plays); the ledger: plays paid for.",
    ),
    Column("detail", "text", "What else the stage counted (rejected files, unpriced plays, ...), as text."),
    Column("run_id", "text", "The Dagster run that processed it last."),
    Column("updated_at", "timestamp", "When (UTC)."),
    primary_key=("station_id", "status_date", "stage"),
    description="One row per station, UTC day and pipeline stage: what the day × shard partition that holds the "
    "station did for it, so a station's state is visible though partitions are by shard, not by station. Each stage "
    "writes its own rows: capture with airplay/stream_chunks, then detections, playlogs, play_programs and the "
    "royalty ledger in their steps.",
)
