"""Merging detections into plays, by hand-built detections and end to end from radio chunks."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from audio.matcher import DETECTION_SCHEMA, ChunkRef, match_chunks
from audio.plays import PLAY_SCHEMA, merge_detections, overlapping_plays
from tests.audio.conftest import SYNTH_RATE, Catalog, add_white_noise, synth_music, write_audio

T0 = datetime(2024, 5, 1, 10, 0, 0)


def _detections(rows: list[tuple]) -> pl.DataFrame:
    """Rows of (station, track, chunk start offset s, track_offset_s, query_start_s, query_end_s, confidence)."""
    return pl.DataFrame(
        [
            {
                "chunk_id": f"{station}-{chunk_s}",
                "station_id": station,
                "chunk_start_utc": T0 + timedelta(seconds=chunk_s),
                "track_id": track,
                "track_offset_s": offset,
                "query_start_s": q_start,
                "query_end_s": q_end,
                "score": 100,
                "confidence": confidence,
            }
            for station, track, chunk_s, offset, q_start, q_end, confidence in rows
        ],
        schema=DETECTION_SCHEMA,
    )


def test_consecutive_chunks_of_one_broadcast_make_one_play() -> None:
    # Song starts 10.4 s into the first chunk and ends 20.6 s into the fourth: origin T0 + 10.4 s.
    plays = merge_detections(
        _detections(
            [
                ("r1", "x", 0, -10.4, 10.4, 30.0, 0.8),
                ("r1", "x", 30, 19.6, 0.0, 30.0, 0.9),
                ("r1", "x", 60, 50.1, 0.0, 30.0, 0.95),  # within origin tolerance
                ("r1", "x", 90, 79.6, 0.0, 20.6, 0.7),
            ]
        )
    )
    assert plays.schema == pl.Schema(PLAY_SCHEMA)
    assert plays.rows() == [
        (
            "r1",
            "x",
            T0 + timedelta(seconds=10),
            T0 + timedelta(seconds=111),
            101,
            0.95,
            4,
            1.0,
            None,
            None,
            T0 + timedelta(seconds=10),  # heard from its top: aired from there too
        )
    ]


def test_a_song_heard_from_a_few_seconds_in_aired_from_its_top_unless_other_audio_was_heard_there() -> None:
    """The first seconds of a song under noise or a talk-over match nothing; its detections still place its top.
    The play is billed from the first second heard, and ``aired_start_utc`` says when the song began: its top
    when at most 15 s before, but never before the station's previous matched audio ends."""
    plays = merge_detections(
        _detections(
            [
                # r1: y plays until 20 s; x's top at 24 s, first heard 8 s in, at 32 s.
                ("r1", "y", 0, 100.0, 0.0, 20.0, 0.9),
                ("r1", "x", 30, 6.0, 2.0, 30.0, 0.9),  # the track is 6 s in at the chunk start (30 s)
                ("r1", "x", 60, 36.0, 0.0, 30.0, 0.9),
                # r2: x's top at 24 s, but z was heard until 28 s: aired from 28 s, where z stops.
                ("r2", "z", 0, 100.0, 0.0, 28.0, 0.9),
                ("r2", "x", 30, 6.0, 2.0, 30.0, 0.9),
                ("r2", "x", 60, 36.0, 0.0, 30.0, 0.9),
                # r4: only 6 s of w heard (20-26 s: no play), but heard: x aired from 26 s, where w stops.
                ("r4", "w", 0, 100.0, 20.0, 26.0, 0.9),
                ("r4", "x", 30, 6.0, 2.0, 30.0, 0.9),
                ("r4", "x", 60, 36.0, 0.0, 30.0, 0.9),
                # r3: first heard 20 s into the song: more than 15 s of it unheard says nothing, aired = heard.
                ("r3", "x", 30, 20.0, 0.0, 30.0, 0.9),
                ("r3", "x", 60, 50.0, 0.0, 30.0, 0.9),
            ]
        ),
        min_play_s=15.0,
    )
    got = {
        (r["station_id"], r["track_id"]): (r["start_utc"] - T0, r["aired_start_utc"] - T0, r["duration_s"])
        for r in plays.iter_rows(named=True)
    }
    s = timedelta(seconds=1)
    assert got[("r1", "x")] == (32 * s, 24 * s, 58)  # billed as heard: 32 s to 90 s
    assert got[("r2", "x")] == (32 * s, 28 * s, 58)
    assert got[("r4", "x")] == (32 * s, 26 * s, 58) and ("r4", "w") not in got
    assert got[("r3", "x")] == (30 * s, 30 * s, 60)
    assert got[("r1", "y")] == (0 * s, 0 * s, 20)


