"""A manual clock for tests: `sleep` advances `now` instead of waiting, and remembers every wait."""

import threading


class ManualClock:
    """Pass `clock.now` as a clock and `clock.sleep` as a sleep to policies, buckets and breakers."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
