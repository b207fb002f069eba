"""`backbeat fingerprint index|match` and `backbeat playlogs` end to end on generated audio, via CliRunner."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import polars as pl
from click.testing import CliRunner

from backbeat.commands.fingerprint import fingerprint, playlogs
from tests.audio.conftest import SYNTH_RATE, add_white_noise, synth_music, write_audio


def test_index_match_playlogs(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    songs = {"song-a": synth_music(301, 70.0), "song-b": synth_music(302, 40.0)}
    write_audio(refs / "song-a.flac", songs["song-a"])
    write_audio(refs / "nested" / "song-b.wav", songs["song-b"])
    runner = CliRunner()

    indexed = runner.invoke(fingerprint, ["index", str(refs), "--index", str(tmp_path / "index")])
    assert indexed.exit_code == 0, indexed.output
    assert "2 tracks: 2 fingerprinted, 0 reused, 0 removed, 0 failed" in indexed.output
    assert "per hour" in indexed.output
    again = runner.invoke(fingerprint, ["index", str(refs), "--index", str(tmp_path / "index")])
    assert "0 fingerprinted, 2 reused" in again.output

    # 90 s of radio: 10 s of filler, song A (70 s), 10 s of filler; then a misnamed and a corrupt chunk.
    stream = add_white_noise(np.concatenate([synth_music(303, 10.0), songs["song-a"], synth_music(304, 10.0)]), 15)
    chunks = tmp_path / "chunks"
    for n, stamp in enumerate(["20240501T120000Z", "20240501T120030Z", "20240501T120100Z"]):
        write_audio(chunks / f"radio-1_{stamp}.flac", stream[30 * n * SYNTH_RATE : 30 * (n + 1) * SYNTH_RATE])
    write_audio(chunks / "Radio One 12h00.flac", stream[: 30 * SYNTH_RATE])
    (chunks / "radio-1_20240501T120130Z.mp3").write_bytes(b"ID3" + bytes(range(256)) * 40)

    out = tmp_path / "detections.parquet"
    matched = runner.invoke(
        fingerprint, ["match", str(chunks), "--index", str(tmp_path / "index"), "--out", str(out), "--batch-size", "2"]
    )
    assert matched.exit_code == 0, matched.output
    assert "3 chunks matched, 2 skipped" in matched.stdout
    assert "Radio One 12h00.flac" in matched.stderr and "does not match" in matched.stderr
    assert "radio-1_20240501T120130Z.mp3" in matched.stderr
    detections = pl.read_parquet(out)
    assert set(detections["track_id"]) == {"song-a"} and detections.height == 3

    plays_csv = tmp_path / "plays.csv"
    merged = runner.invoke(playlogs, [str(out), "--out", str(plays_csv)])
    assert merged.exit_code == 0, merged.output
    with open(plays_csv, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["station", "track_id", "start_utc", "end_utc", "confidence"]
    assert len(rows) == 2
    station, track, start, end, confidence = rows[1]
    assert (station, track) == ("radio-1", "song-a")
    assert start in {"2024-05-01T12:00:09Z", "2024-05-01T12:00:10Z", "2024-05-01T12:00:11Z"}
    assert end in {"2024-05-01T12:01:19Z", "2024-05-01T12:01:20Z", "2024-05-01T12:01:21Z"}
    assert 0.5 < float(confidence) <= 1.0


def test_catalog_csv_names_tracks_and_unreadable_chunks_fail(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    write_audio(refs / "a.wav", synth_music(311, 20.0))
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("track_id,path\nISRC-0001,a.wav\nISRC-0002,missing.wav\n")
    runner = CliRunner()
    indexed = runner.invoke(
        fingerprint, ["index", str(refs), "--index", str(tmp_path / "index"), "--catalog", str(catalog)]
    )
    assert indexed.exit_code == 0, indexed.output
    assert "1 fingerprinted" in indexed.output and "1 failed" in indexed.output
    assert "ISRC-0002" in indexed.stderr

    chunks = tmp_path / "chunks"
    chunks.mkdir()
    (chunks / "radio-1_20240501T120000Z.ogg").write_bytes(b"OggS" + b"\x00" * 300)
    failed = runner.invoke(
        fingerprint, ["match", str(chunks), "--index", str(tmp_path / "index"), "--out", str(tmp_path / "d.parquet")]
    )
    assert failed.exit_code == 1
    assert "radio-1_20240501T120000Z.ogg" in failed.stderr


def test_match_against_an_index_of_another_fingerprint_version_is_a_usage_error(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    write_audio(refs / "song-a.flac", synth_music(305, 40.0))
    runner = CliRunner()
    assert runner.invoke(fingerprint, ["index", str(refs), "--index", str(tmp_path / "index")]).exit_code == 0
    manifest = tmp_path / "index" / "manifest.parquet"
    pl.read_parquet(manifest).write_parquet(manifest, metadata={"backbeat.fingerprint_version": "landmark-v1"})
    chunks = tmp_path / "chunks"
    write_audio(chunks / "radio-1_20240501T120000Z.flac", synth_music(306, 30.0))
    out = tmp_path / "detections.parquet"
    matched = runner.invoke(fingerprint, ["match", str(chunks), "--index", str(tmp_path / "index"), "--out", str(out)])
    assert matched.exit_code == 2
    assert "landmark-v1" in matched.output and "build it again" in matched.output
    assert not out.exists()
    # Indexing again fingerprints every track anew, and then the chunks match.
    again = runner.invoke(fingerprint, ["index", str(refs), "--index", str(tmp_path / "index")])
    assert "1 fingerprinted, 0 reused" in again.output
    rematched = runner.invoke(
        fingerprint, ["match", str(chunks), "--index", str(tmp_path / "index"), "--out", str(out)]
    )
    assert rematched.exit_code == 0, rematched.output
