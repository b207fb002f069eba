"""Airplay matching: decode audio, fingerprint the catalog into an index, match radio chunks, merge plays.

Plain Python with no Dagster imports, so the CLI, benchmarks and assets can all use it.
"""

from audio.decode import SAMPLE_RATE, AudioDecodeError, decode_audio, probe_duration_s
from audio.fingerprint import FRAME_SECONDS, landmark_hashes
from audio.index import FingerprintIndex, IndexBuildReport, IndexNotFoundError, IndexVersionError, build_index
from audio.matcher import CANDIDATE_SCHEMA, DETECTION_SCHEMA, ChunkFailure, ChunkRef, MatchResult, match_chunks
from audio.plays import PLAY_SCHEMA, merge_detections

__all__ = [
    "CANDIDATE_SCHEMA",
    "DETECTION_SCHEMA",
    "FRAME_SECONDS",
    "PLAY_SCHEMA",
    "SAMPLE_RATE",
    "AudioDecodeError",
    "ChunkFailure",
    "ChunkRef",
    "FingerprintIndex",
    "IndexBuildReport",
    "IndexNotFoundError",
    "IndexVersionError",
    "MatchResult",
    "build_index",
    "decode_audio",
    "landmark_hashes",
    "match_chunks",
    "merge_detections",
    "probe_duration_s",
]
