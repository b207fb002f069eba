"""A simulated clock shared by the benchmark and its sender processes through an 8-byte memory-mapped file.

The bench, the Gmail stand-in in it (message dates) and each sender process (pacing, leases, records) read the
same simulated instant; `sleep` advances it instead of waiting, so 14 days of paced sending run in minutes.
A sender killed with SIGKILL leaves the clock where it was.
"""

from __future__ import annotations

import mmap
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

_FORMAT = "<d"


class SimClock:
    """Naive-UTC simulated time in a shared file (epoch seconds as a float64)."""

    def __init__(self, path: str | Path, start: datetime | None = None) -> None:
        path = Path(path)
        if start is not None or not path.exists():
            path.write_bytes(struct.pack(_FORMAT, _epoch(start or datetime(2026, 12, 7))))
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), 8)

    def epoch(self) -> float:
        """Simulated now as Unix seconds (the stand-in's `now`)."""
        return float(struct.unpack_from(_FORMAT, self._map)[0])

    def now(self) -> datetime:
        """Simulated now as naive UTC (the engine's `clock`)."""
        return datetime.fromtimestamp(self.epoch(), UTC).replace(tzinfo=None)

    def set(self, at: datetime) -> None:
        """Move to `at`; never backwards."""
        struct.pack_into(_FORMAT, self._map, 0, max(self.epoch(), _epoch(at)))

    def sleep(self, seconds: float) -> None:
        """What the engine calls between passes: the simulated time moves on at once."""
        self.set(self.now() + timedelta(seconds=max(0.0, seconds)))

    def close(self) -> None:
        self._map.close()
        self._file.close()


def _epoch(at: datetime) -> float:
    return at.replace(tzinfo=UTC).timestamp()
