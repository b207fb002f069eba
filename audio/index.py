"""The on-disk fingerprint index of the reference catalog, rebuilt incrementally and read memory-mapped.

Layout under ``index_dir``:

- ``tracks/<track>.parquet`` — one file per track (hash, t): the cache that makes rebuilds incremental;
- ``postings/`` — every track's hashes as flat arrays, memory-mapped by the matcher:
  ``bucket_starts.npy`` (int64, 2^HASH_BITS + 1 entries: the entries with hash h are rows
  ``bucket_starts[h]:bucket_starts[h + 1]``), ``track_codes.npy`` (a row's track as its position in the manifest sorted
  by track id; uint16 up to 65,536 tracks, else uint32) and ``times.npy`` (the anchor frame; uint16 when every
  track is under 25 minutes, else int32), rows sorted by hash, then track,
  then time; the same rows track by track, for re-voting a few tracks with all their hashes
  (``track_starts.npy``: int64, one more entry than tracks; ``track_hashes.npy``: uint32 and ``track_times.npy``,
  rows sorted by track, then hash, then time); ``postings.json`` names the manifest build they belong to;
- ``manifest.parquet`` — one row per indexed track: path, content hash, duration, hash count.

A track is fingerprinted again only when its file bytes change (xxhash of the content, so a moved or
re-tagged-but-identical file is not redone) or when the fingerprint algorithm version changes.

Opening never reads the postings into memory: ``np.load(mmap_mode="r")`` maps them, a lookup reads two bucket
bounds per query hash and the slices between them, and the resident memory is the pages those reads touched
(the OS drops them again under pressure). The postings are written by a counting sort straight into
memory-mapped output files, a batch of tracks at a time, so building never holds all hashes in memory either.
An index directory written before the postings existed (one ``hashes.parquet``) is converted on first open.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import xxhash

from audio.decode import SAMPLE_RATE, AudioDecodeError, decode_audio
from audio.fingerprint import FINGERPRINT_VERSION, FRAME_SECONDS, HASH_BITS, landmark_hashes

MANIFEST_FILE = "manifest.parquet"
TRACKS_DIR = "tracks"
POSTINGS_DIR = "postings"
STARTS_FILE = "bucket_starts.npy"
CODES_FILE = "track_codes.npy"
TIMES_FILE = "times.npy"
TRACK_STARTS_FILE = "track_starts.npy"
TRACK_HASHES_FILE = "track_hashes.npy"
TRACK_TIMES_FILE = "track_times.npy"
POSTINGS_META = "postings.json"
# What indexes before the flat postings held instead: converted on first open.
LEGACY_HASHES_FILE = "hashes.parquet"

MANIFEST_SCHEMA = pl.Schema(
    {
        "track_id": pl.String,
        "path": pl.String,
        "content_hash": pl.String,
        "duration_s": pl.Float64,
        "n_hashes": pl.Int64,
    }
)

_VERSION_KEY = "backbeat.fingerprint_version"
_BUILD_KEY = "backbeat.index_build"
_READ_BLOCK = 1 << 20
# Rows of postings placed per batch while writing: 4 M rows are ~300 MB of sort temporaries.
_WRITE_BATCH_ROWS = 4_000_000
# Rows of each postings file mapped at once while writing (32 MB of uint16).
_WRITE_WINDOW_ROWS = 16_000_000
N_BUCKETS = 1 << HASH_BITS


class IndexNotFoundError(FileNotFoundError):
    """No built fingerprint index in the given directory."""

    def __init__(self, index_dir: Path) -> None:
        super().__init__(f"no fingerprint index in {index_dir} (run build_index first)")
        self.index_dir = index_dir


class IndexVersionError(RuntimeError):
    """An index whose hashes another fingerprint version computed: this code's queries would not find them."""

    def __init__(self, index_dir: Path, found: str | None) -> None:
        super().__init__(
            f"the fingerprint index in {index_dir} was built by fingerprint version {found or 'unknown'}, and this "
            f"code computes {FINGERPRINT_VERSION}: build it again (materialize airplay/reference_fingerprints, run "
            "`backbeat fingerprint index`, or call build_index), which fingerprints every track anew"
        )
        self.index_dir = index_dir
        self.found = found


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


