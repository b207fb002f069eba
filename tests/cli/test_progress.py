"""Long commands show a progress bar on a terminal, stay quiet without one, and print a JSON summary with --json.

The terminal is a real pseudo-terminal: the CLI runs in a subprocess whose stdin, stdout and stderr are the pty's
slave end, so rich sees a TTY exactly as it does for a person at a shell.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from backbeat.commands.catalog import catalog
from backbeat.commands.fingerprint import fingerprint
from backbeat.progress import track
from tests.audio.conftest import SYNTH_RATE, synth_music, write_audio

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
BAR_GLYPHS = ("━", "╸", "╺")
ALBUM_IDS = ["4aawyAB9vmqN3uQ7FjRGTy", "1DFixLWuPkv3KT3TnV35m3", "6DEjYFkNZh67HP7R9PSZvv"]


def strip_ansi(raw: bytes) -> str:
    """The text a person would read: escape codes and carriage returns removed."""
    return ANSI.sub("", raw.decode("utf-8", errors="replace"))


def frames(raw: bytes) -> str:
    """Like `strip_ansi`, but each redraw of the bar on its own line (a readable transcript)."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw.decode("utf-8", errors="replace"))
    return "\n".join(line for line in re.split(r"\r\n|\r|\n", text) if line.strip())


def run_in_pty(args: list[str], cwd: Path, timeout_s: float = 240.0) -> tuple[int, bytes]:
    """Run `python -m backbeat.cli ARGS` with a pseudo-terminal as stdin, stdout and stderr; (exit code, bytes)."""
    master, slave = os.openpty()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_TERMINAL"}
    }
    env.update(TERM="xterm", COLUMNS="110", LINES="40", PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [sys.executable, "-m", "backbeat.cli", *args],
        cwd=cwd,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    captured = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout_s)
            if not ready:
                process.kill()
                raise AssertionError(f"no output for {timeout_s} s; so far: {strip_ansi(bytes(captured))[-2000:]}")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the slave end
                break
            if not data:
                break
            captured += data
    finally:
        os.close(master)
    return process.wait(timeout=30), bytes(captured)


def write_refs(folder: Path) -> None:
    for n, seed in enumerate((401, 402, 403)):
        write_audio(folder / f"song-{n}.wav", synth_music(seed, 12.0))


def write_chunks(folder: Path) -> None:
    stream = np.concatenate([synth_music(401, 12.0), synth_music(402, 12.0), synth_music(403, 12.0)])
    for n, stamp in enumerate(["20240501T120000Z", "20240501T120012Z", "20240501T120024Z"]):
        write_audio(folder / f"radio-1_{stamp}.wav", stream[12 * n * SYNTH_RATE : 12 * (n + 1) * SYNTH_RATE])


def test_fingerprint_commands_draw_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    write_refs(tmp_path / "refs")
    index_args = ["fingerprint", "index", "refs", "--index", "index"]
    code, raw = run_in_pty(index_args, cwd=tmp_path)
    text = strip_ansi(raw)
    assert code == 0, text
    assert "fingerprinting" in text and "3/3" in text and "100%" in text
    assert any(glyph in text for glyph in BAR_GLYPHS)
    assert "tracks/s" in text and "ETA" in text
    assert "3 tracks: 3 fingerprinted, 0 reused, 0 removed, 0 failed" in text  # the one-line summary
    assert text.index("3/3") < text.index("3 tracks: 3 fingerprinted")  # the bar finished before the summary

    write_chunks(tmp_path / "chunks")
    (tmp_path / "chunks" / "radio-1_20240501T120036Z.wav").write_bytes(b"RIFF" + b"\x00" * 64)
    match_args = ["fingerprint", "match", "chunks", "--index", "index", "--out", "d.parquet", "--batch-size", "2"]
    code, raw = run_in_pty(match_args, cwd=tmp_path)
    text = strip_ansi(raw)
    assert code == 0, text
    assert "matching" in text and "4/4" in text and "chunks/s" in text  # redraws are timed, so only the last
    assert "3 chunks matched, 1 skipped" in text
    assert "radio-1_20240501T120036Z.wav" in text  # the failure names its file, after the bar


