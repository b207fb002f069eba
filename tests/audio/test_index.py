"""The on-disk index: incremental rebuilds, removals, corrupt references, and what it stores."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from audio.fingerprint import FINGERPRINT_VERSION, HASH_BITS
from audio.index import (
    FingerprintIndex,
    IndexNotFoundError,
    IndexVersionError,
    _write_postings,
    build_index,
    track_file,
)
from tests.audio.conftest import CATALOG_SPECS, Catalog, synth_music, write_audio


@pytest.fixture
def small_catalog(tmp_path: Path) -> dict[str, Path]:
    """Four short tracks, fresh per test because the tests modify them."""
    return {
        f"t{i}": write_audio(tmp_path / "music" / f"t{i}.{ext}", synth_music(500 + i, 8.0))
        for i, ext in enumerate(["wav", "flac", "ogg", "wav"])
    }


def test_rebuilds_only_what_changed(tmp_path: Path, small_catalog: dict[str, Path]) -> None:
    index_dir = tmp_path / "index"
    first = build_index(small_catalog.items(), index_dir)
    assert (first.tracks_total, first.tracks_fingerprinted, first.tracks_reused) == (4, 4, 0)
    assert first.failures == []
    assert first.reference_seconds == pytest.approx(32.0, abs=0.01)

    again = build_index(small_catalog.items(), index_dir)
    assert (again.tracks_fingerprinted, again.tracks_reused, again.tracks_removed) == (0, 4, 0)
    assert again.n_hashes == first.n_hashes

    write_audio(small_catalog["t1"], synth_music(999, 8.0))  # new master for t1, same path
    changed = build_index(small_catalog.items(), index_dir)
    assert (changed.tracks_fingerprinted, changed.tracks_reused) == (1, 3)

    del small_catalog["t3"]
    removed = build_index(small_catalog.items(), index_dir)
    assert (removed.tracks_total, removed.tracks_fingerprinted, removed.tracks_removed) == (3, 0, 1)
    index = FingerprintIndex.open(index_dir)
    assert index.track_ids == ["t0", "t1", "t2"]
    assert index.n_hashes == removed.n_hashes
    assert len(list((index_dir / "tracks").glob("*.parquet"))) == 3


def test_moved_but_identical_file_is_reused(tmp_path: Path, small_catalog: dict[str, Path]) -> None:
    index_dir = tmp_path / "index"
    build_index(small_catalog.items(), index_dir)
    moved = small_catalog["t0"].rename(tmp_path / "moved.wav")
    report = build_index({**small_catalog, "t0": moved}.items(), index_dir)
    assert (report.tracks_fingerprinted, report.tracks_reused) == (0, 4)
    manifest = pl.read_parquet(index_dir / "manifest.parquet")
    assert manifest.filter(pl.col("track_id") == "t0")["path"].item() == str(moved)


def test_corrupt_reference_is_reported_and_skipped(tmp_path: Path, small_catalog: dict[str, Path]) -> None:
    index_dir = tmp_path / "index"
    build_index(small_catalog.items(), index_dir)
    small_catalog["t2"].write_bytes(b"\x00\x01garbage" * 500)
    missing = tmp_path / "music" / "gone.flac"
    report = build_index([*small_catalog.items(), ("t9", missing)], index_dir)
    assert report.tracks_total == 5
    assert [(track_id, path) for track_id, path, _ in report.failures] == [
        ("t2", str(small_catalog["t2"])),
        ("t9", str(missing)),
    ]
    assert "not decodable" in report.failures[0][2]
    assert "not found" in report.failures[1][2]
    # The corrupt file's old fingerprints are gone too: they describe audio we no longer have.
    assert FingerprintIndex.open(index_dir).track_ids == ["t0", "t1", "t3"]


def test_files_on_disk_have_the_documented_schema(catalog: Catalog) -> None:
    postings = catalog.index_dir / "postings"
    starts = np.load(postings / "bucket_starts.npy")
    codes = np.load(postings / "track_codes.npy")
    times = np.load(postings / "times.npy")
    assert (starts.dtype, codes.dtype, times.dtype) == (np.int64, np.uint16, np.uint16)  # narrowest that fit
    assert starts.size == (1 << HASH_BITS) + 1 and starts[0] == 0 and starts[-1] == codes.size == times.size
    assert np.all(np.diff(starts) >= 0)
    manifest = pl.read_parquet(catalog.index_dir / "manifest.parquet")
    assert manifest.columns == ["track_id", "path", "content_hash", "duration_s", "n_hashes"]
    durations = dict(zip(manifest["track_id"], manifest["duration_s"], strict=True))
    assert durations == {tid: pytest.approx(dur, abs=0.01) for tid, _, dur, _ in CATALOG_SPECS}
    assert np.bincount(codes, minlength=manifest.height).tolist() == manifest["n_hashes"].to_list()

    report = catalog.report
    assert report.tracks_fingerprinted == len(CATALOG_SPECS)
    assert report.n_hashes == codes.size == catalog.index.n_hashes
    assert report.index_bytes > codes.nbytes + times.nbytes


def test_postings_hold_every_cached_hash_sorted(catalog: Catalog) -> None:
    """Each bucket holds exactly the cached (track, t) rows of its hash, by track then time, and lookup finds them."""
    manifest = pl.read_parquet(catalog.index_dir / "manifest.parquet").sort("track_id")
    cached = pl.concat(
        pl.read_parquet(track_file(catalog.index_dir, track_id)).with_columns(code=pl.lit(code, pl.UInt32))
        for code, track_id in enumerate(manifest["track_id"])
    ).sort("hash", "code", "t")
    query = np.unique(cached["hash"].to_numpy())[::7]
    row, code, t = catalog.index.lookup(np.r_[query, 12345])
    expected = cached.filter(pl.col("hash").is_in(query.tolist()))
    assert np.array_equal(query[row], expected["hash"].to_numpy())
    assert np.array_equal(code, expected["code"].to_numpy()) and np.array_equal(t, expected["t"].to_numpy())


def test_track_lookup_finds_every_entry_of_the_asked_tracks(catalog: Catalog) -> None:
    """``track_lookup`` returns what an unlimited ``lookup`` returns for the asked tracks and none of the others,
    repeated query hashes each matched, a hash no track holds matched by nothing."""
    index = catalog.index
    cached = pl.read_parquet(track_file(catalog.index_dir, index.track_ids[1]))["hash"].to_numpy()
    query = np.r_[cached[::5], cached[:40], 12345].astype(np.int64)  # 40 hashes asked twice
    tracks = np.array([1, 4])
    row, code, t = index.lookup(query)
    wanted = np.isin(code, tracks)
    expected = sorted(zip(row[wanted].tolist(), code[wanted].tolist(), t[wanted].tolist(), strict=True))
    got_row, got_code, got_t = index.track_lookup(query, tracks)
    got = list(zip(got_row.tolist(), got_code.tolist(), got_t.tolist(), strict=True))
    assert got_code.dtype == np.uint32 and got_t.dtype == np.int32
    assert sorted(got) == expected and len(got) == len(expected) > 0
    assert set(got_code.tolist()) == {1, 4}
    assert index.track_lookup(query, np.array([], dtype=np.int64))[0].size == 0


def test_small_write_batches_give_the_same_postings(
    tmp_path: Path, small_catalog: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(small_catalog.items(), tmp_path / "one")
    monkeypatch.setattr("audio.index._WRITE_BATCH_ROWS", 100)  # many batches: the cursors must carry over
    build_index(small_catalog.items(), tmp_path / "many")
    for name in ("bucket_starts.npy", "track_codes.npy", "times.npy", "track_starts.npy", "track_hashes.npy"):
        one, many = (np.load(tmp_path / d / "postings" / name) for d in ("one", "many"))
        assert np.array_equal(one, many), name


def test_index_from_before_the_postings_is_converted_on_open(tmp_path: Path, small_catalog: dict[str, Path]) -> None:
    """An index written as one hashes.parquet (no postings) still opens, with the same lookups."""
    index_dir = tmp_path / "index"
    build_index(small_catalog.items(), index_dir)
    fresh = FingerprintIndex.open(index_dir)
    probe = np.arange(1 << HASH_BITS, dtype=np.uint32)
    expected = fresh.lookup(probe)
    manifest = pl.read_parquet(index_dir / "manifest.parquet")
    codes = np.load(index_dir / "postings" / "track_codes.npy")
    starts = np.load(index_dir / "postings" / "bucket_starts.npy")
    legacy = pl.DataFrame(
        {
            "hash": np.repeat(np.arange(1 << HASH_BITS, dtype=np.uint32), np.diff(starts)),
            "track_id": manifest["track_id"].gather(codes),
            "t": np.load(index_dir / "postings" / "times.npy"),
        }
    )
    shutil.rmtree(index_dir / "postings")
    shutil.rmtree(index_dir / "tracks")  # the old layout's cache may be gone too: hashes.parquet is enough
    legacy.write_parquet(index_dir / "hashes.parquet")
    manifest.write_parquet(
        index_dir / "manifest.parquet", metadata={"backbeat.fingerprint_version": FINGERPRINT_VERSION}
    )

    converted = FingerprintIndex.open(index_dir)
    assert converted.track_ids == fresh.track_ids and converted.n_hashes == fresh.n_hashes
    for got, want in zip(converted.lookup(probe), expected, strict=True):
        assert np.array_equal(got, want)
    assert not (index_dir / "hashes.parquet").exists()
    assert FingerprintIndex.open(index_dir).n_hashes == fresh.n_hashes  # converted once, then just mapped


def test_postings_of_another_build_are_rewritten(tmp_path: Path, small_catalog: dict[str, Path]) -> None:
    """Postings left by a build that died before its manifest was written are not trusted."""
    index_dir = tmp_path / "index"
    build_index(small_catalog.items(), index_dir)
    meta = index_dir / "postings" / "postings.json"
    meta.write_text(meta.read_text().replace('"build": "', '"build": "stale'))
    (index_dir / "postings" / "times.npy").unlink()
    index = FingerprintIndex.open(index_dir)
    assert index.n_hashes == int(pl.read_parquet(index_dir / "manifest.parquet")["n_hashes"].sum())


def test_open_without_an_index_names_the_directory(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match=str(tmp_path)) as caught:
        FingerprintIndex.open(tmp_path)
    assert isinstance(caught.value, FileNotFoundError)


def test_an_index_of_another_fingerprint_version_is_refused_until_built_again(
    tmp_path: Path, small_catalog: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queries of this version would not find the hashes another version stored: opening such an index says so
    (naming both versions), and building it again makes it usable."""
    index_dir = tmp_path / "index"
    build_index(small_catalog.items(), index_dir)
    monkeypatch.setattr("audio.index.FINGERPRINT_VERSION", "landmark-v9")
    with pytest.raises(IndexVersionError, match="landmark-v9") as caught:
        FingerprintIndex.open(index_dir)
    assert caught.value.found == FINGERPRINT_VERSION and str(index_dir) in str(caught.value)
    assert build_index(small_catalog.items(), index_dir).tracks_fingerprinted == 4
    assert FingerprintIndex.open(index_dir).track_ids == sorted(small_catalog)


