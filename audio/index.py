"""The on-disk fingerprint index of the reference catalog, rebuilt incrementally.

Layout under ``index_dir``:

- ``tracks/<track>.parquet`` — one file per track (hash, t): the cache that makes rebuilds incremental;
- ``hashes.parquet`` — every track's hashes with ``track_id``, sorted by hash: what the matcher loads;
- ``manifest.parquet`` — one row per indexed track: path, content hash, duration, hash count.

A track is fingerprinted again only when its file bytes change (xxhash of the content, so a moved or
re-tagged-but-identical file is not redone) or when the fingerprint algorithm version changes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import xxhash

from audio.decode import SAMPLE_RATE, AudioDecodeError, decode_audio
from audio.fingerprint import FINGERPRINT_VERSION, FRAME_SECONDS, HASH_BITS, landmark_hashes

HASHES_FILE = "hashes.parquet"
MANIFEST_FILE = "manifest.parquet"
TRACKS_DIR = "tracks"

MANIFEST_SCHEMA = pl.Schema(
    {
        "track_id": pl.String,
        "path": pl.String,
        "content_hash": pl.String,
        "duration_s": pl.Float64,
        "n_hashes": pl.Int64,
    }
)
INDEX_SCHEMA = {"hash": pl.UInt32, "track_id": pl.String, "t": pl.Int32}

_VERSION_KEY = "backbeat.fingerprint_version"
_READ_BLOCK = 1 << 20


class IndexNotFoundError(FileNotFoundError):
    """No built fingerprint index in the given directory."""

    def __init__(self, index_dir: Path) -> None:
        super().__init__(f"no fingerprint index in {index_dir} (run build_index first)")
        self.index_dir = index_dir


@dataclass
class IndexBuildReport:
    """What a build did; ``failures`` holds (track_id, path, reason) for files that were skipped."""

    tracks_total: int = 0
    tracks_fingerprinted: int = 0
    tracks_reused: int = 0
    tracks_removed: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    n_hashes: int = 0
    index_bytes: int = 0
    reference_seconds: float = 0.0


def content_hash(path: Path) -> str:
    """xxh3-64 hex digest of the file's bytes, read in blocks."""
    digest = xxhash.xxh3_64()
    with open(path, "rb") as handle:
        while block := handle.read(_READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _track_file(index_dir: Path, track_id: str) -> Path:
    # Track ids are free text (ISRCs, catalogue paths); keep them readable but filesystem-safe, and
    # disambiguate ids that sanitise to the same name with a hash of the original.
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", track_id)[:80]
    return index_dir / TRACKS_DIR / f"{safe}-{xxhash.xxh32_hexdigest(track_id.encode())}.parquet"


def _write_atomic(frame: pl.DataFrame, path: Path, metadata: dict[str, str] | None = None) -> None:
    # Write then rename, so a crash never leaves a half-written file the next build would trust.
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp, metadata=metadata)
    os.replace(tmp, path)


def _read_manifest(index_dir: Path) -> pl.DataFrame:
    manifest_path = index_dir / MANIFEST_FILE
    if not manifest_path.exists():
        return pl.DataFrame(schema=MANIFEST_SCHEMA)
    try:
        if pl.read_parquet_metadata(manifest_path).get(_VERSION_KEY) != FINGERPRINT_VERSION:
            # Hashes from another algorithm version cannot be mixed with new ones: redo everything.
            return pl.DataFrame(schema=MANIFEST_SCHEMA)
        return pl.read_parquet(manifest_path).cast(MANIFEST_SCHEMA)
    except (pl.exceptions.PolarsError, OSError):
        # An unreadable manifest only costs a full re-fingerprint; it must not block the build.
        return pl.DataFrame(schema=MANIFEST_SCHEMA)


def _fingerprint_track(track_id: str, path: Path, digest: str, index_dir: Path) -> dict[str, Any]:
    samples = decode_audio(path)
    hashes = landmark_hashes(samples)
    _write_atomic(hashes, _track_file(index_dir, track_id))
    return {
        "track_id": track_id,
        "path": str(path),
        "content_hash": digest,
        "duration_s": samples.size / SAMPLE_RATE,
        "n_hashes": hashes.height,
    }


