"""What a person sees at a terminal: `backbeat fingerprint index` and `match` run under a real pseudo-terminal.

    .venv/bin/python bench/cli_progress.py [--tracks 40] [--chunks 60]

Generates synthetic reference tracks and radio chunks under ``bench/.work/cli_progress/`` (gitignored), runs both
commands with a pty as stdin, stdout and stderr, and writes what the terminal received, escape codes removed and
each redraw of the bar on its own line, to ``bench/cli_progress_example.txt``. It reuses the test suite's music
synthesiser and pty runner (``tests/audio/conftest.py``, ``tests/cli/test_progress.py``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.audio.conftest import SYNTH_RATE, synth_music, write_audio  # noqa: E402
from tests.cli.test_progress import frames, run_in_pty  # noqa: E402

CHUNK_S = 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", type=int, default=40)
    parser.add_argument("--chunks", type=int, default=60)
    args = parser.parse_args()
    work = REPO / "bench" / ".work" / "cli_progress"
    shutil.rmtree(work, ignore_errors=True)
    songs = [synth_music(500 + n, 30.0) for n in range(args.tracks)]
    for n, song in enumerate(songs):
        write_audio(work / "refs" / f"song-{n:03d}.flac", song)
    air = np.concatenate(songs)
    for n in range(args.chunks):
        start = n * CHUNK_S * SYNTH_RATE % (air.size - CHUNK_S * SYNTH_RATE)
        stamp = f"20240501T{12 + n * CHUNK_S // 3600:02d}{n * CHUNK_S // 60 % 60:02d}{n * CHUNK_S % 60:02d}Z"
        write_audio(work / "chunks" / f"radio-1_{stamp}.flac", air[start : start + CHUNK_S * SYNTH_RATE])
    (work / "chunks" / "radio-1_20240501T235930Z.flac").write_bytes(b"fLaC" + b"\x00" * 64)  # one bad chunk

    transcript = []
    for command in (
        ["fingerprint", "index", "refs", "--index", "index"],
        ["fingerprint", "match", "chunks", "--index", "index", "--out", "detections.parquet", "--batch-size", "4"],
    ):
        code, raw = run_in_pty(command, cwd=work)
        transcript += [f"$ backbeat {' '.join(command)}", frames(raw)]
        if code:
            raise SystemExit(f"{' '.join(command)} exited {code}:\n{frames(raw)[-2000:]}")
    out = REPO / "bench" / "cli_progress_example.txt"
    out.write_text("\n".join(transcript) + "\n", encoding="utf-8")
    print(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
