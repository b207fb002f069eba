"""The DJ library side of the catalog: audio features kept per content hash, DJ fields, the Rekordbox frame.

Plain Python (no Dagster). Features are computed from the audio by `audio.features.compute_features`, by
default from the middle `excerpt_s` seconds of each track: tempo, key and energy of a song's body are stable
within 20 s, and the key analysis costs about 0.05 s per second of audio, so whole tracks would take minutes
per album. The provenance records the excerpt.
"""

import hashlib
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from audio.decode import decode_audio
from audio.features import FEATURE_RATE, PROVENANCE, AudioFeatures, compute_features
from backbeat.catalog.dj import Key, KeyParseError, normalise_bpm
from backbeat.common.safe_paths import confined_path

RAW_FEATURES = ("tempo_bpm", "musical_key", "key_confidence", "energy", "loudness_db")
_HASH_CHUNK = 1 << 20


def content_hash(path: Path) -> str:
    """`sha256:<hex>` of the file's bytes: the features are recomputed only when this changes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def analysis_provenance(excerpt_s: float) -> str:
    """What the features say about how they were computed: library, version, method, and the excerpt."""
    return PROVENANCE + (f"; middle {excerpt_s:g} s" if excerpt_s > 0 else "; whole track")


def middle_excerpt(samples: np.ndarray, sample_rate: int, excerpt_s: float) -> np.ndarray:
    """The middle `excerpt_s` seconds of `samples` (all of them when shorter, or when `excerpt_s` <= 0)."""
    length = int(excerpt_s * sample_rate)
    if excerpt_s <= 0 or samples.size <= length:
        return samples
    start = (samples.size - length) // 2
    return samples[start : start + length]


def analyse(path: Path, excerpt_s: float) -> AudioFeatures:
    """Features of one audio file (or its middle excerpt), with the provenance saying which.

    Raises `audio.decode.AudioDecodeError` for an unreadable file and `ValueError` for one without samples.
    """
    samples = middle_excerpt(decode_audio(path, FEATURE_RATE), FEATURE_RATE, excerpt_s)
    return replace(compute_features(samples, FEATURE_RATE), provenance=analysis_provenance(excerpt_s))


def raw_feature_row(features: AudioFeatures) -> dict:
    """The stored (genre-independent) part of a feature row; the key in standard notation."""
    key = None
    if features.key:
        try:
            key = Key.parse(features.key).standard
        except KeyParseError:
            key = None
    return {
        "tempo_bpm": features.tempo_bpm,
        "musical_key": key,
        "key_confidence": features.key_confidence,
        "energy": features.energy,
        "loudness_db": features.loudness_db,
        "provenance": features.provenance,
    }


def dj_fields(tempo_bpm: float | None, musical_key: str | None, genre: str | None) -> dict:
    """DJ BPM (folded into the genre's range) and the key in Camelot and Open Key notation."""
    dj_bpm = None
    if tempo_bpm is not None and math.isfinite(tempo_bpm) and tempo_bpm > 0:
        dj_bpm = round(normalise_bpm(tempo_bpm, genre), 2)
    camelot = open_key = None
    if musical_key:
        try:
            key = Key.parse(musical_key)
            camelot, open_key = key.camelot, key.open_key
        except KeyParseError:
            pass
    return {"dj_bpm": dj_bpm, "camelot_key": camelot, "open_key": open_key}


@dataclass(frozen=True)
class PreviousFeatures:
    """A stored feature row, reusable when the audio's hash and the analysis provenance are unchanged."""

    content_hash: str
    provenance: str
    raw: dict

    def reusable(self, digest: str, provenance: str) -> bool:
        return self.content_hash == digest and self.provenance == provenance


def previous_features(stored: pl.DataFrame) -> dict[str, PreviousFeatures]:
    """Stored feature rows by track id."""
    return {
        row["track_id"]: PreviousFeatures(
            row["content_hash"], row["provenance"] or "", {k: row[k] for k in (*RAW_FEATURES, "provenance")}
        )
        for row in stored.iter_rows(named=True)
    }


def rekordbox_frame(
    tracks: pl.DataFrame,
    artists: pl.DataFrame,
    features: pl.DataFrame,
    golden: pl.DataFrame,
    links: pl.DataFrame,
    audio_root: Path,
) -> pl.DataFrame:
    """One row per catalog track with audio and features, as `backbeat.catalog.rekordbox` wants it.

    Title, artist and album come from the track's golden recording (the best value across sources), falling
    back to the catalog's own; BPM is the DJ BPM, the key in standard notation; location is absolute.
    """
    names = artists.select("artist_id", pl.col("name").alias("catalog_artist"))
    best = (
        links.filter(pl.col("source") == "file")
        .select(pl.col("source_id").alias("track_id"), "golden_id")
        .join(
            golden.select(
                "golden_id",
                pl.col("title").alias("g_title"),
                pl.col("artist").alias("g_artist"),
                pl.col("album").alias("g_album"),
            ),
            on="golden_id",
            how="left",
        )
    )
    frame = (
        tracks.filter(pl.col("audio_path").is_not_null())
        .join(features.select("track_id", "dj_bpm", "musical_key"), on="track_id", how="inner")
        .join(names, on="artist_id", how="left")
        .join(best, on="track_id", how="left")
        .sort("track_id")
    )
    locations = [str(confined_path(audio_root, p)) for p in frame["audio_path"].to_list()]
    return frame.select(
        "track_id",
        pl.coalesce("g_title", "title").alias("title"),
        pl.Series("location", locations, dtype=pl.String),
        pl.coalesce("g_artist", "catalog_artist").alias("artist"),
        pl.coalesce("g_album", "album").alias("album"),
        "genre",
        "duration_ms",
        pl.col("dj_bpm").alias("bpm"),
        pl.col("musical_key").alias("key"),
    )
