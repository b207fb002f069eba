"""Property: the plays of one station never overlap, over many random schedules with crossfades and talk-overs.

Each schedule is a station's air as the airplay benchmark simulates it (songs whole or as excerpts, 2-6 s
crossfades, DJ breaks, the DJ talking over intros, non-catalog music, a few speed-changed songs) turned into the
detections the matcher gives on the 30 s chunk grid: where two songs crossfade, both are matched in the mixed
seconds. Seeded (`random.Random`), so a failure names a reproducible seed; hypothesis is not a dependency.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl
import pytest

from audio.matcher import DETECTION_SCHEMA
from audio.plays import merge_detections, overlapping_plays

T0 = datetime(2026, 11, 2, 6, 0, 0)
CHUNK_S = 30.0
WINDOW_S = 3600.0
SCHEDULES = 240  # stations, one random schedule each
TRACKS = {f"t{i:02d}": d for i, d in enumerate([43.0, 52.0, 58.0, 75.0, 118.0, 147.0, 180.0, 215.0, 260.0, 310.0])}


@dataclass
class Airing:
    track_id: str
    start: float  # seconds from T0, when the song begins on air
    end: float
    offset: float  # position in the track at `start` (an excerpt starts mid-song)
    speed: float
    heard_from: float  # the matched audio: a talk-over hides the intro, a crossfade blurs the edges
    heard_to: float


def schedule(rng: random.Random) -> list[Airing]:
    """One hour of a station: catalog songs, outside music and DJ breaks, each song crossfading into the next."""
    airings: list[Airing] = []
    pos = rng.uniform(0, CHUNK_S)
    while pos < WINDOW_S:
        kind = rng.random()
        if kind < 0.15:  # a DJ break between songs: nothing matches
            pos += rng.uniform(4, 40)
            continue
        crossfade = rng.uniform(2, 6)
        if kind < 0.35:  # music outside the catalog
            pos += rng.uniform(60, 240) - crossfade
            continue
        track = rng.choice(list(TRACKS))
        duration, offset = TRACKS[track], 0.0
        if duration > 75 and rng.random() < 0.35:  # an excerpt of 35-120 s
            length = rng.uniform(35, min(120, duration))
            offset = rng.uniform(0, duration - length)
            duration = length
        speed = 1 + rng.choice((-1, 1)) * rng.uniform(0.01, 0.04) if rng.random() < 0.2 else 1.0
        airtime = duration / speed
        start, end = pos, pos + airtime
        talk_over = rng.uniform(2, 14) if rng.random() < 0.4 else 0.0
        # Both songs of a crossfade match in the mixed seconds: this one from just after its top, the one before
        # it until somewhere in the fade.
        heard_from = start + max(talk_over, rng.uniform(0.0, 1.5))
        heard_to = end - rng.uniform(0.0, 0.8) * crossfade
        airings.append(Airing(track, start, end, offset, speed, heard_from, heard_to))
        pos = end - crossfade
    return airings


def detections(station: str, airings: list[Airing], rng: random.Random) -> tuple[list[dict], set[int]]:
    """What the matcher reports per 30 s chunk (each song's matched span in it, its track position, a little
    noise), and the chunks lost."""
    rows, lost = [], set()
    for n in range(int(WINDOW_S // CHUNK_S) + 12):
        chunk_start = n * CHUNK_S
        chunk = {
            "chunk_id": f"{station}-{n}",
            "station_id": station,
            "chunk_start_utc": T0 + timedelta(seconds=chunk_start),
        }
        if rng.random() < 0.03:  # a chunk lost or unreadable
            lost.add(n)
            continue
        for a in airings:
            q_start = max(a.heard_from, chunk_start) - chunk_start
            q_end = min(a.heard_to, chunk_start + CHUNK_S) - chunk_start
            if q_end - q_start < 3.0:  # too few landmarks to match
                continue
            rows.append(
                {
                    **chunk,
                    "track_id": a.track_id,
                    "track_offset_s": a.offset + (chunk_start - a.start) * a.speed + rng.uniform(-0.4, 0.4),
                    "query_start_s": q_start,
                    "query_end_s": q_end,
                    "score": 100,
                    "confidence": rng.uniform(0.4, 1.0),
                    "speed": a.speed + rng.uniform(-0.002, 0.002),
                }
            )
        if rng.random() < 0.02:  # a spurious partial match of another track
            q_start = rng.uniform(0, 20)
            rows.append(
                {
                    **chunk,
                    "track_id": rng.choice(list(TRACKS)),
                    "track_offset_s": rng.uniform(0, 40),
                    "query_start_s": q_start,
                    "query_end_s": q_start + rng.uniform(3, 10),
                    "score": 20,
                    "confidence": 0.2,
                    "speed": 1.0,
                }
            )
    return rows, lost


@dataclass
class World:
    airings: dict[str, list[Airing]]  # per station
    lost: dict[str, set[int]]  # per station, the chunks lost
    detections: pl.DataFrame
    plays: pl.DataFrame


@pytest.fixture(scope="module")
def world() -> World:
    """Every station's schedule, all detections, and the plays merged from them in one call."""
    rng = random.Random(20261205)
    airings, lost, rows = {}, {}, []
    for s in range(SCHEDULES):
        station = f"s{s:03d}"
        airings[station] = schedule(rng)
        station_rows, lost[station] = detections(station, airings[station], rng)
        rows.extend(station_rows)
    frame = pl.DataFrame(rows, schema={**DETECTION_SCHEMA, "speed": pl.Float64()})
    return World(airings, lost, frame, merge_detections(frame, min_play_s=30.0, track_durations_s=TRACKS))


