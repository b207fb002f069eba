"""A token bucket per credential: at most `rate` calls per second on average, bursts of up to `capacity`.

Implemented as virtual scheduling (GCRA), which is the token bucket expressed as "the theoretical time the
next call may go": each `acquire` reserves a slot under the lock and sleeps outside it, so waiting threads
are served in arrival order and a slow sleeper never blocks the others' bookkeeping.
"""

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Thread-safe token bucket; `clock` and `sleep` are injectable so tests run on a manual clock."""

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._interval = 1.0 / rate
        self._tolerance = (capacity - 1) * self._interval  # how far ahead of schedule a burst may run
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_free = clock()  # the theoretical arrival time of the next call at the steady rate
        self.acquired = 0
        self.waited = 0.0

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate}, capacity={self.capacity})"

    def _reserve(self, now: float) -> float:
        start = max(now, self._next_free - self._tolerance)
        self._next_free = max(self._next_free, now) + self._interval
        return start - now

    def acquire(self) -> float:
        """Take one token, sleeping until it is available; returns the seconds waited."""
        with self._lock:
            wait = self._reserve(self._clock())
            self.acquired += 1
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
        return wait

    def try_acquire(self) -> bool:
        """Take one token only if that needs no wait."""
        with self._lock:
            now = self._clock()
            if max(now, self._next_free - self._tolerance) > now:
                return False
            self._reserve(now)
            self.acquired += 1
            return True

    def defer(self, seconds: float) -> None:
        """Hold every caller of this bucket for `seconds` (a Retry-After), then resume at the steady rate.

        Without this, the other threads sharing a credential would keep calling into a 429 while one waits.
        """
        with self._lock:
            resume = self._clock() + max(0.0, seconds)
            self._next_free = max(self._next_free, resume + self._tolerance)


_buckets: dict[str, TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(key: str, rate: float, capacity: float = 1.0) -> TokenBucket:
    """The process-wide bucket for a credential `key` (e.g. "spotify:<hash of client id>"), created on first use.

    Every client built for the same credential shares it, so two assets in one process cannot together
    exceed the credential's rate. The first caller's rate and capacity win.
    """
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None:
            bucket = _buckets[key] = TokenBucket(rate, capacity)
        return bucket
