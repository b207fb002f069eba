"""Post a year of generated airplay to the royalty ledger: `python bench/royalties/run.py`.

Generates 200 stations × 365 days × ~137 plays (≈ 10 M plays, 30–400 s each) over ~2,000 recordings, with
approved splits for most works (some recordings have none: their plays go to suspense), some recordings with
splits of their own, a tariff change mid-year for a third of the stations and a few disputes, straight into a
DuckDB warehouse under bench/.work/royalties/. Then posts the year day by day, all stations of a day in one
`post_station_days` call, and prints total time, plays/s, peak RSS, ledger lines, and the posting time of the
first 10 days against the last 10 (a day's cost must not grow with history). Then re-posts 3 days (nothing
to post), and restates: splits are approved for a few suspense recordings, their station-days are queued and
re-posted (reversal + new revision), and suspense must net to zero for them.

Then verifies the tamper evidence (`ledger_chain.verify_ledger`): the whole ledger once (what statements and
exports pay before they write) and single station-days (what the `ledger_chain_intact` check pays per partition).

`--ledger-pk drop` creates the ledger without its PRIMARY KEY first, to measure what DuckDB's index costs;
`--postgres` also runs a smaller slice on an embedded PostgreSQL; `--no-history-probe` skips the probe.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from backbeat.airplay.tables import PLAYLOGS
from backbeat.rights.tables import RECORDINGS, SPLITS
from backbeat.royalties.ledger import PostingSummary, post_station_days
from backbeat.royalties.ledger_chain import verify_ledger
from backbeat.royalties.restatements import queue_restatements, station_days_of_recordings
from backbeat.royalties.tables import DISPUTES, LEDGER, RESTATEMENT_QUEUE, TARIFFS
from backbeat.settings import duckdb_path
from integrations.warehouse import Table, Warehouse

WORK = Path(__file__).resolve().parents[1] / ".work" / "royalties"
YEAR_START = date(2026, 1, 1)
ROTATION = 300  # recordings in a station's rotation


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- generation ------------------------------------------------------------------------------------------


def reference_data(stations: int, recordings: int, seed: int) -> dict[str, pl.DataFrame]:
    """Tariffs, recordings and approved splits; ~8 % of recordings end up with no split (suspense)."""
    rng = np.random.default_rng(seed)
    station_ids = [f"st{i:03d}" for i in range(stations)]
    tariffs = []
    for sid in station_ids:
        rate = Decimal(int(rng.integers(4_000, 20_000))) / 10**6
        change = YEAR_START + timedelta(days=int(rng.integers(150, 230))) if rng.random() < 1 / 3 else None
        tariffs.append((sid, rate, YEAR_START, change))
        if change:
            tariffs.append((sid, rate * Decimal("1.05"), change, None))
    tariff_frame = pl.DataFrame(
        {
            "tariff_id": [f"{s}:{f}" for s, _, f, _ in tariffs],
            "station_id": [s for s, *_ in tariffs],
            "currency": ["EUR"] * len(tariffs),
            "rate_per_second": [r.quantize(Decimal("0.000001")) for _, r, _, _ in tariffs],
            "effective_from": [f for _, _, f, _ in tariffs],
            "effective_to": [t for *_, t in tariffs],
        },
        schema=TARIFFS.polars_schema,
    )
    works = int(recordings * 0.9)
    rec_rows, split_rows = [], []
    shares = [[10000], [5000, 5000], [3334, 3333, 3333], [6667, 3333], [2500, 2500, 2500, 2500]]
    for i in range(recordings):
        rec_rows.append(
            {
                "recording_id": f"R{i:05d}",
                "isrc": None,
                "title": None,
                "work_id": None if rng.random() < 0.04 else f"W{i % works:05d}",
            }
        )

    def add(set_id: str, subject_type: str, subject_id: str, role: str, group: str, parts: list[int]) -> None:
        for j, bp in enumerate(parts):
            split_rows.append(
                {
                    "split_set_id": set_id,
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "party_id": f"P{int(rng.integers(0, 3000)):05d}",
                    "role": role,
                    "role_group": group,
                    "share_bp": bp,
                    "valid_from": None,
                    "valid_to": None,
                    "source_file": "bench",
                    "source_row": j,
                    "approved_by": "rules",
                }
            )

    for w in range(works):
        if rng.random() < 0.06:
            continue  # no approved split yet
        add(f"SW{w:05d}", "work", f"W{w:05d}", "writer", "writer", shares[int(rng.integers(0, len(shares)))])
        if rng.random() < 0.8:
            add(f"SW{w:05d}", "work", f"W{w:05d}", "publisher", "publisher", shares[int(rng.integers(0, 2))])
    for i in range(recordings):
        if rng.random() < 0.15:
            add(f"SR{i:05d}", "recording", f"R{i:05d}", "artist", "performer", shares[int(rng.integers(0, 3))])
            add(f"SR{i:05d}", "recording", f"R{i:05d}", "label", "label", [10000])
    # a party drawn twice for one set and role would break the key: keep its first share
    splits = SPLITS.from_rows(split_rows).unique(
        ["split_set_id", "party_id", "role"], keep="first", maintain_order=True
    )
    return {"tariffs": tariff_frame, "recordings": RECORDINGS.from_rows(rec_rows), "splits": splits}


def plays_for_days(stations: int, recordings: int, first: date, days: int, per_day: int, seed: int) -> pl.DataFrame:
    """Every station's plays for `days` days from `first`, ordered by day then station (as posted)."""
    rng = np.random.default_rng([seed, first.toordinal()])
    rotation_rng = np.random.default_rng(seed + 1)
    rotations = np.stack([rotation_rng.choice(recordings, ROTATION, replace=False) for _ in range(stations)])
    popularity = 1 / (np.arange(ROTATION) + 10)
    popularity /= popularity.sum()
    counts = rng.integers(per_day - 10, per_day + 11, stations * days)
    n = int(counts.sum())
    station_day = np.repeat(np.arange(stations * days), counts)
    day_index, station_index = station_day // stations, station_day % stations
    duration = rng.integers(30, 401, n)
    gap = rng.integers(0, 121, n)
    ends = np.cumsum(duration + gap)
    group_start = np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    before = np.concatenate([[0], ends[:-1]]) - np.concatenate([[0], ends])[group_start]
    start = np.datetime64(first, "s") + day_index.astype("timedelta64[D]") + before.astype("timedelta64[s]")
    track = rotations[station_index, rng.choice(ROTATION, n, p=popularity)]
    frame = pl.DataFrame(
        {
            "station_id": pl.Series([f"st{i:03d}" for i in range(stations)]).gather(station_index),
            "track_id": pl.Series([f"R{i:05d}" for i in range(recordings)]).gather(track),
            "start_utc": pl.Series(start.astype("datetime64[us]")),
            "duration_s": pl.Series(duration, dtype=pl.Int64),
        }
    )
    return frame.with_columns(
        play_date=pl.col("start_utc").dt.date(),
        end_utc=pl.col("start_utc") + pl.duration(seconds=pl.col("duration_s")),
        play_id=pl.concat_str(
            [pl.col("station_id"), pl.col("track_id"), pl.col("start_utc").dt.strftime("%Y%m%dT%H%M%S")], separator="|"
        ),
        confidence=pl.lit(0.9),
        detection_count=pl.lit(4, pl.Int64),
        speed=pl.lit(1.0),
        runner_up_track_id=pl.lit(None, pl.Utf8),
        runner_up_confidence=pl.lit(None, pl.Float64),
        aired_start_utc=pl.col("start_utc"),
    ).select(PLAYLOGS.column_names)