def _dir_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def build_index(
    tracks: Iterable[tuple[str, Path]], index_dir: Path, progress: Callable[[int, int], None] | None = None
) -> IndexBuildReport:
    """Bring the index in ``index_dir`` in line with ``tracks`` (track_id, path) and report what changed.

    Unreadable reference files are listed in ``report.failures`` and left out of the index; they
    never stop the build. Duplicate track ids are a caller bug and raise ``ValueError``.
    ``progress(done, total)`` is called after each track (fingerprinted, reused or failed).
    """
    index_dir = Path(index_dir)
    (index_dir / TRACKS_DIR).mkdir(parents=True, exist_ok=True)
    wanted = [(str(track_id), Path(path)) for track_id, path in tracks]
    ids = [track_id for track_id, _ in wanted]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate track ids: {dupes[:10]}")

    previous = {row["track_id"]: row for row in _read_manifest(index_dir).iter_rows(named=True)}
    report = IndexBuildReport(tracks_total=len(wanted))
    rows: list[dict[str, Any]] = []
    for track_id, path in wanted:
        try:
            if not path.is_file():
                raise AudioDecodeError(path, "file not found")
            digest = content_hash(path)
            old = previous.get(track_id)
            if old and old["content_hash"] == digest and _track_file(index_dir, track_id).exists():
                rows.append({**old, "path": str(path)})
                report.tracks_reused += 1
                continue
            rows.append(_fingerprint_track(track_id, path, digest, index_dir))
            report.tracks_fingerprinted += 1
        except (AudioDecodeError, OSError) as exc:
            reason = exc.reason if isinstance(exc, AudioDecodeError) else f"{type(exc).__name__}: {exc}"
            report.failures.append((track_id, str(path), reason))
        finally:
            if progress is not None:
                progress(len(rows) + len(report.failures), len(wanted))

    report.tracks_removed = len(set(previous) - set(ids))
    manifest = pl.DataFrame(rows, schema=MANIFEST_SCHEMA).sort("track_id")
    keep = {_track_file(index_dir, track_id) for track_id in manifest["track_id"]}
    for stale in (index_dir / TRACKS_DIR).glob("*.parquet"):
        if stale not in keep:  # removed tracks, and failed ones whose old fingerprints no longer apply
            stale.unlink()

    _write_combined(manifest, index_dir)
    _write_atomic(manifest, index_dir / MANIFEST_FILE, metadata={_VERSION_KEY: FINGERPRINT_VERSION})
    report.n_hashes = int(manifest["n_hashes"].sum())
    report.reference_seconds = float(manifest["duration_s"].sum())
    report.index_bytes = _dir_bytes(index_dir)
    return report


def _write_combined(manifest: pl.DataFrame, index_dir: Path) -> None:
    """Concatenate the per-track files into one hash-sorted file (streamed, so it scales past RAM)."""
    target = index_dir / HASHES_FILE
    if manifest.is_empty():
        _write_atomic(pl.DataFrame(schema=INDEX_SCHEMA), target)
        return
    parts = [
        pl.scan_parquet(_track_file(index_dir, track_id)).select(
            "hash", pl.lit(track_id, dtype=pl.String).alias("track_id"), "t"
        )
        for track_id in manifest["track_id"]
    ]
    tmp = target.with_name(target.name + ".tmp")
    pl.concat(parts).sort("hash", "track_id", "t").sink_parquet(tmp)
    os.replace(tmp, target)


class FingerprintIndex:
    """A built index, loaded once into memory as hash-sorted arrays for fast lookups.

    Track ids are held as integer codes into ``track_ids`` so a lookup returns compact columns.
    """

    def __init__(
        self, index_dir: Path, manifest: pl.DataFrame, hashes: np.ndarray, track_codes: np.ndarray, times: np.ndarray
    ) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self._hashes = hashes
        self._track_codes = track_codes
        self._times = times
        # Direct-address table over the whole hash space: entries with hash h are rows
        # starts[h]:starts[h + 1] of the hash-sorted arrays. 2^22 slots cost 16 MB and turn each lookup
        # into two array reads instead of two binary searches.
        counts = np.bincount(hashes, minlength=1 << HASH_BITS) if hashes.size else np.zeros(1 << HASH_BITS, np.int64)
        dtype = np.int32 if hashes.size < np.iinfo(np.int32).max else np.int64
        self._starts = np.zeros((1 << HASH_BITS) + 1, dtype=dtype)
        np.cumsum(counts, out=self._starts[1:])

    @classmethod
    def open(cls, index_dir: Path) -> FingerprintIndex:
        """Load the index written by ``build_index``; raises ``IndexNotFoundError`` when there is none."""
        index_dir = Path(index_dir)
        if not (index_dir / HASHES_FILE).is_file() or not (index_dir / MANIFEST_FILE).is_file():
            raise IndexNotFoundError(index_dir)
        manifest = pl.read_parquet(index_dir / MANIFEST_FILE).sort("track_id")
        track_ids = manifest["track_id"].to_list()
        table = pl.read_parquet(index_dir / HASHES_FILE).select(
            "hash",
            pl.col("track_id").cast(pl.Enum(track_ids)).to_physical().cast(pl.UInt32).alias("code"),
            "t",
        )
        return cls(
            index_dir,
            manifest,
            table["hash"].to_numpy(),
            table["code"].to_numpy(),
            table["t"].to_numpy(),
        )

    @property
    def track_ids(self) -> list[str]:
        """Indexed track ids; position i is the track whose code is i in ``lookup`` results."""
        return self.manifest["track_id"].to_list()

    @property
    def n_tracks(self) -> int:
        return self.manifest.height

    @property
    def n_hashes(self) -> int:
        return int(self._hashes.size)

    def track_frames(self) -> np.ndarray:
        """Length of each track in STFT frames, indexed by track code."""
        return (self.manifest["duration_s"].to_numpy() / FRAME_SECONDS).astype(np.int64) + 1

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every index entry whose hash equals one of ``hashes``.

        Returns (query_row, track_code, t_ref): ``query_row`` is the position in ``hashes`` that matched.
        The index is sorted by hash, so each query hash is one contiguous run, found in ``_starts``.
        """
        hashes = np.asarray(hashes, dtype=np.uint32)
        lo = self._starts[hashes]
        counts = self._starts[hashes + 1] - lo
        query_row = np.repeat(np.arange(hashes.size), counts)
        # Entry of the j-th match overall = lo[its query] + (j - where its query's run starts).
        position = np.arange(query_row.size, dtype=np.int64)
        position += np.repeat(lo - (np.cumsum(counts) - counts), counts)
        return query_row, self._track_codes[position], self._times[position]
