"""Peak memory and speed of matching one station-day: `python bench/airplay/station_day_memory.py`.

Matches 2,880 chunks (24 h of one station, reusing the simulated chunks in turn under consecutive times)
against the benchmark index in a single `match_chunks` call, and prints CPU time, audio-seconds per CPU-second
and peak RSS. Needs `simulate.py` and `run.py` to have run (chunks and Backbeat's index under bench/.work/).
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import timedelta
from pathlib import Path

from audio.index import FingerprintIndex
from audio.matcher import ChunkRef, match_chunks
from backbeat.airplay.landing import list_landing, parse_chunk_name

WORK = Path(__file__).resolve().parents[1] / ".work" / "airplay"
CHUNKS_PER_DAY = 2_880


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    index_dir = next(p for p in args.work.rglob("manifest.parquet")).parent
    files = [f.path for f in list_landing(args.work / "chunks")]
    refs = []
    for i in range(CHUNKS_PER_DAY):
        first = parse_chunk_name(files[i % len(files)])
        start = first.start_utc.replace(hour=0, minute=0, second=0) + timedelta(seconds=30 * i)
        refs.append(ChunkRef(f"day_{i:04d}", "one-station", start, files[i % len(files)]))
    index = FingerprintIndex.open(index_dir)
    started = time.process_time()
    result = match_chunks(refs, index, batch_size=args.batch_size)
    cpu = time.process_time() - started
    print(
        f"{len(refs)} chunks ({len(refs) * 30 / 3600:.0f} h of one station), {result.detections.height} detections, "
        f"{cpu:.1f} CPU-s, {len(refs) * 30 / cpu:.0f} audio-s per CPU-s, "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
