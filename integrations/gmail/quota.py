"""Gmail quota units: what each call costs, and a meter that keeps a mailbox under the per-user minute limit.

Google charges every method in quota units (users.messages.send 100, messages.list 5, messages.get 5,
history.list 2, getProfile 1) and allows 15,000 units per user per minute. `QuotaMeter` counts units per
mailbox over a rolling minute and makes a caller wait when a call would go past the limit; the counts are per
process (each process gets its own meter, so a limit shared by processes must be divided between them).
"""

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

UNITS = {
    "send": 100,
    "messages.list": 5,
    "messages.get": 5,
    "history.list": 2,
    "getProfile": 1,
}
USER_UNITS_PER_MINUTE = 15_000
WINDOW_SECONDS = 60.0


class QuotaMeter:
    """Thread-safe units per mailbox: `spend` waits (outside the lock) until the units fit the rolling minute."""

    def __init__(
        self,
        per_minute: int = USER_UNITS_PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if per_minute < max(UNITS.values()):
            raise ValueError(f"per_minute must allow at least one send ({UNITS['send']} units)")
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._window: dict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._totals: dict[str, int] = defaultdict(int)
        self.waited = 0.0

    def __repr__(self) -> str:
        return f"QuotaMeter(per_minute={self.per_minute})"

    def _in_window(self, mailbox: str, now: float) -> int:
        window = self._window[mailbox]
        while window and window[0][0] <= now - WINDOW_SECONDS:
            window.popleft()
        return sum(units for _, units in window)

    def spend(self, mailbox: str, units: int) -> float:
        """Record `units` for `mailbox`, first waiting as long as they would exceed the minute; returns the wait."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                used = self._in_window(mailbox, now)
                if used + units <= self.per_minute:
                    self._window[mailbox].append((now, units))
                    self._totals[mailbox] += units
                    self.waited += waited
                    return waited
                # wait until enough of the oldest spends leave the window
                excess, wait = used + units - self.per_minute, 0.0
                for at, spent in self._window[mailbox]:
                    excess -= spent
                    if excess <= 0:
                        wait = at + WINDOW_SECONDS - now
                        break
            wait = max(wait, 0.001)
            self._sleep(wait)
            waited += wait

    def last_minute(self, mailbox: str) -> int:
        """Units spent by `mailbox` in the last rolling minute."""
        with self._lock:
            return self._in_window(mailbox, self._clock())

    def total(self, mailbox: str | None = None) -> int:
        """Units spent since the meter was made, by one mailbox or all."""
        with self._lock:
            return self._totals[mailbox] if mailbox is not None else sum(self._totals.values())
