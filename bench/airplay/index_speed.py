"""Indexing throughput (issue 19): Backbeat and audfprint decode and fingerprint the same real files, same sitting.

    nice -n 5 .venv/bin/python bench/airplay/index_speed.py --audfprint /work/peers/audfprint/audfprint.py \
        --peer-pythonpath /work/peers/deps

The files: the airplay catalog (33 tracks) and every ``--every``-th other real track of ``scale.py``'s list (Debian
music and game-data packages, never the reserved ones), exactly as unpacked (Ogg Vorbis mostly). Each engine runs in
its own child process, timed by ``os.wait4`` (user + system CPU of the child and of the ffmpeg processes it waits
for): Backbeat's ``build_index`` into an empty directory, and ``audfprint.py new`` with its defaults (one core,
its own ffmpeg decode, given the same ffmpeg binary Backbeat uses). The figure is audio-seconds indexed per
CPU-second, each engine counting the audio it actually indexed (audfprint's own "total dur" line; it skips files
its ffmpeg cannot read). A third child splits Backbeat's cost into decoding and fingerprinting. Results:
``bench/.work/scale/index_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import imageio_ffmpeg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from debmusic import catalog_tracks  # noqa: E402
from scale import SCALE, real_extra_tracks  # noqa: E402

OUT = SCALE / "index_speed"
_PEER_TOTAL = re.compile(r"Processed (\d+) files \(([\d.]+) s total dur\)")


def files(every: int) -> list[tuple[str, Path]]:
    extras = real_extra_tracks()[::every]
    return [(t.track_id, t.path) for t in catalog_tracks()] + [(tid, path) for tid, path, _ in extras]


def measured(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a child; wall, CPU (user + system, its waited-for children included) and peak RSS from ``os.wait4``."""
    began = time.perf_counter()
    with open(log, "w") as handle:
        proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{log.read_text()[-3000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024}


def stage_backbeat(every: int) -> None:
    from audio.index import build_index

    report = build_index(files(every), OUT / "backbeat-index")
    print(json.dumps({"tracks": report.tracks_total - len(report.failures), "audio_s": report.reference_seconds}))


def stage_breakdown(every: int) -> None:
    """Where Backbeat's indexing CPU goes: decoding (libsndfile + resampling to 11,025 Hz) vs fingerprinting."""
    from audio.decode import SAMPLE_RATE, decode_audio
    from audio.fingerprint import landmark_hashes

    decode_s = fingerprint_s = audio_s = 0.0
    for _, path in files(every):
        started = time.process_time()
        samples = decode_audio(path)
        decoded = time.process_time()
        landmark_hashes(samples)
        decode_s += decoded - started
        fingerprint_s += time.process_time() - decoded
        audio_s += samples.size / SAMPLE_RATE
    print(json.dumps({"decode_cpu_s": decode_s, "fingerprint_cpu_s": fingerprint_s, "audio_s": audio_s}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audfprint", type=Path, help="a checkout's audfprint.py (outside the repo)")
    parser.add_argument("--peer-pythonpath", help="PYTHONPATH with the peer's own dependencies (docopt)")
    parser.add_argument("--every", type=int, default=10, help="take every N-th non-catalog real track")
    parser.add_argument("--stage", choices=["backbeat", "breakdown"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "backbeat":
        return stage_backbeat(args.every)
    if args.stage == "breakdown":
        return stage_breakdown(args.every)

    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "bin").mkdir(parents=True)
    chosen = files(args.every)
    me = [sys.executable, str(Path(__file__).resolve()), "--every", str(args.every)]
    results: dict[str, Any] = {"files": len(chosen)}

    backbeat = measured([*me, "--stage", "backbeat"], OUT / "backbeat.log")
    backbeat.update(json.loads((OUT / "backbeat.log").read_text().strip().splitlines()[-1]))
    backbeat["audio_s_per_cpu_s"] = backbeat["audio_s"] / backbeat["cpu_s"]
    results["backbeat"] = backbeat
    print("backbeat:", json.dumps(backbeat), flush=True)

    if args.audfprint:
        (OUT / "bin" / "ffmpeg").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
        env = {**os.environ, "PATH": f"{OUT / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        if args.peer_pythonpath:
            env["PYTHONPATH"] = args.peer_pythonpath
        (OUT / "list.txt").write_text("".join(f"{path}\n" for _, path in chosen))
        cmd = [sys.executable, str(args.audfprint), "new", "--dbase", str(OUT / "peer.pklz")]
        peer = measured([*cmd, "--list", str(OUT / "list.txt"), "--continue-on-error"], OUT / "audfprint.log", env)
        total = _PEER_TOTAL.search((OUT / "audfprint.log").read_text())
        if total is None:
            raise SystemExit(f"no total in audfprint's log: {OUT / 'audfprint.log'}")
        peer.update({"tracks": int(total[1]), "audio_s": float(total[2])})
        peer["audio_s_per_cpu_s"] = peer["audio_s"] / peer["cpu_s"]
        results["audfprint"] = peer
        print("audfprint:", json.dumps(peer), flush=True)

    breakdown = measured([*me, "--stage", "breakdown"], OUT / "breakdown.log")
    breakdown.update(json.loads((OUT / "breakdown.log").read_text().strip().splitlines()[-1]))
    results["backbeat_breakdown"] = breakdown
    (SCALE / "index_speed.json").write_text(json.dumps(results, indent=2))

    print(f"\n{len(chosen)} real files; audio-seconds indexed per CPU-second (same sitting)")
    print("| engine | files indexed | audio h | CPU s | wall s | peak RSS MiB | audio-s per CPU-s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in ("backbeat", "audfprint"):
        if name in results:
            r = results[name]
            print(
                f"| {name} | {r['tracks']} | {r['audio_s'] / 3600:.2f} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} | "
                f"{r['peak_rss_mib']:.0f} | {r['audio_s_per_cpu_s']:.0f} |"
            )
    b = breakdown
    print(
        f"\nBackbeat split: decode {b['decode_cpu_s']:.1f} CPU-s ({b['audio_s'] / b['decode_cpu_s']:.0f} audio-s per "
        f"CPU-s), fingerprint {b['fingerprint_cpu_s']:.1f} CPU-s ({b['audio_s'] / b['fingerprint_cpu_s']:.0f})"
    )


if __name__ == "__main__":
    main()
