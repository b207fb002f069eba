"""Merge per-chunk detections into plays: one row per time a station aired a track.

Consecutive chunks of one broadcast agree on where the song *started* (chunk start − position in the
track ÷ playback speed), even though each chunk sees a different part of it; that implied origin is what
ties detections together. A replay of the same song later has a different origin, so it stays separate.

A station airs one thing at a time as far as billing goes: the plays of one station never overlap. Where two
songs crossfade, both fingerprints match the mixed seconds; each of those seconds goes to one of the two plays
(``_share_crossfades``), never to both.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from audio.matcher import DETECTION_SCHEMA, MIN_SCORE, REQUIRED_DETECTION_COLUMNS
from audio.origins import song_origin

CONTINUITY_S = 2.0  # airtime of two pieces this close together is one continuous stretch of the song
RESTART_S = 5.0  # a piece that begins this close to the top of the track is the song starting again
END_SLACK_S = 10.0  # ... provided the piece before it reached this close to the track's end
# A piece is anchored when its song's place is certain: two detections agree on the origin (chance does not
# pick the same one of thousands of offsets twice), or one scores twice the matcher's floor. Pieces whose
# origins disagree make one play only when one of them is anchored: two lone chance matches of one track in
# neighbouring chunks (music that merely resembles it) are no broadcast of it.
ANCHOR_SCORE = 2 * MIN_SCORE
# A DJ talking over an intro, a crossfade or a quiet fade can hide this much of a song's top or end from the
# fingerprints; it can count towards a short song's play (``_unheard_edges``).
EDGE_S = 15.0
# Two songs heard together for at most this long are a crossfade: the seconds go to the incoming song
# (``_share_crossfades``). A longer stretch claimed by two tracks is cut in the middle.
CROSSFADE_S = 10.0
# Pieces of one broadcast (same origin) with at most this much unmatched airtime between them are one play: a
# whole 30 s chunk in which noise hid every landmark, plus up to 10 s unmatched at each neighbour's edge (off
# air, a song's first landmark comes 4-10 s into it). Splitting such a broadcast would bill it twice; a longer
# hole (two chunks and more) still starts a new play, which claims only airtime that was heard.
MAX_GAP_S = 50.0

PLAY_SCHEMA = pl.Schema(
    {
        "station_id": pl.String(),
        "track_id": pl.String(),
        "start_utc": pl.Datetime("us"),
        "end_utc": pl.Datetime("us"),
        "duration_s": pl.Int64(),
        "confidence": pl.Float64(),
        "detection_count": pl.Int64(),
        "speed": pl.Float64(),
        "runner_up_track_id": pl.String(),
        "runner_up_confidence": pl.Float64(),
        "aired_start_utc": pl.Datetime("us"),
    }
)


def _seconds_expr(seconds: pl.Expr) -> pl.Expr:
    return pl.duration(microseconds=(seconds * 1_000_000).round().cast(pl.Int64))


def _seconds(column: str) -> pl.Expr:
    return _seconds_expr(pl.col(column))


def merge_detections(
    detections: pl.DataFrame,
    *,
    min_play_s: float = 30.0,
    origin_tolerance_s: float = 3.0,
    max_gap_s: float = MAX_GAP_S,
    track_durations_s: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """Plays (``PLAY_SCHEMA``) from detections (``DETECTION_SCHEMA``), sorted by station and start.

    Detections of one station and track form a play when their implied origins agree within
    ``origin_tolerance_s`` (chained, sorted by origin) and their spans follow each other with gaps of
    at most ``max_gap_s``. A play starts at its earliest matched audio and ends at its latest; plays shorter
    than ``min_play_s`` are dropped, unless the song's unheard top and end, where the station's neighbouring
    matched audio pins them, make up the difference: then the play spans them (``_unheard_edges``; a short
    song cut by the chunk grid under a DJ's talk-over). ``confidence`` is the best detection's: one
    unambiguous chunk is enough to know what was played. ``speed`` is the detections' median; the runner-up
    is the strongest other track that claimed the same audio in any of the play's chunks (null when none did).
    ``aired_start_utc`` is when the song began on air as its detections place it: ``start_utc``, or up to
    ``EDGE_S`` earlier when the song's top went unheard and nothing else was heard there (``_aired_start``).
    Detections without the ``speed`` / runner-up columns (older tables) count as normal speed, no runner-up.
    Pieces of one track whose airtime touches are one play even when their origins differ (repetitive music);
    an immediate replay is told apart by the song starting from its top right after it reached its end, which
    ``track_durations_s`` (seconds per track id) makes certain; without it, a restart from the top suffices.
    Plays of one station never overlap: airtime that two plays claim is split between them, a crossfade's
    going to the incoming song (``_share_crossfades``), and a play left with less than ``min_play_s`` of its own
    is dropped.
    """
    missing = set(REQUIRED_DETECTION_COLUMNS) - set(detections.columns)
    if missing:
        raise ValueError(f"detections lack columns {sorted(missing)}")
    if detections.is_empty():
        return pl.DataFrame(schema=PLAY_SCHEMA)

    defaults = {"speed": pl.lit(1.0), "runner_up_track_id": pl.lit(None), "runner_up_confidence": pl.lit(None)}
    detections = detections.with_columns(
        [expr.alias(name) for name, expr in defaults.items() if name not in detections.columns]
    )
    spans = (
        detections.select(list(DETECTION_SCHEMA))
        .cast(DETECTION_SCHEMA)
        .select(
            "station_id",
            "track_id",
            "confidence",
            "score",
            "runner_up_track_id",
            "runner_up_confidence",
            # The song advances ``speed`` seconds of track per second of broadcast.
            speed=pl.col("speed").fill_null(1.0),
            origin=song_origin(),
            span_start=pl.col("chunk_start_utc") + _seconds("query_start_s"),
            span_end=pl.col("chunk_start_utc") + _seconds("query_end_s"),
        )
    )
    tolerance = pl.duration(microseconds=int(round(origin_tolerance_s * 1_000_000)))
    max_gap = pl.duration(microseconds=int(round(max_gap_s * 1_000_000)))
    key = ["station_id", "track_id"]

    # 1. Same broadcast of the song: origins chained within the tolerance.
    clustered = spans.sort(*key, "origin").with_columns(
        cluster=((pl.col("origin").diff().over(key) > tolerance).fill_null(False)).cum_sum().over(key)
    )
    # 2. Within one origin, split where nothing matched for longer than max_gap_s (lost chunks, a long
    #    talk-over): a play only claims airtime that was actually heard.
    group = [*key, "cluster"]
    segmented = clustered.sort(*group, "span_start").with_columns(
        segment=(
            (pl.col("span_start") - pl.col("span_end").cum_max().shift(1).over(group) > max_gap)
            .fill_null(False)
            .cum_sum()
            .over(group)
        )
    )
    pieces = segmented.group_by(*group, "segment").agg(
        start=pl.col("span_start").min(),
        end=pl.col("span_end").max(),
        # Where in the track the piece begins: near 0 when the song (re)starts from its top.
        head_s=((pl.col("span_start") - pl.col("origin")).dt.total_microseconds() / 1e6 * pl.col("speed")).min(),
        tail_s=((pl.col("span_end") - pl.col("origin")).dt.total_microseconds() / 1e6 * pl.col("speed")).max(),
        confidence=pl.col("confidence").max(),
        detection_count=pl.len().cast(pl.Int64),
        anchored=(pl.len() >= 2) | (pl.col("score").max() >= ANCHOR_SCORE),
        speed=pl.col("speed").median(),
        runner_up_track_id=pl.col("runner_up_track_id")
        .sort_by("runner_up_confidence", descending=True, nulls_last=True)
        .first(),
        runner_up_confidence=pl.col("runner_up_confidence").max(),
    )
    # 3. Music that repeats itself (loops, choruses) can make one chunk lock onto another repetition of the
    #    same section, so its implied origin jumps. Pieces of the same track whose airtime touches are still
    #    one broadcast, unless the later piece starts at the top of the track (an immediate replay), or none of
    #    them is anchored (``ANCHOR_SCORE``): then each piece stands alone.
    touch = pl.duration(microseconds=int(round(CONTINUITY_S * 1_000_000)))
    durations = pl.DataFrame(
        list((track_durations_s or {}).items()),
        schema={"track_id": pl.String(), "duration_s": pl.Float64()},
        orient="row",
    )
    ended = (pl.col("tail_s").shift(1).over(key) >= pl.col("duration_s") - END_SLACK_S) | pl.col("duration_s").is_null()
    runs = (
        pieces.join(durations, on="track_id", how="left")
        .sort(*key, "start")
        .with_columns(
            run=(
                (
                    (pl.col("start") - pl.col("end").cum_max().shift(1).over(key) > touch)
                    | ((pl.col("head_s") < RESTART_S) & ended)
                )
                .fill_null(False)
                .cum_sum()
                .over(key)
            ),
            piece=pl.int_range(pl.len()).over(key),
        )
        .with_columns(
            run=pl.when(pl.col("anchored").any().over(*key, "run")).then(pl.col("run")).otherwise(-1 - pl.col("piece"))
        )
    )
    # 4. At least min_play_s of airtime: heard, or with the song's unheard top and end (``_unheard_edges``).
    plays = (
        runs.group_by(*key, "run")
        .agg(
            start=pl.col("start").min(),
            end=pl.col("end").max(),
            head_s=pl.col("head_s").sort_by("start").first(),
            head_speed=pl.col("speed").sort_by("start").first(),
            tail_s=pl.col("tail_s").sort_by("end").last(),
            tail_speed=pl.col("speed").sort_by("end").last(),
            track_s=pl.col("duration_s").first(),
            confidence=pl.col("confidence").max(),
            detection_count=pl.col("detection_count").sum(),
            speed=pl.col("speed").sort_by("detection_count").last(),
            runner_up_track_id=pl.col("runner_up_track_id")
            .sort_by("runner_up_confidence", descending=True, nulls_last=True)
            .first(),
            runner_up_confidence=pl.col("runner_up_confidence").max(),
        )
        # The song's top as the first heard moment places it, before any edge below moves ``start``.
        .with_columns(top=pl.col("start") - _seconds_expr(pl.col("head_s") / pl.col("head_speed")))
        .pipe(_unheard_edges, spans, min_play_s)
        .pipe(_share_crossfades, min_play_s)
        .pipe(_aired_start)
        # Rounding to the second is monotone: plays that do not overlap still do not.
        .with_columns(
            start_utc=pl.col("start").dt.round("1s"),
            end_utc=pl.col("end").dt.round("1s"),
            aired_start_utc=pl.col("aired_start").dt.round("1s"),
        )
    )
    return (
        plays.with_columns(duration_s=(pl.col("end_utc") - pl.col("start_utc")).dt.total_seconds())
        .select(list(PLAY_SCHEMA))
        .cast(PLAY_SCHEMA)
        .sort("station_id", "start_utc", "track_id")
    )


def _unheard_edges(plays: pl.DataFrame, spans: pl.DataFrame, min_play_s: float) -> pl.DataFrame:
    """Plays heard for less than ``min_play_s``, stretched to their song's top and end where evidence allows.

    The 30 s chunk grid cuts a short song (under a minute) in two, and when one half sits under a DJ's
    talk-over or a crossfade the other half alone is heard for less than ``min_play_s``, though the song aired
    for longer. When such a play's first matched audio lies at most ``EDGE_S`` into the track, and the
    station's previous matched audio (any track) reaches to within ``CONTINUITY_S`` of the song's top, nothing
    else was heard in between: the play starts at the top, or where that previous audio stops if it ran on
    over the top (a crossfade). The end is treated alike, with the track's duration (when known) and the next
    matched audio, and never reaches past the next play's start. Airtime that matched audio does not bound on
    both sides is never claimed, and a play heard for ``min_play_s`` keeps its heard extent: what is billed
    is what was heard, except the few seconds that decide whether a short song was a play at all.
    """
    touch = _seconds_expr(pl.lit(CONTINUITY_S))
    short = (pl.col("end") - pl.col("start")).dt.total_microseconds() < min_play_s * 1_000_000
    # Per station: how far the matched audio that began before a moment reaches, and where the matched audio
    # that ends after a moment begins. A play's own detections are never on the far side of its own edges.
    reach_before = spans.sort("span_start").select(
        "station_id", "span_start", reach_before=pl.col("span_end").cum_max().over("station_id")
    )
    reach_after = spans.sort("span_end").select(
        "station_id", "span_end", reach_after=pl.col("span_start").cum_min(reverse=True).over("station_id")
    )
    top = pl.col("top")  # the song's top as the first heard moment places it (set by ``merge_detections``)
    track_end = pl.col("end") + _seconds_expr((pl.col("track_s") - pl.col("tail_s")) / pl.col("tail_speed"))
    return (
        plays.sort("start")
        .join_asof(
            reach_before,
            left_on="start",
            right_on="span_start",
            by="station_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .with_columns(
            short=short,
            start=pl.when(short & (pl.col("head_s") <= EDGE_S) & (pl.col("reach_before") >= top - touch))
            .then(pl.min_horizontal(pl.col("start"), pl.max_horizontal(top, pl.col("reach_before"))))
            .otherwise(pl.col("start")),
        )
        .sort("station_id", "start")
        .with_columns(next_start=pl.col("start").shift(-1).over("station_id"))
        .sort("end")
        .join_asof(
            reach_after,
            left_on="end",
            right_on="span_end",
            by="station_id",
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,
        )
        .with_columns(
            end=pl.when(
                pl.col("short")
                & (pl.col("track_s") - pl.col("tail_s") <= EDGE_S)
                & (pl.col("reach_after") <= track_end + touch)
            )
            .then(
                pl.max_horizontal(
                    pl.col("end"), pl.min_horizontal(track_end, pl.col("reach_after"), pl.col("next_start"))
                )
            )
            .otherwise(pl.col("end"))
        )
    )


def _aired_start(plays: pl.DataFrame) -> pl.DataFrame:
    """When each play's song began on air, as its fingerprints place it (``aired_start``), beside ``start``, the
    first second heard.

    Under noise, reverberation or a DJ's talk-over the first seconds of a song often match nothing, so a play is
    heard from a few seconds in; its detections still say where the song's top lies (``head_s`` into the track
    at the first heard moment: ``top``). When the first heard moment is at most ``EDGE_S`` into the song, the song
    aired from its top, or from where the station's previous matched audio (any track) or previous play ends, if
    later. The play's billed extent (``start``, ``end``, ``duration_s``) stays what was heard; ``aired_start`` is
    the estimate of when the song began, for the station's log (programmes are still attributed by ``start``).
    """
    previous_end = pl.col("end").shift(1).over("station_id")
    return plays.sort("station_id", "start").with_columns(
        aired_start=pl.when(pl.col("head_s") <= EDGE_S)
        .then(pl.min_horizontal(pl.col("start"), pl.max_horizontal("top", pl.col("reach_before"), previous_end)))
        .otherwise(pl.col("start"))
    )


def _share_crossfades(plays: pl.DataFrame, min_play_s: float) -> pl.DataFrame:
    """Plays of at least ``min_play_s``, made disjoint per station: each shared second goes to one play.

    Two songs crossfading are both heard in the mixed seconds, so consecutive plays can claim the same second;
    billed per second, it would be charged and credited twice. Taking the plays of a station in order of start,
    where a play begins before the previous one ends, the shared seconds (up to the earlier of their ends) are
    cut: the previous play ends and the next begins at the cut. A crossfade (at most ``CROSSFADE_S`` shared) is
    cut where the incoming song is first heard, as a station's log has it: a play starts when its song does
    and the song before runs until then, so start times stay what was heard. A longer shared stretch (two tracks
    claiming the same audio) is cut in the middle. Where in shared seconds one song stops counting is not
    observable, so the cut may move within them to let both songs keep ``min_play_s`` (a short song heard for
    31 s, 3 of them in a crossfade, stays a play). The cut never moves before the previous play's own start, so
    a play buried in others can be left with nothing. A play left with less than ``min_play_s`` of its own is
    not a play: it is dropped and the split redone with its neighbours' heard extents, until every play keeps
    ``min_play_s``. The result's plays are disjoint: each ends where or before the next starts.
    """
    min_us = int(round(min_play_s * 1_000_000))
    crossfade_us = int(round(CROSSFADE_S * 1_000_000))
    length = (pl.col("end") - pl.col("start")).dt.total_microseconds()
    kept = plays.filter(length >= min_us).sort("station_id", "start", "end", "track_id")
    while True:
        stations = kept["station_id"].to_list()
        starts = kept["start"].dt.epoch("us").to_list()
        ends = kept["end"].dt.epoch("us").to_list()
        for i in range(1, len(starts)):
            if stations[i] == stations[i - 1] and starts[i] < ends[i - 1]:
                shared_from, shared_to = starts[i], min(ends[i - 1], ends[i])
                crossfade = shared_to - shared_from <= crossfade_us
                cut = shared_from if crossfade else (shared_from + shared_to) // 2
                if starts[i - 1] + min_us <= ends[i] - min_us:  # both can stay plays: let them
                    cut = min(max(cut, starts[i - 1] + min_us), ends[i] - min_us, shared_to)
                    cut = max(cut, shared_from)
                cut = max(cut, starts[i - 1])
                ends[i - 1], starts[i] = cut, cut
        long_enough = pl.Series(
            [end - start >= min_us for start, end in zip(starts, ends, strict=True)], dtype=pl.Boolean
        )
        if long_enough.all():
            return kept.with_columns(
                start=pl.Series(starts, dtype=pl.Int64).cast(pl.Datetime("us")),
                end=pl.Series(ends, dtype=pl.Int64).cast(pl.Datetime("us")),
            )
        kept = kept.filter(long_enough)


def overlapping_plays(plays: pl.DataFrame) -> pl.DataFrame:
    """Plays that begin before the previous play of their station ends, each beside that previous play.

    ``plays`` needs ``station_id``, ``start_utc`` and ``end_utc``; every other column is carried, and the previous
    play's columns come suffixed ``_before``, with ``overlap_s`` the seconds both claim. Plays are taken in order
    of start, so any overlap at a station yields at least one row: empty means its plays are disjoint.
    """
    ordered = plays.sort("station_id", "start_utc", "end_utc")
    before = ordered.select(pl.all().shift(1).over("station_id").name.suffix("_before"))
    return (
        pl.concat([ordered, before], how="horizontal")
        .filter(pl.col("start_utc") < pl.col("end_utc_before"))
        .with_columns(
            overlap_s=(pl.min_horizontal("end_utc", "end_utc_before") - pl.col("start_utc")).dt.total_microseconds()
            / 1e6
        )
    )
