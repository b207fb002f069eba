"""A circuit breaker per service: stop calling a service that keeps failing, and probe it again after a cool-down.

closed ──(failure_threshold consecutive failures)──▶ open ──(cooldown elapsed)──▶ half-open
half-open ──(the one trial call succeeds)──▶ closed;  half-open ──(it fails)──▶ open again

Only failures that say the service is unwell count (`Transient`: network, 5xx). Any other answer (a 404, a
refused token, even a malformed body) proves the service is up and counts as success; a 429 says it is up but
wants us slower, so it neither trips nor resets the breaker.
"""

import threading
import time
from collections.abc import Callable
from enum import Enum

from integrations.resilience.errors import CircuitOpen


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Thread-safe breaker; `clock` is injectable for tests."""

    def __init__(
        self,
        service: str,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cooldown < 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown >= 0")
        self.service = service
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state = State.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self.times_opened = 0

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.service!r}, state={self.state.value})"

    @property
    def state(self) -> State:
        with self._lock:
            return self._current_state()

    def _current_state(self) -> State:
        if self._state is State.OPEN and self._clock() - self._opened_at >= self.cooldown:
            self._state = State.HALF_OPEN
            self._trial_in_flight = False
        return self._state

    def before_call(self) -> None:
        """Raise `CircuitOpen` unless a call may go now (closed, or the single half-open trial)."""
        with self._lock:
            state = self._current_state()
            if state is State.CLOSED:
                return
            if state is State.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return
            retry_in = max(0.0, self._opened_at + self.cooldown - self._clock()) if state is State.OPEN else 0.0
            raise CircuitOpen(
                f"circuit open after {self._failures} consecutive failures; next trial in {retry_in:.1f} s",
                retry_in=retry_in,
                service=self.service,
            )

    def record_success(self) -> None:
        """The service answered properly: close the circuit and forget past failures."""
        with self._lock:
            self._state = State.CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """The service failed in a way that says it is unwell."""
        with self._lock:
            self._failures += 1
            state = self._current_state()
            if state is State.HALF_OPEN or (state is State.CLOSED and self._failures >= self.failure_threshold):
                self._state = State.OPEN
                self._opened_at = self._clock()
                self._trial_in_flight = False
                self.times_opened += 1

    def record_neutral(self) -> None:
        """An answer that says nothing about health (a 429): release a half-open trial slot, keep the count."""
        with self._lock:
            self._trial_in_flight = False


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(service: str, *, failure_threshold: int = 5, cooldown: float = 30.0) -> CircuitBreaker:
    """The process-wide breaker for `service` (use the service name plus its base URL), created on first use."""
    with _breakers_lock:
        breaker = _breakers.get(service)
        if breaker is None:
            breaker = _breakers[service] = CircuitBreaker(
                service, failure_threshold=failure_threshold, cooldown=cooldown
            )
        return breaker