def disputes_for(plays: pl.DataFrame, seed: int) -> pl.DataFrame:
    """A few disputes (1 in 10,000 plays): open, upheld or rejected."""
    sample = plays.sample(fraction=1e-4, seed=seed)
    states = [("pending", None), ("resolved", "upheld"), ("resolved", "rejected"), ("review", None)]
    picks = [states[i % len(states)] for i in range(sample.height)]
    return DISPUTES.conform(
        sample.select(
            dispute_id=pl.format("D{}", pl.int_range(pl.len())) + pl.lit(f"-{seed}"),
            play_id="play_id",
            station_id="station_id",
            play_date="play_date",
            opened_by=pl.lit("station"),
            opened_at=pl.col("start_utc"),
            status=pl.Series([s for s, _ in picks], dtype=pl.Utf8),
            resolution=pl.Series([r for _, r in picks], dtype=pl.Utf8),
            updated_at=pl.col("start_utc"),
        )
    )


def load_duckdb(path: Path, table: Table, frame: pl.DataFrame) -> None:
    con = duckdb.connect(str(path))
    try:
        con.register("incoming", frame.to_arrow())
        con.execute(f"INSERT INTO {table.qualified_name} SELECT {', '.join(table.column_names)} FROM incoming")
    finally:
        con.close()