def _seconds(moment: datetime) -> float:
    return (moment - T0).total_seconds()


def test_plays_of_a_station_never_overlap(world: World) -> None:
    shared = sum(
        1
        for songs in world.airings.values()
        for a, b in zip(songs, songs[1:], strict=False)
        if b.heard_from < a.heard_to
    )
    assert shared > 1000  # the schedules do put two songs' matched audio on the same seconds
    plays = world.plays
    assert plays["station_id"].n_unique() == SCHEDULES
    assert overlapping_plays(plays).is_empty()
    for (station,), group in plays.group_by("station_id"):
        ordered = group.sort("start_utc")
        ends, starts = ordered["end_utc"].to_list(), ordered["start_utc"].to_list()
        assert all(end <= start for end, start in zip(ends, starts[1:], strict=False)), station


def test_every_play_lasts_at_least_min_play_s_of_its_own_airtime(world: World) -> None:
    plays = world.plays
    assert plays.filter(pl.col("duration_s") < 30).is_empty()
    assert (plays["duration_s"] == (plays["end_utc"] - plays["start_utc"]).dt.total_seconds()).all()


def test_sharing_crossfades_keeps_every_song(world: World) -> None:
    """A song matched for 45 s or more with no chunk lost is one play, short of its matched audio by at most
    what it shares with its neighbours (≤ 6 s each side) and the chunk grid's unmatched fragments (< 3 s)."""
    checked = 0
    for station, songs in world.airings.items():
        plays = world.plays.filter(pl.col("station_id") == station).rows(named=True)
        for a in songs:
            chunks = set(range(int(a.heard_from // CHUNK_S), int(a.heard_to // CHUNK_S) + 1))
            if a.heard_to - a.heard_from < 45 or chunks & world.lost[station]:
                continue
            checked += 1
            covered = max(
                (
                    min(a.heard_to, _seconds(p["end_utc"])) - max(a.heard_from, _seconds(p["start_utc"]))
                    for p in plays
                    if p["track_id"] == a.track_id
                ),
                default=0.0,
            )
            assert covered >= a.heard_to - a.heard_from - 2 * 9, (station, a)
    assert checked > 2500


def _heard(detections: pl.DataFrame, play: dict) -> tuple[float, float]:
    """Where the matched audio of a play's track around the play begins and ends, seconds from T0."""
    at = pl.col("chunk_start_utc")
    spans = detections.filter(
        (pl.col("station_id") == play["station_id"]) & (pl.col("track_id") == play["track_id"])
    ).select(
        start=at + pl.duration(microseconds=pl.col("query_start_s") * 1e6),
        end=at + pl.duration(microseconds=pl.col("query_end_s") * 1e6),
    )
    slack = timedelta(seconds=2)
    near = spans.filter((pl.col("start") < play["end_utc"] + slack) & (pl.col("end") > play["start_utc"] - slack))
    return _seconds(near["start"].min()), _seconds(near["end"].max())


def test_shared_seconds_are_split_between_the_two_songs(world: World) -> None:
    """Where two songs' matched audio overlaps, their plays meet at one moment inside the shared seconds: in a
    crossfade, where the incoming song is first heard (later only to keep a short song a play)."""
    checked = at_incoming = 0
    for (station,), group in world.plays.filter(pl.col("station_id") < "s040").group_by("station_id"):
        ordered = group.sort("start_utc").rows(named=True)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before["track_id"] == after["track_id"]:
                continue
            _, before_heard_to = _heard(world.detections, before)
            after_heard_from, _ = _heard(world.detections, after)
            if after_heard_from > before_heard_to - 0.5:
                continue
            checked += 1
            cut = _seconds(after["start_utc"])
            assert before["end_utc"] == after["start_utc"], (station, before, after)
            assert after_heard_from - 0.5 <= cut <= before_heard_to + 0.5, (station, after)
            at_incoming += abs(cut - after_heard_from) <= 0.5
    assert checked > 100
    assert at_incoming >= 0.95 * checked


def test_detection_order_does_not_matter(world: World) -> None:
    shuffled = world.detections.sample(fraction=1.0, shuffle=True, seed=3)
    assert merge_detections(shuffled, min_play_s=30.0, track_durations_s=TRACKS).equals(world.plays)
