"""Exponential backoff with jitter, shared by every client that talks to an outside system.

`Backoff` is the delay schedule; `retry` is the simple form for callers that only know which exceptions to
retry (the radio capture). Clients of web APIs use `integrations.resilience.RetryPolicy`, which classifies
errors (rate limit, transient, auth, permanent) and uses the same `Backoff`. Both run on tenacity.

Jitter is "equal jitter": each delay is half the exponential step plus a random half, so retries from many
clients (stations, workers) spread out, yet no delay collapses to zero and none exceeds the cap.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """How long to wait before retry number `attempt` (0 for the first retry), bounded by `maximum` seconds."""

    base: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0

    def step(self, attempt: int) -> float:
        """The un-jittered delay: base * factor**attempt, capped."""
        # min() before the power would overflow on very long outages; the exponent is bounded instead.
        exponent = min(max(attempt, 0), 64)
        return min(self.maximum, self.base * self.factor**exponent)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay to sleep: uniformly between half the step and the full step."""
        step = self.step(attempt)
        return step / 2 + (rng or random).uniform(0, step / 2)


def retry(
    call: Callable[[], T],
    *,
    retry_on: tuple[type[BaseException], ...],
    attempts: int,
    backoff: Backoff = Backoff(),
    sleep: Callable[[float], object] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run `call`, retrying the listed exceptions up to `attempts` calls in all; the last failure propagates."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(retry_on),
        stop=tenacity.stop_after_attempt(attempts),
        wait=lambda state: backoff.delay(state.attempt_number - 1, rng),
        sleep=sleep,
        reraise=True,
    )
    return retrying(call)
