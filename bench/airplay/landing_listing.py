"""What capture's landing listing costs a day × shard run: one listing per run against one per station-day.

    .venv/bin/python bench/airplay/landing_listing.py [--stations 1000] [--days 2] [--chunks 60]

Writes `--stations` × `--days` × `--chunks` empty, well-named chunk files into one flat temporary folder (what
landing is), then times what `airplay/stream_chunks` does to find a shard's stations and their chunks:

- **per station-day** (before): the stations of each day from a listing of the folder, then each station-day's
  chunks from another listing (`stations_on` and `chunks_for`, each listing the whole folder);
- **one listing** (now): `LandingListing.of` once, then every lookup from it.

For a run of one shard over one day, and over all `--days`. Prints the seconds of each and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from backbeat.airplay.landing import LandingListing, chunks_for, stations_on
from backbeat.airplay.shards import in_shard

FIRST_DAY = date(2026, 11, 2)


def make_landing(folder: Path, stations: int, days: int, chunks: int) -> list[str]:
    ids = [f"station-{n:04d}" for n in range(stations)]
    for day in range(days):
        start = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time())
        stamps = [(start + timedelta(seconds=30 * k)).strftime("%Y%m%dT%H%M%SZ") for k in range(chunks)]
        for station in ids:
            for stamp in stamps:
                (folder / f"{station}_{stamp}.flac").touch()
    return ids


def per_station_day(folder: Path, ids: list[str], shard: str, days: list[date]) -> int:
    found = 0
    for day in days:
        for station in in_shard(stations_on(folder, day) & set(ids), shard):
            found += len(chunks_for(folder, station, day)[0])
    return found


def one_listing(folder: Path, ids: list[str], shard: str, days: list[date]) -> int:
    landing = LandingListing.of(folder)
    found = 0
    for day in days:
        for station in in_shard(landing.stations_on(day) & set(ids), shard):
            found += len(landing.chunks_for(station, day)[0])
    return found


def timed(fn, *args) -> tuple[int, float]:
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=60, help="chunks per station-day (a whole day is 2,880)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="landing-bench-") as tmp:
        folder = Path(tmp)
        (ids, made) = timed(make_landing, folder, args.stations, args.days, args.chunks)
        files = args.stations * args.days * args.chunks
        print(
            f"landing folder: {files:,} files ({args.stations} stations × {args.days} days × {args.chunks}), "
            f"written in {made:.1f} s"
        )
        shard = "s00"
        print(f"shard {shard}: {len(in_shard(ids, shard))} stations")
        print(f"{'run':<28} {'per station-day s':>18} {'one listing s':>14} {'ratio':>7} {'chunks':>8}")
        for label, days in (
            ("one shard, one day", [FIRST_DAY]),
            (f"one shard, {args.days} days", [FIRST_DAY + timedelta(d) for d in range(args.days)]),
        ):
            before, before_s = timed(per_station_day, folder, ids, shard, days)
            after, after_s = timed(one_listing, folder, ids, shard, days)
            assert before == after, (before, after)
            print(f"{label:<28} {before_s:>18.2f} {after_s:>14.2f} {before_s / after_s:>6.1f}× {after:>8,}")


if __name__ == "__main__":
    main()
