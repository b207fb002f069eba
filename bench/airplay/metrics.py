"""What ``backbeat.scoring.score_plays`` does not give: the split per degradation profile, false plays per
station-hour, recall on the plays aired at a changed speed (resampled) and at a changed tempo (time-stretched, pitch
kept), plays reported more than once, and plays of a station that overlap (their shared seconds would be billed
twice). The matching rules stay the scorer's own. A truth without a ``tempo`` column has every play at tempo 1."""

from __future__ import annotations

import polars as pl

from audio.plays import overlapping_plays
from backbeat.scoring import score_plays


def _duplicates(plays: pl.DataFrame, truth: pl.DataFrame) -> int:
    """Correct predictions beyond one per true play: a play reported twice (split in two) is billed twice."""
    truth = truth.filter((pl.col("end_utc") - pl.col("start_utc")).dt.total_seconds() >= 30)
    pairs = plays.join(truth, on=["station_id", "track_id"], suffix="_t").filter(
        (pl.col("start_utc") < pl.col("end_utc_t")) & (pl.col("start_utc_t") < pl.col("end_utc"))
    )
    correct = pairs.unique(["station_id", "track_id", "start_utc", "end_utc"]).height
    covered = pairs.unique(["station_id", "track_id", "start_utc_t", "end_utc_t"]).height
    return correct - covered


def _score(plays: pl.DataFrame, truth: pl.DataFrame, hours: float) -> dict:
    score = score_plays(plays, truth)
    speed_truth = truth.filter(pl.col("speed") != 1.0)
    speed = score_plays(plays, speed_truth)
    tempo_truth = truth.filter(pl.col("tempo") != 1.0) if "tempo" in truth.columns else truth.clear()
    tempo = score_plays(plays, tempo_truth)
    false_plays = score.predicted_plays - score.correct_predictions
    overlaps = overlapping_plays(plays)
    return {
        "station_hours": hours,
        "truth_plays": score.truth_plays,
        "found": score.found,
        "recall": score.recall,
        "predicted_plays": score.predicted_plays,
        "false_plays": false_plays,
        "precision": score.precision,
        "false_plays_per_hour": false_plays / hours if hours else None,
        "median_start_error_s": score.median_start_error_s,
        # When the song began, as the merged plays place it (both engines go through merge_detections).
        "median_aired_start_error_s": (
            score_plays(plays, truth, start_column="aired_start_utc").median_start_error_s
            if "aired_start_utc" in plays.columns
            else None
        ),
        "duplicate_plays": _duplicates(plays, truth),
        "overlapping_plays": overlaps.height,
        "overlapping_seconds": float(overlaps["overlap_s"].sum()),
        "speed_truth_plays": speed.truth_plays,
        "speed_found": speed.found,
        "speed_recall": speed.recall if speed.truth_plays else None,
        "tempo_truth_plays": tempo.truth_plays,
        "tempo_found": tempo.found,
        "tempo_recall": tempo.recall if tempo.truth_plays else None,
    }


def evaluate(plays: pl.DataFrame, truth: pl.DataFrame, stations: pl.DataFrame) -> dict[str, dict]:
    """Scores per profile and ``overall``; ``stations`` has station_id, profile, hours."""
    results = {}
    for profile in [*stations["profile"].unique(maintain_order=True).to_list(), None]:
        chosen = stations if profile is None else stations.filter(pl.col("profile") == profile)
        ids = chosen["station_id"].to_list()
        results[profile or "overall"] = _score(
            plays.filter(pl.col("station_id").is_in(ids)),
            truth.filter(pl.col("station_id").is_in(ids)),
            float(chosen["hours"].sum()),
        )
    return results