def test_a_replay_and_a_long_silence_start_new_plays() -> None:
    plays = merge_detections(
        _detections(
            [
                ("r1", "x", 0, 0.0, 0.0, 30.0, 0.9),
                ("r1", "x", 30, 30.0, 0.0, 30.0, 0.9),
                # Same song straight again from 60 s: origin jumps by 60 s, a second play.
                ("r1", "x", 60, 0.0, 0.0, 30.0, 0.9),
                ("r1", "x", 90, 30.0, 0.0, 30.0, 0.9),
                # Same origin as the second play but 60 s of nothing in between: not one play.
                ("r1", "x", 180, 120.0, 0.0, 30.0, 0.9),
                ("r1", "x", 210, 150.0, 0.0, 30.0, 0.9),
            ]
        )
    )
    assert plays.select("start_utc", "duration_s").rows() == [
        (T0, 60),
        (T0 + timedelta(seconds=60), 60),
        (T0 + timedelta(seconds=180), 60),
    ]


def test_a_chunk_where_noise_hid_the_song_does_not_split_its_broadcast() -> None:
    """One broadcast (same origin) heard to 22 s, then nothing for a whole chunk, then again from 68 s: 46 s
    unmatched (under ``MAX_GAP_S``) is one play, not two bills; the same with the later piece 5 s further (51 s
    unmatched) is two plays."""

    def broadcast(resumes_at: float) -> pl.DataFrame:
        return merge_detections(
            _detections(
                [
                    ("r1", "x", 0, 0.0, 0.0, 22.0, 0.9),
                    ("r1", "x", 60, 60.0, resumes_at - 60.0, 30.0, 0.9),
                    ("r1", "x", 90, 90.0, 0.0, 30.0, 0.9),
                ]
            )
        )

    assert broadcast(68.0).select("start_utc", "duration_s").rows() == [(T0, 120)]
    split = broadcast(73.0)
    assert split.select("start_utc", "duration_s").rows() == [(T0 + timedelta(seconds=73), 47)]  # 22 s drops


def test_stations_and_tracks_stay_apart_and_short_plays_drop() -> None:
    plays = merge_detections(
        _detections(
            [
                ("r2", "x", 0, 0.0, 0.0, 30.0, 0.9),
                ("r2", "x", 30, 30.0, 0.0, 30.0, 0.9),
                ("r1", "x", 30, 0.0, 0.0, 30.0, 0.6),
                ("r1", "x", 60, 30.0, 0.0, 30.0, 0.6),
                ("r1", "y", 0, 5.0, 0.0, 20.0, 0.9),  # 20 s: below min_play_s
            ]
        )
    )
    assert plays.select("station_id", "track_id", "start_utc").rows() == [
        ("r1", "x", T0 + timedelta(seconds=30)),
        ("r2", "x", T0),
    ]
    assert merge_detections(_detections([("r1", "y", 0, 5.0, 0.0, 20.0, 0.9)]), min_play_s=15).height == 1


def test_empty_in_empty_out() -> None:
    plays = merge_detections(pl.DataFrame(schema=DETECTION_SCHEMA))
    assert plays.is_empty() and plays.schema == pl.Schema(PLAY_SCHEMA)
    with pytest.raises(ValueError, match="track_offset_s"):
        merge_detections(pl.DataFrame({"station_id": ["r1"]}))