def test_duplicate_track_ids_are_a_caller_error(tmp_path: Path, small_catalog: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="t0"):
        build_index([("t0", small_catalog["t0"]), ("t0", small_catalog["t1"])], tmp_path / "index")


def test_empty_catalog_builds_an_empty_index(tmp_path: Path) -> None:
    report = build_index([], tmp_path / "index")
    assert (report.tracks_total, report.n_hashes) == (0, 0)
    index = FingerprintIndex.open(tmp_path / "index")
    assert index.track_ids == [] and index.n_hashes == 0


def test_new_fingerprint_version_or_broken_manifest_redoes_everything(
    tmp_path: Path, small_catalog: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    build_index(small_catalog.items(), index_dir)
    monkeypatch.setattr("audio.index.FINGERPRINT_VERSION", "landmark-v2")
    assert build_index(small_catalog.items(), index_dir).tracks_fingerprinted == 4
    assert build_index(small_catalog.items(), index_dir).tracks_fingerprinted == 0
    (index_dir / "manifest.parquet").write_bytes(b"not parquet")
    report = build_index(small_catalog.items(), index_dir)
    assert (report.tracks_fingerprinted, report.failures) == (4, [])


def test_postings_writer_matches_a_full_sort_and_widens_long_tracks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random rows in many small batches come out exactly as one global sort; a track past 65,535 frames
    (25 minutes) is stored as int32, not wrapped."""
    rng = np.random.default_rng(3)
    n_tracks = 40
    hashes = rng.integers(0, 1 << HASH_BITS, 200_000).astype(np.uint32)
    codes = np.sort(rng.integers(0, n_tracks, hashes.size)).astype(np.uint32)
    times = rng.integers(0, 70_000, hashes.size).astype(np.int32)
    manifest = pl.DataFrame({"track_id": [f"t{i:02d}" for i in range(n_tracks)]})
    cuts = np.searchsorted(codes, np.arange(0, n_tracks, 7))[1:]  # batches of whole tracks, in code order

    def batches():
        yield from zip(np.split(hashes, cuts), np.split(codes, cuts), np.split(times, cuts), strict=True)

    monkeypatch.setattr("audio.index._WRITE_WINDOW_ROWS", 1_000)  # many windows per batch, some empty
    _write_postings(tmp_path, manifest, "b1", batches)
    order = np.lexsort((times, codes, hashes))
    postings = tmp_path / "postings"
    assert np.array_equal(np.load(postings / "track_codes.npy"), codes[order])
    stored_times = np.load(postings / "times.npy")
    assert stored_times.dtype == np.int32 and np.array_equal(stored_times, times[order])
    assert np.array_equal(
        np.diff(np.load(postings / "bucket_starts.npy")), np.bincount(hashes, minlength=1 << HASH_BITS)
    )
    # The track-major copy: the same rows by track, then hash, then time, each track's run bounded by track_starts.
    by_track = np.lexsort((times, hashes, codes))
    assert np.array_equal(np.load(postings / "track_hashes.npy"), hashes[by_track])
    assert np.array_equal(np.load(postings / "track_times.npy"), times[by_track])
    assert np.array_equal(np.diff(np.load(postings / "track_starts.npy")), np.bincount(codes, minlength=n_tracks))