def generate(
    db: Warehouse,
    path: Path | None,
    args: argparse.Namespace,
    first: int = 0,
    days: int | None = None,
    reference: bool = True,
) -> None:
    """Write the reference data and the plays of days [first, first + days) of the year into the warehouse."""
    if reference:
        ref = reference_data(args.stations, args.recordings, args.seed)
        db.ensure(PLAYLOGS, TARIFFS, RECORDINGS, SPLITS, DISPUTES, RESTATEMENT_QUEUE)
        for table, frame in ((TARIFFS, ref["tariffs"]), (RECORDINGS, ref["recordings"]), (SPLITS, ref["splits"])):
            db.replace(table, frame)
    chunk, end = 31, first + (args.days if days is None else days)
    for offset in range(first, end, chunk):
        n_days = min(chunk, end - offset)
        plays = plays_for_days(
            args.stations, args.recordings, YEAR_START + timedelta(days=offset), n_days, args.plays_per_day, args.seed
        )
        disputes = disputes_for(plays, args.seed + offset)
        if path is not None:  # DuckDB: bulk-load through Arrow
            load_duckdb(path, PLAYLOGS, plays)
            load_duckdb(path, DISPUTES, disputes)
        else:
            with db.connect() as conn:
                conn.insert(PLAYLOGS, plays)
                conn.insert(DISPUTES, disputes)


# ---- posting ---------------------------------------------------------------------------------------------


def post_year(db: Warehouse, args: argparse.Namespace) -> tuple[PostingSummary, list[tuple[float, float]]]:
    """Post every day, all stations per call; returns the summary and (wall s, CPU s) per day."""
    stations = [f"st{i:03d}" for i in range(args.stations)]
    summary, per_day = PostingSummary(), []
    for d in range(args.days):
        day = YEAR_START + timedelta(days=d)
        started, cpu = time.perf_counter(), time.process_time()
        summary.add(
            post_station_days(
                db,
                [(s, day) for s in stations],
                datetime.combine(day, datetime.min.time()) + timedelta(days=1, hours=2),
                "bench",
            )
        )
        per_day.append((time.perf_counter() - started, time.process_time() - cpu))
        if (d + 1) % 30 == 0 or d + 1 == args.days:
            print(
                f"  day {d + 1:3d}: {per_day[-1][0] * 1000:6.0f} ms wall, {per_day[-1][1] * 1000:6.0f} ms CPU, "
                f"{summary.plays_posted:,} plays posted, peak RSS {rss_mib():,.0f} MiB",
                flush=True,
            )
    return summary, per_day


def restate(db: Warehouse, args: argparse.Namespace) -> dict[str, object]:
    """Approve splits for some suspense recordings, queue their station-days and re-post them."""
    suspense = db.query(
        "SELECT recording_id FROM rights.recordings r WHERE NOT EXISTS (SELECT 1 FROM rights.splits s WHERE "
        "(s.subject_type = 'recording' AND s.subject_id = r.recording_id) OR (s.subject_type = 'work' AND "
        "s.subject_id = r.work_id)) ORDER BY recording_id"
    )["recording_id"].to_list()[: args.restate_recordings]
    # Both pools of a recording (performer and label): a pool left uncovered stays in suspense (posting.py).
    rows = [
        {
            "split_set_id": f"late-{r}",
            "subject_type": "recording",
            "subject_id": r,
            "party_id": "P-late",
            "role": role,
            "role_group": group,
            "share_bp": 10000,
            "valid_from": None,
            "valid_to": None,
            "source_file": "bench",
            "source_row": i,
            "approved_by": "reviewer",
        }
        for r in suspense
        for i, (role, group) in enumerate((("artist", "performer"), ("label", "label")), 1)
    ]
    started = time.perf_counter()
    with db.connect() as conn:
        conn.insert(SPLITS, SPLITS.from_rows(rows))
    queued = queue_restatements(db, station_days_of_recordings(db, suspense), "split approved")
    queue = db.query("SELECT station_id, play_date FROM royalties.restatement_queue WHERE reason = 'split approved'")
    by_day: dict[date, list[str]] = defaultdict(list)
    for station, day in queue.iter_rows():
        by_day[day].append(station)
    queued_s = time.perf_counter() - started
    summary = PostingSummary()
    booked = datetime.combine(YEAR_START + timedelta(days=args.days), datetime.min.time()) + timedelta(hours=3)
    for day in sorted(by_day):
        summary.add(post_station_days(db, [(s, day) for s in by_day[day]], booked, "split approved"))
    elapsed = time.perf_counter() - started
    marks = ", ".join("?" for _ in suspense)
    left = db.scalar(
        f"SELECT CAST(coalesce(sum(amount_minor), 0) AS BIGINT) FROM royalties.royalty_ledger "
        f"WHERE account = 'suspense' AND recording_id IN ({marks})",
        suspense,
    )
    return {
        "recordings": len(suspense),
        "station_days": queued,
        "queue_s": queued_s,
        "total_s": elapsed,
        "reversed": summary.batches_reversed,
        "posted": summary.batches_posted,
        "lines": summary.lines_written,
        "suspense_left_minor": left,
    }


