"""Score detected plays against a ground truth: recall, precision, start error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl


@dataclass(frozen=True)
class PlayScore:
    truth_plays: int
    predicted_plays: int
    found: int
    correct_predictions: int
    median_start_error_s: float | None

    @property
    def recall(self) -> float:
        return self.found / self.truth_plays if self.truth_plays else 1.0

    @property
    def precision(self) -> float:
        return self.correct_predictions / self.predicted_plays if self.predicted_plays else 1.0


def _overlap_s(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> float:
    return max(0.0, (min(a_end, b_end) - max(a_start, b_start)).total_seconds())


def score_plays(
    predicted: pl.DataFrame, truth: pl.DataFrame, min_truth_s: float = 30.0, start_column: str = "start_utc"
) -> PlayScore:
    """A true play (≥ min_truth_s) is found when a predicted play of the same station and track overlaps ≥50 %
    of it; a prediction is correct when it overlaps any true play of the same station and track. The start
    error of a found play is measured from the prediction's ``start_column`` (e.g. ``aired_start_utc``); the
    matching always uses its ``start_utc`` and ``end_utc``."""
    truth = truth.filter((pl.col("end_utc") - pl.col("start_utc")).dt.total_seconds() >= min_truth_s)
    columns = ["station_id", "track_id", "start_utc", "end_utc", pl.col(start_column).alias("error_from")]
    preds = list(predicted.select(columns).iter_rows())
    found, errors = 0, []
    for station, track, start, end in truth.select("station_id", "track_id", "start_utc", "end_utc").iter_rows():
        length = (end - start).total_seconds()
        best = max(
            ((_overlap_s(start, end, p[2], p[3]), p) for p in preds if p[0] == station and p[1] == track),
            default=(0.0, None),
            key=lambda x: x[0],
        )
        if best[1] is not None and best[0] >= 0.5 * length:
            found += 1
            errors.append(abs((best[1][4] - start).total_seconds()))
    truths = list(truth.select("station_id", "track_id", "start_utc", "end_utc").iter_rows())
    correct = sum(
        1
        for p in preds
        if any(t[0] == p[0] and t[1] == p[1] and _overlap_s(p[2], p[3], t[2], t[3]) > 0 for t in truths)
    )
    errors.sort()
    median = errors[len(errors) // 2] if errors else None
    return PlayScore(truth.height, len(preds), found, correct, median)


def read_ground_truth(path) -> pl.DataFrame:
    """The demo's ground-truth plays CSV (station_id, track_id, start_utc, end_utc in ISO-8601 UTC)."""
    frame = pl.read_csv(path)
    return frame.with_columns(
        [pl.col(c).str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.fZ") for c in ("start_utc", "end_utc")]
    )