def track_file(index_dir: Path, track_id: str) -> Path:
    """Where a track's cached fingerprints live in ``index_dir``."""
    # Track ids are free text (ISRCs, catalogue paths); keep them readable but filesystem-safe, and
    # disambiguate ids that sanitise to the same name with a hash of the original.
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", track_id)[:80]
    return Path(index_dir) / TRACKS_DIR / f"{safe}-{xxhash.xxh32_hexdigest(track_id.encode())}.parquet"


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


def store_track(
    index_dir: Path, track_id: str, hashes: pl.DataFrame, *, path: str, content_hash: str, duration_s: float
) -> dict[str, Any]:
    """Cache one track's fingerprints (``landmark_hashes`` output) in ``index_dir``; returns its manifest row.

    ``build_index`` does this for decoded files; callers that make audio themselves (generated benchmark
    music) use it directly and then ``write_index``.
    """
    (Path(index_dir) / TRACKS_DIR).mkdir(parents=True, exist_ok=True)
    _write_atomic(hashes.select("hash", "t"), track_file(index_dir, track_id))
    return {
        "track_id": track_id,
        "path": path,
        "content_hash": content_hash,
        "duration_s": duration_s,
        "n_hashes": hashes.height,
    }


def _fingerprint_track(track_id: str, path: Path, digest: str, index_dir: Path) -> dict[str, Any]:
    samples = decode_audio(path)
    return store_track(
        index_dir,
        track_id,
        landmark_hashes(samples),
        path=str(path),
        content_hash=digest,
        duration_s=samples.size / SAMPLE_RATE,
    )


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
            if old and old["content_hash"] == digest and track_file(index_dir, track_id).exists():
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
    manifest = write_index(index_dir, rows)
    report.n_hashes = int(manifest["n_hashes"].sum())
    report.reference_seconds = float(manifest["duration_s"].sum())
    report.index_bytes = _dir_bytes(index_dir)
    return report