def test_radio_stream_end_to_end(catalog: Catalog, tmp_path: Path) -> None:
    """150 s of radio at 15 dB SNR: filler, the 100 s track from 12 s, filler, 20 s of track E, filler."""
    sr = SYNTH_RATE
    stream = np.concatenate(
        [
            synth_music(7001, 12.0),
            catalog.signals["track-long"],  # 12 s .. 112 s
            synth_music(7002, 3.0),
            catalog.signals["track-e"][10 * sr : 30 * sr],  # 115 s .. 135 s, across a chunk boundary
            synth_music(7003, 15.0),
        ]
    )
    stream = add_white_noise(stream, snr_db=15, seed=5)
    chunks = [
        ChunkRef(
            f"r1-{n}",
            "r1",
            T0 + timedelta(seconds=30 * n),
            write_audio(tmp_path / f"r1-{n}.flac", stream[30 * n * sr : 30 * (n + 1) * sr]),
        )
        for n in range(5)
    ]
    detections = match_chunks(chunks, catalog.index).detections
    assert set(detections["track_id"]) == {"track-long", "track-e"}

    plays = merge_detections(detections)
    assert plays.select("station_id", "track_id", "detection_count").rows() == [("r1", "track-long", 4)]
    play = plays.row(0, named=True)
    assert abs((play["start_utc"] - (T0 + timedelta(seconds=12))).total_seconds()) <= 2
    assert abs((play["end_utc"] - (T0 + timedelta(seconds=112))).total_seconds()) <= 2
    assert play["duration_s"] == pytest.approx(100, abs=3)

    # The 20 s of track E was heard; it is dropped only for being shorter than min_play_s.
    short = merge_detections(detections, min_play_s=10).filter(pl.col("track_id") == "track-e")
    assert short.height == 1
    assert short["duration_s"].item() == pytest.approx(20, abs=2)


def test_repetitive_music_locking_onto_another_repetition_is_still_one_play() -> None:
    """Chunk 2 matched a repeated section (its implied origin jumps) but its audio continues chunk 1's."""
    detections = _detections(
        [
            ("r1", "x", 0, 40.0, 0.0, 30.0, 0.9),
            ("r1", "x", 30, 3.0, 0.0, 30.0, 0.9),  # the intro's bars again, 67 s further into the song
            ("r1", "x", 60, 100.0, 0.0, 20.0, 0.9),
        ]
    )
    plays = merge_detections(detections, track_durations_s={"x": 200.0})
    assert plays.select("start_utc", "duration_s", "detection_count").rows() == [(T0, 80, 3)]


def test_lone_weak_matches_of_one_track_in_neighbouring_chunks_are_no_play_unless_one_is_anchored() -> None:
    """Music that merely resembles a catalog track (the demo's non-catalog music at a tempo hypothesis) gave one
    weak line in each of two chunks, at origins 57 s apart; their airtime touched, and they were billed as a play.
    """

    def pieces(first_score: int, second_offset_s: float, second_score: int) -> pl.DataFrame:
        rows = [("r1", "x", 0, 0.17, 2.1, 29.0, 0.55), ("r1", "x", 30, second_offset_s, 1.0, 27.7, 0.52)]
        return _detections(rows).with_columns(score=pl.Series([first_score, second_score]))

    assert merge_detections(pieces(62, 57.0, 55)).is_empty()  # two lone chance lines: 27 s and 26.7 s
    # The same origins with one line scoring twice the matcher's floor: a repetition inside one broadcast.
    assert merge_detections(pieces(62, 57.0, 100)).select("start_utc", "detection_count").rows() == [
        (T0 + timedelta(seconds=2), 2)  # billed from the first heard second, rounded
    ]
    # Weak lines that agree on the origin (30 s later, 29.83 s further into the song) are one broadcast.
    assert merge_detections(pieces(62, 0.17 + 29.83, 55)).select("detection_count").rows() == [(2,)]


def test_an_immediate_replay_is_two_plays_when_the_song_had_reached_its_end() -> None:
    detections = _detections(
        [
            ("r1", "x", 0, 30.0, 0.0, 30.0, 0.9),
            ("r1", "x", 30, 60.0, 0.0, 30.0, 0.9),  # reaches 90 s: the end of a 90 s song
            ("r1", "x", 60, 0.0, 0.0, 30.0, 0.9),  # and it starts again from the top
            ("r1", "x", 90, 30.0, 0.0, 30.0, 0.9),
        ]
    )
    replay = merge_detections(detections, track_durations_s={"x": 90.0})
    assert replay.select("start_utc", "duration_s").rows() == [(T0, 60), (T0 + timedelta(seconds=60), 60)]
    looped = merge_detections(detections, track_durations_s={"x": 240.0})  # not at its end: a repeated intro
    assert looped.select("start_utc", "duration_s").rows() == [(T0, 120)]


def _span(plays: pl.DataFrame, station: str = "r1") -> list[tuple]:
    """(track, start, end) in seconds from T0, per play of one station."""
    rows = plays.filter(pl.col("station_id") == station).select("track_id", "start_utc", "end_utc").rows()
    return [(track, (start - T0).total_seconds(), (end - T0).total_seconds()) for track, start, end in rows]