def verification(db: Warehouse, args: argparse.Namespace, samples: int = 20) -> dict[str, object]:
    """Time verifying the whole ledger once, and `samples` single station-days (median); both must be sound."""
    started, cpu, rss = time.perf_counter(), time.process_time(), rss_mib()
    with db.connect() as conn:
        whole = verify_ledger(conn)
    out: dict[str, object] = {
        "full_s": time.perf_counter() - started,
        "full_cpu_s": time.process_time() - cpu,
        "lines": whole.lines,
        "batches": whole.batches,
        "problems": whole.problems,
        "peak_rss_mib": rss_mib(),
        "rss_before_mib": rss,
    }
    rng = np.random.default_rng(args.seed)
    timings = []
    for _ in range(samples):
        station, day = (
            f"st{int(rng.integers(args.stations)):03d}",
            YEAR_START + timedelta(days=int(rng.integers(args.days))),
        )
        started, cpu = time.perf_counter(), time.process_time()
        with db.connect() as conn:
            one = verify_ledger(conn, station, day)
        timings.append((time.perf_counter() - started, time.process_time() - cpu))
        if one.problems:
            out["problems"] = [*out["problems"], *one.problems]  # type: ignore[list-item]
    out["station_day_wall_ms"] = statistics.median(t[0] for t in timings) * 1000
    out["station_day_cpu_ms"] = statistics.median(t[1] for t in timings) * 1000
    return out


def report_days(per_day: list[tuple[float, float]]) -> dict[str, float]:
    """Median and mean wall and CPU ms of the first and last 10 days (CPU: robust to a busy shared machine)."""
    out = {}
    for name, days in (("first10", per_day[:10]), ("last10", per_day[-10:])):
        for i, kind in enumerate(("wall", "cpu")):
            out[f"{name}_{kind}_median_ms"] = statistics.median(d[i] for d in days) * 1000
            out[f"{name}_{kind}_mean_ms"] = statistics.mean(d[i] for d in days) * 1000
    return out


def generate_apart(*generate_args: object) -> None:
    """`generate` in a child process, so the peak RSS printed is the posting's, not the generator's."""
    child = multiprocessing.get_context("spawn").Process(target=generate, args=generate_args)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"generation failed with exit code {child.exitcode}")


def create_ledger(db: Warehouse, args: argparse.Namespace) -> None:
    """With `--ledger-pk drop`, the ledger is created before the first posting, without its PRIMARY KEY."""
    if args.ledger_pk == "drop":
        with db.connect() as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS royalties")
            conn.execute(LEDGER.create_sql().replace(", PRIMARY KEY (batch_id, line_no)", ""))