def test_no_terminal_means_no_bar_and_json_gives_the_counts(tmp_path: Path) -> None:
    write_refs(tmp_path / "refs")
    (tmp_path / "refs" / "broken.wav").write_bytes(b"RIFF" + b"\x00" * 64)
    runner = CliRunner()
    indexed = runner.invoke(
        fingerprint, ["index", str(tmp_path / "refs"), "--index", str(tmp_path / "index"), "--json"]
    )
    assert indexed.exit_code == 0, indexed.output
    summary = json.loads(indexed.stdout)
    assert (summary["done"], summary["total"], summary["tracks"]) == (4, 4, 4)
    assert (summary["fingerprinted"], summary["reused"], summary["failed"]) == (3, 0, 1)
    assert summary["hashes"] > 0 and summary["command"] == "fingerprint index"
    assert "broken" in indexed.stderr and "broken.wav" in indexed.stderr  # errors: stderr, with file and reason
    assert not any(glyph in indexed.stderr for glyph in BAR_GLYPHS) and "3/4" not in indexed.stderr

    write_chunks(tmp_path / "chunks")
    out = tmp_path / "d.parquet"
    matched = runner.invoke(
        fingerprint,
        [
            "match",
            str(tmp_path / "chunks"),
            "--index",
            str(tmp_path / "index"),
            "--out",
            str(out),
            "--batch-size",
            "2",
            "--json",
        ],
    )
    assert matched.exit_code == 0, matched.output
    summary = json.loads(matched.stdout)
    assert (summary["done"], summary["total"], summary["matched"], summary["skipped"]) == (3, 3, 3, 0)
    assert summary["detections"] >= 3 and summary["out"] == str(out)
    assert matched.stderr == ""

    # Without --json the summary is the usual single line, still with no bar.
    plain = runner.invoke(fingerprint, ["index", str(tmp_path / "refs"), "--index", str(tmp_path / "index")])
    assert plain.stdout.strip().splitlines() == [plain.stdout.strip()]
    assert plain.stdout.startswith("4 tracks: 0 fingerprinted, 3 reused, 0 removed, 1 failed")


def test_catalog_add_from_a_file_reports_counts_as_json(tmp_path: Path) -> None:
    refs = tmp_path / "albums.txt"
    refs.write_text("\n".join(f"spotify:album:{i}" for i in ALBUM_IDS) + f"\n{ALBUM_IDS[0]}\n")
    runner = CliRunner()
    added = runner.invoke(catalog, ["--data-dir", str(tmp_path / "data"), "add", "--file", str(refs), "--json"])
    assert added.exit_code == 0, added.output
    summary = json.loads(added.stdout)
    assert (summary["done"], summary["total"], summary["requested"], summary["already_requested"]) == (4, 4, 3, 0)
    assert added.stderr == ""

    refs.write_text(f"{ALBUM_IDS[1]}\nnot-an-album\n")
    bad = runner.invoke(catalog, ["--data-dir", str(tmp_path / "data"), "add", "--file", str(refs), "--json"])
    assert bad.exit_code == 1 and bad.stdout == ""
    assert f"{refs}:2" in bad.stderr  # the file and line, then the reason


def test_the_core_reports_each_track_and_each_batch(tmp_path: Path) -> None:
    from audio.index import FingerprintIndex, build_index
    from audio.matcher import ChunkRef, match_chunks
    from backbeat.airplay.landing import parse_chunk_name

    write_refs(tmp_path / "refs")
    (tmp_path / "refs" / "broken.wav").write_bytes(b"RIFF" + b"\x00" * 64)
    calls: list[tuple[int, int]] = []
    tracks = [(p.stem, p) for p in sorted((tmp_path / "refs").iterdir())]
    build_index(tracks, tmp_path / "index", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]  # the unreadable file counts as done too

    write_chunks(tmp_path / "chunks")
    refs = []
    for path in sorted((tmp_path / "chunks").iterdir()):
        chunk = parse_chunk_name(path)
        refs.append(ChunkRef(chunk.chunk_id, chunk.station_id, chunk.start_utc, path))
    calls.clear()
    match_chunks(
        refs,
        FingerprintIndex.open(tmp_path / "index"),
        batch_size=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(2, 3), (3, 3)]


def test_track_draws_only_when_asked_or_on_a_terminal() -> None:
    quiet = io.StringIO()
    with track("work", 3, unit="items", stream=quiet) as progress:
        for _ in range(3):
            progress.advance()
    assert quiet.getvalue() == ""
    assert (progress.summary["done"], progress.summary["total"]) == (3, 3)

    drawn = io.StringIO()
    with track("work", None, unit="runs", stream=drawn, enabled=True) as progress:
        progress.update(2)
        progress.summary["runs"] = 2
    text = strip_ansi(drawn.getvalue().encode())
    assert "2/?" in text and re.search(r"[0-9.]+ runs/(s|min)", text)  # a rate even with no total
    assert "ETA" not in text and "%" not in text
    assert progress.summary["runs"] == 2 and progress.summary["total"] is None