# Song a fades out under a 43 s jingle j whose top (T0 + 49 s) lies under a DJ's talk-over; the chunk grid
# leaves j 25 s of matched audio (60-85 s) in the next chunk, then song b is heard from 90 s.
SONG_A = [("r1", "a", 0, 100.0, 0.0, 30.0, 0.9), ("r1", "a", 30, 130.0, 0.0, 21.0, 0.9)]  # heard to 51 s
JINGLE = [("r1", "j", 60, 11.0, 0.0, 25.0, 0.5)]  # 11 s into the track at 60 s: its top at 49 s
SONG_B = [("r1", "b", 90, 3.0, 0.0, 30.0, 0.9), ("r1", "b", 120, 33.0, 0.0, 30.0, 0.9)]
DURATIONS = {"a": 300.0, "j": 43.0, "b": 200.0}


def test_a_short_song_under_a_talk_over_counts_with_its_unheard_top_and_end() -> None:
    detections = _detections([*SONG_A, *JINGLE, *SONG_B])
    plays = merge_detections(detections, track_durations_s=DURATIONS)
    # j starts where a stops being heard (a crossfade over j's top) and ends where b is heard (before j's end
    # at 92 s); nothing else was heard in between. a and b, heard for over 30 s, keep their heard extents.
    assert _span(plays) == [("a", 0, 51), ("j", 51, 90), ("b", 90, 150)]
    assert plays.filter(pl.col("track_id") == "j")["duration_s"].item() == 39
    # Without the track's duration its end is unknown: only the top counts, which is enough here.
    assert _span(merge_detections(detections)) == [("a", 0, 51), ("j", 51, 85), ("b", 90, 150)]


def test_unheard_airtime_counts_only_where_matched_audio_pins_it() -> None:
    detections = _detections(
        [
            # r1: a is last heard 9 s before j's top (talk or music outside the catalog in between).
            ("r1", "a", 0, 100.0, 0.0, 30.0, 0.9),
            ("r1", "a", 30, 130.0, 0.0, 10.0, 0.9),
            *JINGLE,
            # r2: a reaches the top of a 50 s song x, but x is first heard 20 s into it: an excerpt.
            *[("r2", *row[1:]) for row in SONG_A],
            ("r2", "x", 60, 20.0, 0.0, 25.0, 0.5),
            # r3: y, heard for 60 s from 11 s into the track, is a play by itself and keeps its heard start.
            *[("r3", *row[1:]) for row in SONG_A],
            ("r3", "y", 60, 11.0, 0.0, 30.0, 0.9),
            ("r3", "y", 90, 41.0, 0.0, 30.0, 0.9),
        ]
    )
    plays = merge_detections(detections, track_durations_s={**DURATIONS, "x": 50.0, "y": 200.0})
    assert _span(plays, "r1") == [("a", 0, 40)]
    assert _span(plays, "r2") == [("a", 0, 51)]
    assert _span(plays, "r3") == [("a", 0, 51), ("y", 60, 120)]


def test_back_to_back_short_songs_do_not_overlap() -> None:
    """j's end (92 s) runs past the top (86 s) of the next 43 s song k, whose first 7 s a talk-over hides."""
    detections = _detections(
        [
            *SONG_A,
            *JINGLE,
            ("r1", "k", 90, 4.0, 3.0, 30.0, 0.5),  # k heard 93-120 s
            ("r1", "b", 120, -10.0, 10.0, 30.0, 0.9),
            ("r1", "b", 150, 20.0, 0.0, 30.0, 0.9),  # b from 130 s
        ]
    )
    plays = merge_detections(detections, track_durations_s={**DURATIONS, "k": 43.0})
    assert _span(plays) == [("a", 0, 51), ("j", 51, 86), ("k", 86, 129), ("b", 130, 180)]