def history_probe(
    db: Warehouse, path: Path | None, empty: Warehouse, args: argparse.Namespace, days: int = 10
) -> dict[str, float]:
    """The same 10 new days posted on top of the year and into the `empty` warehouse, interleaved.

    Interleaving puts both under the same machine load, so the difference is what history costs.
    """
    empty_path = duckdb_path(empty.url) if empty.kind == "duckdb" else None
    generate_apart(db, path, args, args.days, days, False)
    generate_apart(empty, empty_path, args, args.days, days, True)
    create_ledger(empty, args)
    stations = [f"st{i:03d}" for i in range(args.stations)]
    timings: dict[str, list[tuple[float, float]]] = {"history": [], "empty": []}
    for d in range(args.days, args.days + days):
        day = YEAR_START + timedelta(days=d)
        for name, target in (("history", db), ("empty", empty)) if d % 2 else (("empty", empty), ("history", db)):
            started, cpu = time.perf_counter(), time.process_time()
            post_station_days(target, [(s, day) for s in stations], None, "probe")
            timings[name].append((time.perf_counter() - started, time.process_time() - cpu))
    out = {}
    for name, values in timings.items():
        out[f"{name}_wall_median_ms"] = statistics.median(v[0] for v in values) * 1000
        out[f"{name}_cpu_median_ms"] = statistics.median(v[1] for v in values) * 1000
    return out


