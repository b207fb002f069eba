"""The gap log: every stretch of a station's air time that capture missed, and why.

One CSV per station in `landing/_gaps/`; `list_landing` only lists regular files directly in the landing
folder, so the sensor never mistakes the log for a chunk.
"""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

GAPS_FOLDER = "_gaps"
FIELDS = ("station_id", "gap_start_utc", "gap_end_utc", "seconds", "reason", "attempts")
_lock = threading.Lock()  # appends from several station threads stay whole lines


@dataclass(frozen=True)
class Gap:
    """Air time with no captured audio: from the end of the last audio to the start of the next."""

    station_id: str
    start_utc: datetime
    end_utc: datetime
    reason: str
    attempts: int  # connection attempts that failed during the gap

    @property
    def seconds(self) -> float:
        return (self.end_utc - self.start_utc).total_seconds()


def gaps_path(landing: Path, station_id: str) -> Path:
    return landing / GAPS_FOLDER / f"{station_id}.csv"


def utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def record_gap(landing: Path, gap: Gap) -> None:
    """Append one gap to the station's log, writing the header when the file is new."""
    path = gaps_path(landing, gap.station_id)
    with _lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        with path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(FIELDS)
            writer.writerow(
                [
                    gap.station_id,
                    _stamp(gap.start_utc),
                    _stamp(gap.end_utc),
                    f"{gap.seconds:.3f}",
                    gap.reason,
                    gap.attempts,
                ]
            )


def read_gaps(landing: Path, station_id: str) -> list[Gap]:
    path = gaps_path(landing, station_id)
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Gap(
                row["station_id"],
                _parse(row["gap_start_utc"]),
                _parse(row["gap_end_utc"]),
                row["reason"],
                int(row["attempts"]),
            )
            for row in csv.DictReader(handle)
        ]


def _stamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