def test_a_crossfade_goes_to_the_incoming_song() -> None:
    """Both songs match the mixed seconds: a is heard until 61.2 s, b from 59.4 s."""
    detections = _detections(
        [
            ("r1", "a", 0, 0.0, 0.0, 30.0, 0.9),
            ("r1", "a", 30, 30.0, 0.0, 30.0, 0.9),
            ("r1", "a", 60, 60.0, 0.0, 1.2, 0.6),
            ("r1", "b", 30, -29.4, 29.4, 30.0, 0.6),
            ("r1", "b", 60, 0.6, 0.0, 30.0, 0.9),
            ("r1", "b", 90, 30.6, 0.0, 30.0, 0.9),
        ]
    )
    plays = merge_detections(detections, track_durations_s={"a": 61.5, "b": 200.0})
    # The shared 59.4-61.2 s are b's: b starts when it is first heard, a runs until then. Rounded: 59 s.
    assert _span(plays) == [("a", 0, 59), ("b", 59, 120)]
    assert plays["duration_s"].to_list() == [59, 61]
    assert overlapping_plays(plays).is_empty()


def test_a_short_song_keeps_its_30_s_when_the_crossfade_allows() -> None:
    """A 43 s jingle heard 10-41 s crossfades into b, heard from 38 s: cut there, it would keep 28 s."""
    detections = _detections(
        [
            ("r1", "j", 0, -10.0, 10.0, 30.0, 0.8),
            ("r1", "j", 30, 20.0, 0.0, 11.0, 0.8),
            ("r1", "b", 30, -8.0, 8.0, 30.0, 0.9),
            ("r1", "b", 60, 22.0, 0.0, 30.0, 0.9),
            ("r1", "b", 90, 52.0, 0.0, 30.0, 0.9),
        ]
    )
    plays = merge_detections(detections, track_durations_s={"j": 43.0, "b": 200.0})
    # Anywhere in the shared 38-41 s is as true as b's start: the cut moves to 40 s, both stay plays.
    assert _span(plays) == [("j", 10, 40), ("b", 40, 120)]


def test_a_play_left_without_30_s_of_its_own_is_dropped_and_its_neighbours_keep_what_they_heard() -> None:
    """y (heard 20-55 s) shares 25 s with x (0-45 s), more than a crossfade, so cut in the middle (32.5 s): even
    with all it shares with z (heard from 50 s), y keeps only 22.5 s of its own."""
    detections = _detections(
        [
            ("r1", "x", 0, 50.0, 0.0, 30.0, 0.9),
            ("r1", "x", 30, 80.0, 0.0, 15.0, 0.9),
            ("r1", "y", 0, 80.0, 20.0, 30.0, 0.5),
            ("r1", "y", 30, 110.0, 0.0, 25.0, 0.5),
            ("r1", "z", 30, -20.0, 20.0, 30.0, 0.9),
            ("r1", "z", 60, 10.0, 0.0, 30.0, 0.9),
            ("r1", "z", 90, 40.0, 0.0, 30.0, 0.9),
            ("r1", "z", 120, 70.0, 0.0, 30.0, 0.9),
        ]
    )
    durations = {"x": 200.0, "y": 300.0, "z": 300.0}
    assert _span(merge_detections(detections, track_durations_s=durations)) == [("x", 0, 45), ("z", 50, 150)]
    # With a lower bar y is a play, and every second still belongs to one play only.
    shorter = merge_detections(detections, min_play_s=20, track_durations_s=durations)
    assert [t for t, _, _ in _span(shorter)] == ["x", "y", "z"]
    assert overlapping_plays(shorter).is_empty()


def test_overlapping_plays_pairs_each_overlap_with_the_play_before() -> None:
    def at(seconds: int) -> datetime:
        return T0 + timedelta(seconds=seconds)

    # r1: p1 0-61 s and p2 60-120 s share 1 s (given out of order); r2 and r3 have one play each.
    plays = pl.DataFrame(
        {
            "station_id": ["r1", "r1", "r2", "r3"],
            "play_id": ["p2", "p1", "q1", "s1"],
            "start_utc": [at(60), at(0), at(30), at(59)],
            "end_utc": [at(120), at(61), at(90), at(150)],
        }
    )
    found = overlapping_plays(plays)
    assert found.select("station_id", "play_id_before", "play_id", "overlap_s").rows() == [("r1", "p1", "p2", 1.0)]
    assert overlapping_plays(plays.filter(pl.col("play_id") != "p1")).is_empty()
    touching = plays.with_columns(end_utc=pl.when(pl.col("play_id") == "p1").then(at(60)).otherwise("end_utc"))
    assert overlapping_plays(touching).is_empty()  # one ends where the next begins: no second counted twice
