"""The prospecting bench's stand-ins in a process of their own: the SERP and the email finder, with 429s and 5xx.

Run in a separate process so that their work (building answers, JSON) does not share the bench's interpreter
lock: the bench measures Backbeat's side of the HTTP calls. `StandIns` starts the process and asks it, over a
`multiprocessing` pipe, for what the servers saw (requests per status, credits and money charged).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

from backbeat.demo.standins._http import Burst, FaultPlan
from backbeat.demo.standins.emailfinder_server import FakeEmailFinder, StaffMix
from backbeat.demo.standins.serp_server import DomainUniverse, FakeSerp

SERP_LOGIN, SERP_PASSWORD = "bench-login", "bench-password"
API_KEY = "bench-hunter-key"


class PeriodicFaults(FaultPlan):
    """Every `every`-th request to an endpoint answers 429 with Retry-After; the others follow the FaultPlan
    (its `error_rate` of 5xx)."""

    def __init__(self, every: int, retry_after: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.every = every
        self.retry_after = retry_after
        self.seen: Counter[str] = Counter()

    def take_failure(self, endpoint: str) -> Burst | None:
        with self._lock:
            self.seen[endpoint] += 1
            if self.every and self.seen[endpoint] % self.every == 0:
                return Burst(endpoint, 1, 429, retry_after=self.retry_after)
        return super().take_failure(endpoint)


@dataclass(frozen=True)
class StandInConfig:
    """How the stand-ins behave: the universe's size and seed, the share of 5xx, how often a 429 comes (every
    n-th request, Retry-After 1 s), latency per answer and the email finder plan's credits."""

    domains: int
    seed: int
    error_rate: float
    credits: float
    latency: tuple[float, float] = (0.0, 0.0)
    serp_429_every: int = 20
    finder_429_every: int = 500


def _serve(config: StandInConfig, pipe: Connection) -> None:
    serp = FakeSerp(
        SERP_LOGIN,
        SERP_PASSWORD,
        PeriodicFaults(config.serp_429_every, 1.0, error_rate=config.error_rate, error_status=500, seed=config.seed),
        universe=DomainUniverse(config.domains, seed=config.seed),
        latency=config.latency,
        seed=config.seed,
    )
    finder = FakeEmailFinder(
        api_keys=[API_KEY],
        credits=config.credits,
        plan=PeriodicFaults(
            config.finder_429_every, 1.0, error_rate=config.error_rate, error_status=503, seed=config.seed + 1
        ),
        latency=config.latency,
        seed=config.seed,
        mix=StaffMix(seed=config.seed),
    )
    with serp, finder:
        pipe.send({"serp": serp.url, "finder": finder.api_url})
        while True:
            command = pipe.recv()
            if command == "stop":
                pipe.send("stopped")
                return
            pipe.send(
                {
                    "serp_statuses": dict(serp.statuses()),
                    "serp_usd": str(serp.spent_usd),
                    "finder_statuses": dict(finder.statuses()),
                    "finder_endpoints": dict(finder.counts()),
                    "credits_used": finder.credits_used,
                }
            )


class StandIns:
    """The stand-in process: `start()` gives the URLs; `stats()` what the servers saw; `stop()` ends it."""

    def __init__(self, config: StandInConfig) -> None:
        self.config = config
        self._context = multiprocessing.get_context("spawn")
        self._pipe, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(config, child), daemon=True)
        self.serp_url = ""
        self.finder_url = ""

    def start(self) -> StandIns:
        self._process.start()
        if not self._pipe.poll(60):
            raise RuntimeError("the stand-in process did not start within 60 s")
        urls = self._pipe.recv()
        self.serp_url, self.finder_url = urls["serp"], urls["finder"]
        return self

    def stats(self) -> dict[str, Any]:
        """Requests per status, money and credits charged so far (as the servers counted them)."""
        self._pipe.send("stats")
        stats = self._pipe.recv()
        stats["serp_usd"] = Decimal(stats["serp_usd"])
        return stats

    def stop(self) -> None:
        if self._process.is_alive():
            self._pipe.send("stop")
            self._pipe.poll(10)
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    def __enter__(self) -> StandIns:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
