"""The retry policy every client shares, built on tenacity and driven by the error taxonomy.

One `RetryPolicy.run(fn, ...)` call = one logical request. Before each attempt the service's circuit breaker
is asked and a token is taken from the credential's bucket (retries spend tokens too); after it, the outcome
is classified and the taxonomy decides:

- `RateLimited` → sleep exactly Retry-After (and hold the whole bucket for as long), up to `max_rate_limited`
  times; a Retry-After above `max_retry_after` fails at once, so a worker is not parked for an hour;
- `Transient` → exponential backoff with equal jitter (`integrations.retry.Backoff`), `max_attempts` in all;
- `AuthExpired` → `refresh()` once and retry at once; refused again → fail fast;
- anything else (`PermanentError`, `NotFound`, `MalformedPayload`, `CircuitOpen`) → fail at once.

The final error is re-raised as the taxonomy class (never tenacity's RetryError), with `attempts` set.
"""

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import tenacity

from integrations.resilience import calllog
from integrations.resilience.breaker import CircuitBreaker
from integrations.resilience.bucket import TokenBucket
from integrations.resilience.errors import (
    AuthExpired,
    CircuitOpen,
    IntegrationError,
    MalformedPayload,
    NotFound,
    RateLimited,
    Transient,
    classify,
)
from integrations.retry import Backoff

T = TypeVar("T")
log = logging.getLogger(__name__)


def outcome_kind(error: BaseException | None) -> str:
    """A short label for counting outcomes: ok, rate_limited, transient, auth_expired, not_found, ..."""
    kinds: list[tuple[type[BaseException], str]] = [
        (RateLimited, "rate_limited"),
        (Transient, "transient"),
        (AuthExpired, "auth_expired"),
        (NotFound, "not_found"),
        (MalformedPayload, "malformed"),
        (CircuitOpen, "circuit_open"),
        (IntegrationError, "permanent"),
    ]
    if error is None:
        return "ok"
    return next((name for cls, name in kinds if isinstance(error, cls)), "error")


class CallStats:
    """Thread-safe counters a client keeps: logical calls and HTTP attempts per label, outcomes, waits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.refreshes = 0
        self.slept = 0.0

    def __repr__(self) -> str:
        return f"CallStats(calls={sum(self.calls.values())}, attempts={sum(self.attempts.values())})"

    def count(self, what: str, label: str = "", seconds: float = 0.0) -> None:
        with self._lock:
            if what == "call":
                self.calls[label] += 1
            elif what == "attempt":
                self.attempts[label] += 1
            elif what == "refresh":
                self.refreshes += 1
            elif what == "sleep":
                self.slept += seconds
            else:
                self.outcomes[what] += 1

    @property
    def retries(self) -> int:
        """HTTP attempts beyond the first of each logical call."""
        with self._lock:
            return sum(self.attempts.values()) - sum(self.calls.values())

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "attempts": dict(self.attempts),
                "outcomes": dict(self.outcomes),
                "refreshes": self.refreshes,
                "slept_s": round(self.slept, 3),
            }


@dataclass
class _CallState:
    transient: int = 0
    rate_limited: int = 0
    refreshed: bool = False
    next_wait: float = 0.0


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. `sleep` and `rng` are injectable so tests can assert every wait without waiting."""

    max_attempts: int = 5
    max_rate_limited: int = 8
    max_retry_after: float = 300.0
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, factor=2.0, maximum=30.0))
    sleep: Callable[[float], object] = time.sleep
    rng: random.Random | None = None

    def run(
        self,
        fn: Callable[[], T],
        *,
        service: str = "",
        breaker: CircuitBreaker | None = None,
        bucket: TokenBucket | None = None,
        refresh: Callable[[], object] | None = None,
        stats: CallStats | None = None,
        label: str = "call",
    ) -> T:
        """Call `fn` under the policy and return its result, or raise the final taxonomy error."""
        state = _CallState()
        note = stats.count if stats is not None else (lambda *args, **kwargs: None)
        note("call", label)

        def attempt() -> T:
            if breaker is not None:
                try:
                    breaker.before_call()
                except CircuitOpen as exc:
                    note("circuit_open")
                    raise exc
            if bucket is not None:
                bucket.acquire()
            note("attempt", label)
            try:
                result = fn()
            except Exception as exc:
                error = classify(exc, service=service)
                if error is None:  # a bug, not the service: propagate untouched
                    if breaker is not None:
                        breaker.record_neutral()
                    raise
                self._account(error, breaker, bucket)
                note(outcome_kind(error))
                if error is exc:
                    raise
                raise error from exc
            if breaker is not None:
                breaker.record_success()
            note("ok")
            return result

        def decide(retry_state: tenacity.RetryCallState) -> bool:
            outcome = retry_state.outcome
            if outcome is None or not outcome.failed:
                return False
            error = outcome.exception()
            retry = False
            if isinstance(error, RateLimited):
                state.rate_limited += 1
                state.next_wait = error.retry_after
                retry = state.rate_limited <= self.max_rate_limited and error.retry_after <= self.max_retry_after
            elif isinstance(error, Transient):
                state.transient += 1
                state.next_wait = self.backoff.delay(state.transient - 1, self.rng)
                retry = state.transient < self.max_attempts
            elif isinstance(error, AuthExpired):
                state.next_wait = 0.0
                retry = refresh is not None and not state.refreshed
            if not retry and isinstance(error, IntegrationError):
                error.attempts = retry_state.attempt_number
            return retry

        def before_sleep(retry_state: tenacity.RetryCallState) -> None:
            outcome = retry_state.outcome
            error = outcome.exception() if outcome is not None else None
            log.info(
                "%s %s: %s; retry %d in %.2f s", service, label, error, retry_state.attempt_number, state.next_wait
            )
            if isinstance(error, AuthExpired) and refresh is not None:
                state.refreshed = True
                note("refresh")
                refresh()

        def sleep(seconds: float) -> None:
            if seconds > 0:
                note("sleep", seconds=seconds)
                self.sleep(seconds)

        retrying = tenacity.Retrying(
            retry=decide,
            wait=lambda _: state.next_wait,
            stop=tenacity.stop_never,
            before_sleep=before_sleep,
            sleep=sleep,
            reraise=True,
        )
        try:
            result = retrying(attempt)
        except Exception as exc:
            calllog.observe(service, outcome_kind(exc))
            raise
        calllog.observe(service, "ok")
        return result

    @staticmethod
    def _account(error: IntegrationError, breaker: CircuitBreaker | None, bucket: TokenBucket | None) -> None:
        """Tell the breaker and the bucket what the service said."""
        if isinstance(error, RateLimited):
            if bucket is not None:
                bucket.defer(error.retry_after)
            if breaker is not None:
                breaker.record_neutral()
        elif isinstance(error, Transient):
            if breaker is not None:
                breaker.record_failure()
        elif breaker is not None:
            breaker.record_success()