def run(db: Warehouse, path: Path | None, empty: Warehouse, args: argparse.Namespace, label: str) -> dict[str, object]:
    """Generate, post the year, re-post, restate and probe; `empty` is a second, empty warehouse for the probe."""
    print(f"[{label}] generating {args.stations} stations × {args.days} days …", flush=True)
    started = time.perf_counter()
    generate_apart(db, path, args)
    plays = db.scalar("SELECT count(*) FROM airplay.playlogs")
    generated_s = time.perf_counter() - started
    print(f"[{label}] {plays:,} plays in {generated_s:.1f} s; posting day by day …", flush=True)
    create_ledger(db, args)
    started, cpu = time.perf_counter(), time.process_time()
    summary, per_day = post_year(db, args)
    post_s, post_cpu, post_rss = time.perf_counter() - started, time.process_time() - cpu, rss_mib()
    lines = db.scalar("SELECT count(*) FROM royalties.royalty_ledger")
    balance = db.scalar("SELECT CAST(sum(amount_minor) AS BIGINT) FROM royalties.royalty_ledger")
    started = time.perf_counter()
    again = PostingSummary()
    for d in (0, args.days // 2, args.days - 1):
        day = YEAR_START + timedelta(days=d)
        again.add(post_station_days(db, [(f"st{i:03d}", day) for i in range(args.stations)], None, "bench again"))
    again_s = (time.perf_counter() - started) / 3
    restated = restate(db, args)
    print(f"[{label}] restated; verifying the hash chain …", flush=True)
    verified = verification(db, args)
    probe = {}
    if not args.no_history_probe:
        print(f"[{label}] probing the cost of history …", flush=True)
        probe = history_probe(db, path, empty, args)
    result = {
        "label": label,
        "plays": plays,
        "generate_s": generated_s,
        "post_s": post_s,
        "post_cpu_s": post_cpu,
        "plays_per_s": summary.plays_posted / post_s,
        "plays_posted": summary.plays_posted,
        "plays_unpriced": summary.plays_unpriced,
        "plays_upheld": summary.plays_upheld,
        "ledger_lines": lines,
        "ledger_balance": balance,
        "batches": summary.batches_posted,
        "suspense_minor": summary.suspense_minor,
        "hold_minor": summary.hold_minor,
        "post_peak_rss_mib": post_rss,
        "peak_rss_mib": rss_mib(),
        **report_days(per_day),
        "per_day": per_day,
        "repost_day_s": again_s,
        "repost_batches": again.batches_posted + again.batches_reversed,
        "restatement": restated,
        "history_probe": probe,
        "verification": verified,
    }
    if path is not None:
        result["duckdb_file_mib"] = path.stat().st_size / 2**20
    return result


def print_result(r: dict[str, object]) -> None:
    print(f"\n== {r['label']} ==")
    print(
        f"plays: {r['plays']:,} generated in {r['generate_s']:.0f} s; posted {r['plays_posted']:,} "
        f"(upheld-disputed unpaid {r['plays_upheld']}, unpriced {r['plays_unpriced']})"
    )
    print(
        f"posting: {r['post_s']:.0f} s wall ({r['post_cpu_s']:.0f} CPU-s), {r['plays_per_s']:,.0f} plays/s, "
        f"peak RSS {r['post_peak_rss_mib']:,.0f} MiB (whole run, restatement included: "
        f"{r['peak_rss_mib']:,.0f} MiB)"
    )
    print(
        f"ledger: {r['ledger_lines']:,} lines in {r['batches']:,} batches, balance {r['ledger_balance']}, "
        f"suspense {r['suspense_minor']}, hold {r['hold_minor']}"
        + (f", DuckDB file {r['duckdb_file_mib']:,.0f} MiB" if "duckdb_file_mib" in r else "")
    )
    for kind in ("wall", "cpu"):
        print(
            f"per day ({kind}): first 10 median {r[f'first10_{kind}_median_ms']:.0f} ms "
            f"(mean {r[f'first10_{kind}_mean_ms']:.0f}), last 10 median {r[f'last10_{kind}_median_ms']:.0f} ms "
            f"(mean {r[f'last10_{kind}_mean_ms']:.0f})"
        )
    print(
        f"re-posting a day with nothing changed: {r['repost_day_s'] * 1000:.0f} ms, "
        f"{r['repost_batches']} batches written"
    )
    if r["history_probe"]:
        p = r["history_probe"]
        print(
            f"the same 10 new days, interleaved: on top of the history {p['history_cpu_median_ms']:.0f} ms CPU "
            f"({p['history_wall_median_ms']:.0f} wall), into an empty warehouse {p['empty_cpu_median_ms']:.0f} ms "
            f"CPU ({p['empty_wall_median_ms']:.0f} wall), medians per day"
        )
    s = r["restatement"]
    print(
        f"restatement: splits approved for {s['recordings']} suspense recordings → {s['station_days']:,} "
        f"station-days queued, {s['reversed']:,} reversed + {s['posted']:,} re-posted ({s['lines']:,} lines) in "
        f"{s['total_s']:.1f} s (queueing {s['queue_s']:.1f} s); suspense left for them: {s['suspense_left_minor']}"
    )
    v = r["verification"]
    days = r["per_day"]
    print(
        f"tamper evidence: verifying the whole ledger ({v['lines']:,} lines, {v['batches']:,} batches) "
        f"{v['full_s']:.1f} s wall ({v['full_cpu_s']:.1f} CPU-s, {v['lines'] / v['full_s']:,.0f} lines/s, "
        f"{v['full_s'] / len(days) * 1000:.0f} ms per posted day), peak RSS {v['peak_rss_mib']:,.0f} MiB "
        f"(before: {v['rss_before_mib']:,.0f}); one station-day {v['station_day_cpu_ms']:.1f} ms CPU "
        f"({v['station_day_wall_ms']:.1f} wall), median of 20; problems found: {v['problems'] or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--plays-per-day", type=int, default=137, help="per station-day, ±10")
    parser.add_argument("--recordings", type=int, default=2000)
    parser.add_argument("--restate-recordings", type=int, default=5)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--ledger-pk", choices=["keep", "drop"], default="keep")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--postgres", action="store_true", help="also run a slice on an embedded PostgreSQL")
    parser.add_argument("--pg-stations", type=int, default=20)
    parser.add_argument("--pg-days", type=int, default=90)
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument("--no-history-probe", action="store_true")
    args = parser.parse_args()
    results = []
    if not args.skip_duckdb:
        args.work.mkdir(parents=True, exist_ok=True)
        path, empty = args.work / f"warehouse-{args.ledger_pk}.duckdb", args.work / "probe-empty.duckdb"
        for stale in (path, empty):
            stale.unlink(missing_ok=True)
            stale.with_name(stale.name + ".wal").unlink(missing_ok=True)
        result = run(
            Warehouse(f"duckdb:///{path}"),
            path,
            Warehouse(f"duckdb:///{empty}"),
            args,
            f"DuckDB, ledger PK {args.ledger_pk}",
        )
        print_result(result)
        results.append(result)
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
        from embedded_pg import EmbeddedPostgres

        pg_args = argparse.Namespace(**{**vars(args), "stations": args.pg_stations, "days": args.pg_days})
        with EmbeddedPostgres() as server:
            db = Warehouse(server.create_database("royalties_bench"))
            empty = Warehouse(server.create_database("royalties_probe"))
            result = run(db, None, empty, pg_args, f"PostgreSQL, {args.pg_stations} stations × {args.pg_days} days")
        print_result(result)
        results.append(result)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / f"results-{int(time.time())}.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nPython {sys.version.split()[0]}, DuckDB {duckdb.__version__}, polars {pl.__version__}")


if __name__ == "__main__":
    main()