def write_index(index_dir: Path, rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """Make ``index_dir`` hold exactly the tracks of ``rows`` (manifest rows whose fingerprints are cached
    there, see ``store_track``): delete other cached tracks, write the postings, then the manifest.
    """
    index_dir = Path(index_dir)
    (index_dir / TRACKS_DIR).mkdir(parents=True, exist_ok=True)
    manifest = pl.DataFrame(list(rows), schema=MANIFEST_SCHEMA).sort("track_id")
    keep = {track_file(index_dir, track_id) for track_id in manifest["track_id"]}
    for stale in (index_dir / TRACKS_DIR).glob("*.parquet"):
        if stale not in keep:  # removed tracks, and failed ones whose old fingerprints no longer apply
            stale.unlink()
    build_id = uuid.uuid4().hex
    _write_postings(index_dir, manifest, build_id)
    _write_atomic(
        manifest, index_dir / MANIFEST_FILE, metadata={_VERSION_KEY: FINGERPRINT_VERSION, _BUILD_KEY: build_id}
    )
    (index_dir / LEGACY_HASHES_FILE).unlink(missing_ok=True)
    return manifest


def _track_batches(index_dir: Path, manifest: pl.DataFrame) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(hash, track code, t) of the cached tracks, in manifest order, a few million rows at a time."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    rows = 0
    for code, track_id in enumerate(manifest["track_id"]):
        frame = pl.read_parquet(track_file(index_dir, track_id), columns=["hash", "t"])
        hashes = frame["hash"].to_numpy()
        parts.append((hashes, np.full(hashes.size, code, dtype=np.uint32), frame["t"].to_numpy()))
        rows += hashes.size
        if rows >= _WRITE_BATCH_ROWS:
            yield tuple(np.concatenate(column) for column in zip(*parts, strict=True))  # type: ignore[misc]
            parts, rows = [], 0
    if parts:
        yield tuple(np.concatenate(column) for column in zip(*parts, strict=True))  # type: ignore[misc]


def _write_postings(
    index_dir: Path,
    manifest: pl.DataFrame,
    build_id: str,
    batches: Callable[[], Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]] | None = None,
) -> None:
    """Counting sort of every cached hash into the flat postings, through memory-mapped files.

    Pass 1 counts the rows per hash bucket (the bucket table) and per track; pass 2 places each batch's rows at
    their bucket's cursor. Batches come in track-code order and are sorted by (hash, code, t) before placing, so
    every bucket ends up sorted by track, then time; sorted by (code, hash, t) they are appended to the track-major
    copy. Only one batch, the 32 MB bucket table and one window of each output file are in memory.
    """
    read = batches or (lambda: _track_batches(index_dir, manifest))
    counts = np.zeros(N_BUCKETS, dtype=np.int64)
    per_track = np.zeros(manifest.height, dtype=np.int64)
    max_t = 0
    for hashes, track_codes, ts in read():
        counts += np.bincount(hashes, minlength=N_BUCKETS)
        per_track += np.bincount(track_codes, minlength=manifest.height)
        max_t = max(max_t, int(ts.max(initial=0)))
    starts = np.zeros(N_BUCKETS + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    track_starts = np.zeros(manifest.height + 1, dtype=np.int64)
    np.cumsum(per_track, out=track_starts[1:])
    total = int(starts[-1])

    target = index_dir / POSTINGS_DIR
    tmp = index_dir / f"{POSTINGS_DIR}.tmp-{uuid.uuid4().hex}"  # unique: two processes may convert at once
    tmp.mkdir(parents=True)
    np.save(tmp / STARTS_FILE, starts)
    np.save(tmp / TRACK_STARTS_FILE, track_starts)
    # The narrowest types that hold this index: 2 bytes each up to 65,535 tracks (a shard) and 25 minutes.
    code_type = np.uint16 if manifest.height <= np.iinfo(np.uint16).max + 1 else np.uint32
    time_type = np.uint16 if max_t <= np.iinfo(np.uint16).max else np.int32
    outputs = {}
    for name, dtype in (
        (CODES_FILE, code_type),
        (TIMES_FILE, time_type),
        (TRACK_HASHES_FILE, np.uint32),
        (TRACK_TIMES_FILE, time_type),
    ):
        created = np.lib.format.open_memmap(tmp / name, mode="w+", dtype=dtype, shape=(total,))
        outputs[name] = (tmp / name, created.dtype, created.offset)
        del created
    cursor = starts[:-1].copy()
    appended = 0
    for hashes, track_codes, ts in read():
        by_track = np.lexsort((ts, hashes, track_codes))
        at = np.arange(appended, appended + hashes.size, dtype=np.int64)
        _write_windows(*outputs[TRACK_HASHES_FILE], at, hashes[by_track])
        _write_windows(*outputs[TRACK_TIMES_FILE], at, ts[by_track])
        appended += hashes.size
        order = np.lexsort((ts, track_codes, hashes))
        hashes = hashes[order]
        # Row k of the sorted batch goes to its bucket's cursor plus its rank among the batch's rows of that hash:
        # positions rise with k, so the batch is written window by window of the files.
        rank = np.arange(hashes.size, dtype=np.int64) - np.searchsorted(hashes, hashes, side="left")
        position = cursor[hashes] + rank
        cursor += np.bincount(hashes, minlength=N_BUCKETS)
        _write_windows(*outputs[CODES_FILE], position, track_codes[order])
        _write_windows(*outputs[TIMES_FILE], position, ts[order])
    (tmp / POSTINGS_META).write_text(json.dumps({"build": build_id, "n_hashes": total, "n_tracks": manifest.height}))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


def _write_windows(path: Path, dtype: np.dtype, offset: int, position: np.ndarray, values: np.ndarray) -> None:
    """``file[position] = values`` for rising ``position``, mapping one window of the file at a time: the pages
    a window touches leave this process's resident set when it is unmapped, so a big index is written with
    ~``_WRITE_WINDOW_ROWS`` of it mapped, not all of it."""
    bounds = np.searchsorted(position, np.arange(0, int(position[-1]) + 1 if position.size else 0, _WRITE_WINDOW_ROWS))
    for lo, hi in zip(bounds, [*bounds[1:], position.size], strict=True):
        if lo == hi:
            continue
        first, last = int(position[lo]), int(position[hi - 1])
        window = np.memmap(
            path, dtype=dtype, mode="r+", offset=offset + first * dtype.itemsize, shape=(last - first + 1,)
        )
        window[position[lo:hi] - first] = values[lo:hi]
        window.flush()
        del window


def _legacy_batches(index_dir: Path, manifest: pl.DataFrame) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The rows of a pre-postings ``hashes.parquet`` as one batch in track-code order (such indexes are small)."""
    table = (
        pl.read_parquet(index_dir / LEGACY_HASHES_FILE)
        .select(
            "hash",
            pl.col("track_id").cast(pl.Enum(manifest["track_id"].to_list())).to_physical().cast(pl.UInt32),
            "t",
        )
        .sort("track_id", maintain_order=True)
    )
    yield table["hash"].to_numpy(), table["track_id"].to_numpy(), table["t"].to_numpy()


def _ensure_postings(index_dir: Path, manifest: pl.DataFrame, build_id: str | None) -> None:
    """Rewrite the postings when they are missing or belong to another manifest (an interrupted build, or an
    index written before postings, or before their track-major copy, existed), from the cached tracks or else the
    legacy ``hashes.parquet``."""
    meta_path = index_dir / POSTINGS_DIR / POSTINGS_META
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    if (
        build_id is not None
        and meta.get("build") == build_id
        and (index_dir / POSTINGS_DIR / TRACK_STARTS_FILE).is_file()
    ):
        return
    build_id = build_id or uuid.uuid4().hex
    if all(track_file(index_dir, track_id).is_file() for track_id in manifest["track_id"]):
        _write_postings(index_dir, manifest, build_id)
    elif (index_dir / LEGACY_HASHES_FILE).is_file():
        _write_postings(index_dir, manifest, build_id, lambda: _legacy_batches(index_dir, manifest))
    else:
        raise IndexNotFoundError(index_dir)
    version = pl.read_parquet_metadata(index_dir / MANIFEST_FILE).get(_VERSION_KEY, "")
    manifest_file = index_dir / MANIFEST_FILE
    _write_atomic(pl.read_parquet(manifest_file), manifest_file, metadata={_VERSION_KEY: version, _BUILD_KEY: build_id})
    (index_dir / LEGACY_HASHES_FILE).unlink(missing_ok=True)


class FingerprintIndex:
    """A built index, its postings memory-mapped: lookups read only the buckets they ask for.

    Track ids are held as integer codes into ``track_ids`` so a lookup returns compact columns.
    """

    def __init__(self, index_dir: Path, manifest: pl.DataFrame, postings: dict[str, np.ndarray]) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self._starts = postings[STARTS_FILE]
        self._track_codes = postings[CODES_FILE]
        self._times = postings[TIMES_FILE]
        self._track_starts = postings[TRACK_STARTS_FILE]
        self._track_hashes = postings[TRACK_HASHES_FILE]
        self._track_times = postings[TRACK_TIMES_FILE]

    @classmethod
    def open(cls, index_dir: Path) -> FingerprintIndex:
        """Map the index written by ``build_index``; raises ``IndexNotFoundError`` when there is none and
        ``IndexVersionError`` when another fingerprint version built it."""
        index_dir = Path(index_dir)
        manifest_path = index_dir / MANIFEST_FILE
        if not manifest_path.is_file():
            raise IndexNotFoundError(index_dir)
        metadata = pl.read_parquet_metadata(manifest_path)
        if metadata.get(_VERSION_KEY) != FINGERPRINT_VERSION:
            raise IndexVersionError(index_dir, metadata.get(_VERSION_KEY))
        manifest = pl.read_parquet(manifest_path).sort("track_id")
        _ensure_postings(index_dir, manifest, metadata.get(_BUILD_KEY))
        postings = index_dir / POSTINGS_DIR
        names = (STARTS_FILE, CODES_FILE, TIMES_FILE, TRACK_STARTS_FILE, TRACK_HASHES_FILE, TRACK_TIMES_FILE)
        return cls(index_dir, manifest, {name: np.load(postings / name, mmap_mode="r") for name in names})

    @property
    def track_ids(self) -> list[str]:
        """Indexed track ids; position i is the track whose code is i in ``lookup`` results."""
        return self.manifest["track_id"].to_list()

    @property
    def n_tracks(self) -> int:
        return self.manifest.height

    @property
    def n_hashes(self) -> int:
        return int(self._track_codes.size)

    @property
    def mean_bucket_size(self) -> float:
        """Entries per bucket over the whole 2^HASH_BITS hash space (empty buckets included)."""
        return self.n_hashes / (self._starts.size - 1)

    def bucket_sizes(self, hashes: np.ndarray) -> np.ndarray:
        """Entries in the bucket of each of ``hashes`` (read-only: two reads of the bucket table per hash)."""
        hashes = np.asarray(hashes, dtype=np.int64)
        sizes: np.ndarray = np.asarray(self._starts[hashes + 1]) - np.asarray(self._starts[hashes])
        return sizes

    def track_frames(self) -> np.ndarray:
        """Length of each track in STFT frames, indexed by track code."""
        return (self.manifest["duration_s"].to_numpy() / FRAME_SECONDS).astype(np.int64) + 1

    def lookup(
        self, hashes: np.ndarray, max_bucket: float | None = None, max_entries: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every index entry whose hash equals one of ``hashes``; with ``max_bucket``, none of a hash whose bucket
        holds more entries than that (a crowded hash says little, and costs the most); with ``max_entries``, at
        most that many entries in all, taken from the least crowded buckets first (whole buckets; ties in the
        order of ``hashes``), so what a lookup costs stops growing with the catalog.

        Returns (query_row, track_code, t_ref): ``query_row`` is the position in ``hashes`` that matched.
        Each query hash is one contiguous run of the postings, bounded by two reads of the bucket table (the
        same two reads give the bucket's size, so skipping crowded buckets costs no extra read).
        """
        return self.budgeted_lookup(hashes, max_bucket, max_entries)[:3]

    def budgeted_lookup(
        self, hashes: np.ndarray, max_bucket: float | None = None, max_entries: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, bool]:
        """``lookup``, whether ``max_entries`` left out any bucket within ``max_bucket``, and whether either limit
        left out any entry at all (False: these are every entry of every hash)."""
        hashes = np.asarray(hashes, dtype=np.int64)
        lo = np.asarray(self._starts[hashes])
        counts = np.asarray(self._starts[hashes + 1]) - lo
        crowded_buckets = counts > max_bucket if max_bucket is not None else np.zeros(0, dtype=bool)
        crowded = bool(crowded_buckets.any())
        if crowded:
            counts[crowded_buckets] = 0
        over_budget = max_entries is not None and int(counts.sum()) > max_entries
        if over_budget:
            counts[~_within_budget(counts, int(max_entries or 0))] = 0
        query_row, position = _expand_runs(lo, counts)
        # Stored as narrow as the index allows (see ``_write_postings``); handed out in the documented types.
        codes = self._track_codes[position].astype(np.uint32)
        return query_row, codes, self._times[position].astype(np.int32), over_budget, crowded or over_budget

    def track_lookup(self, hashes: np.ndarray, tracks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every entry of the given track codes whose hash equals one of ``hashes``, crowded or not: what
        ``lookup`` without limits returns for those tracks, read from the track-major copy (each track one
        contiguous run), in the same form (query_row, track_code, t_ref), ordered by track.

        The runs are read with ``os.pread``, not through the memory map: a day of chunks asks for thousands of
        different tracks, and mapped pages would stay in the matcher's resident set (read pages stay in the OS
        page cache only)."""
        hashes = np.asarray(hashes, dtype=np.int64)
        tracks = np.asarray(tracks, dtype=np.int64)
        first, last = np.asarray(self._track_starts[tracks]), np.asarray(self._track_starts[tracks + 1])
        run_hashes = _read_runs(self._track_hashes, first, last)
        # Most of a track's entries share no hash with a chunk: a table of the chunk's hashes (one byte per
        # bucket) sets them aside before the search for the query rows of the rest.
        asked = np.zeros(self._starts.size - 1, dtype=bool)
        asked[hashes] = True
        shared = np.flatnonzero(asked[run_hashes])
        run_start = np.cumsum(last - first) - (last - first)
        entry_code = tracks[np.searchsorted(run_start, shared, side="right") - 1]
        entry_hash = run_hashes[shared].astype(np.int64)
        entry_time = _read_runs(self._track_times, first, last)[shared]
        by_hash = np.argsort(hashes, kind="stable")
        sorted_hashes = hashes[by_hash]
        lo = np.searchsorted(sorted_hashes, entry_hash, side="left")
        matches = np.searchsorted(sorted_hashes, entry_hash, side="right") - lo
        entry, position = _expand_runs(lo, matches)  # position: the matching query in hash order
        return by_hash[position], entry_code[entry].astype(np.uint32), entry_time[entry].astype(np.int32)


def _expand_runs(lo: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run i covers rows ``lo[i] : lo[i] + counts[i]``: (owning run, row) of every row of every run, in order."""
    owner = np.repeat(np.arange(counts.size), counts)
    # Row of the j-th item overall = lo[its run] + (j - where its run starts among the items).
    row = np.arange(owner.size, dtype=np.int64)
    row += np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return owner, row


def _read_runs(mapped: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Rows ``first[i]:last[i]`` of a memory-mapped ``.npy`` file (as ``np.load(mmap_mode="r")`` opens every
    postings file, even an empty one), concatenated, read with ``os.pread``."""
    assert isinstance(mapped, np.memmap) and mapped.filename is not None, "the postings are always mapped"
    size = mapped.dtype.itemsize
    handle = os.open(mapped.filename, os.O_RDONLY)
    try:
        parts = [
            np.frombuffer(os.pread(handle, int(b - a) * size, mapped.offset + int(a) * size), dtype=mapped.dtype)
            for a, b in zip(first, last, strict=True)
        ]
    finally:
        os.close(handle)
    return np.concatenate([np.zeros(0, mapped.dtype), *parts])


def _within_budget(counts: np.ndarray, budget: int) -> np.ndarray:
    """Which of the buckets (``counts`` entries each) to take for at most ``budget`` entries in all: the smallest
    first, whole buckets, ties in order of position — what a stable sort by size and a running total would keep,
    found from a histogram of the sizes instead of a sort (tens of thousands of query hashes per chunk).
    """
    entries_by_size = np.bincount(counts, weights=counts)
    through_size = np.cumsum(entries_by_size)
    threshold = int(np.searchsorted(through_size, budget, side="right"))  # the first size that no longer fits whole
    keep = counts < threshold
    if threshold < entries_by_size.size:
        room = budget - (int(through_size[threshold - 1]) if threshold else 0)
        at_threshold = np.flatnonzero(counts == threshold)
        keep[at_threshold[: room // max(threshold, 1)]] = True
    return keep
