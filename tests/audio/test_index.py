"""The on-disk index: incremental rebuilds, removals, corrupt references, and what it stores."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from audio.index import FingerprintIndex, IndexNotFoundError, build_index
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
    hashes = pl.read_parquet(catalog.index_dir / "hashes.parquet")
    assert hashes.schema == pl.Schema({"hash": pl.UInt32, "track_id": pl.String, "t": pl.Int32})
    assert hashes["hash"].is_sorted()
    manifest = pl.read_parquet(catalog.index_dir / "manifest.parquet")
    assert manifest.columns == ["track_id", "path", "content_hash", "duration_s", "n_hashes"]
    durations = dict(zip(manifest["track_id"], manifest["duration_s"], strict=True))
    assert durations == {tid: pytest.approx(dur, abs=0.01) for tid, _, dur, _ in CATALOG_SPECS}
    per_track = hashes.group_by("track_id").len()
    assert dict(per_track.iter_rows()) == dict(zip(manifest["track_id"], manifest["n_hashes"], strict=True))

    report = catalog.report
    assert report.tracks_fingerprinted == len(CATALOG_SPECS)
    assert report.n_hashes == hashes.height == catalog.index.n_hashes
    assert report.index_bytes > (catalog.index_dir / "hashes.parquet").stat().st_size


def test_open_without_an_index_names_the_directory(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match=str(tmp_path)) as caught:
        FingerprintIndex.open(tmp_path)
    assert isinstance(caught.value, FileNotFoundError)


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
