"""A small log of outside API calls, so alerts can see a service's failure rate across every process.

Each `RetryPolicy.run` (one logical call) ends in `observe(service, error)` — a no-op until a process installs
a `CallLog` with `install(CallLog(warehouse_url))`. The log counts calls per service, minute and outcome
(`ok`, `transient`, `rate_limited`, ...: `policy.outcome_kind`) in memory and appends the counts to
`ops.api_calls` at most every `flush_every` seconds (and at exit), so a call costs a dictionary update, not a
write. A failed flush keeps the counts for the next one and never breaks the client's call.

`failure_rates(conn, since)` sums the rows back: calls, failures and the failure share per service.
`FAILURE_KINDS` are the outcomes that count as the service failing (a 404 is an answer, not a failure).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl

from integrations.warehouse import Column, Warehouse, WarehouseConnection, table

log = logging.getLogger(__name__)

FAILURE_KINDS = ("transient", "rate_limited", "circuit_open", "auth_expired", "permanent", "malformed", "error")

API_CALLS = table(
    "ops",
    "api_calls",
    Column("service", "text", "Outside service (spotify, musicbrainz, gmail, webhook:host, ...).", nullable=False),
    Column("minute_utc", "timestamp", "UTC minute the calls ended in.", nullable=False),
    Column(
        "outcome", "text", "ok, not_found, transient, rate_limited, circuit_open, auth_expired, ...", nullable=False
    ),
    Column("calls", "bigint", "Logical calls (retries included in one call) with this outcome.", nullable=False),
    Column("process", "text", "host:pid that made them."),
    Column("flushed_at", "timestamp", "When the counts were written (UTC)."),
    description="One row per service, minute, outcome and flush: counts of outside API calls, appended by "
    "integrations.resilience.calllog; summed by the alerts' failure-rate rule.",
)


def _minute(now: float) -> datetime:
    return datetime.fromtimestamp(now - now % 60, UTC).replace(tzinfo=None)


class CallLog:
    """Counts calls in memory and appends them to `ops.api_calls` of the warehouse at `url`."""

    def __init__(self, url: str, *, flush_every: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.warehouse = Warehouse(url)
        self.flush_every = flush_every
        self.clock = clock
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, datetime, str]] = Counter()
        self._last_flush = clock()
        self._ensured = False

    def __repr__(self) -> str:
        return f"CallLog(kind={self.warehouse.kind!r}, pending={sum(self._counts.values())})"

    def record(self, service: str, outcome: str) -> None:
        """Count one call; flush when the last flush is `flush_every` seconds old."""
        now = self.clock()
        with self._lock:
            self._counts[(service or "unknown", _minute(now), outcome)] += 1
            due = now - self._last_flush >= self.flush_every
        if due:
            self.flush()

    def flush(self) -> int:
        """Append the counts gathered so far; returns the rows written (0 when the write failed: kept)."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._last_flush = self.clock()
        if not counts:
            return 0
        flushed_at = datetime.fromtimestamp(self.clock(), UTC).replace(tzinfo=None)
        rows = [
            {"service": s, "minute_utc": m, "outcome": o, "calls": n, "process": self.process, "flushed_at": flushed_at}
            for (s, m, o), n in counts.items()
        ]
        try:
            with self.warehouse.connect() as conn:
                if not self._ensured:
                    conn.ensure(API_CALLS)
                    self._ensured = True
                return conn.insert(API_CALLS, API_CALLS.from_rows(rows))
        except Exception as exc:  # the log must never break a client's call
            log.warning("api call log: flush failed (%s); %d counts kept", type(exc).__name__, len(rows))
            with self._lock:
                self._counts.update(counts)
            return 0


_installed: CallLog | None = None


def install(call_log: CallLog | None) -> CallLog | None:
    """Make `call_log` the process's log (None removes it); returns the one it replaced. Flushes at exit."""
    global _installed
    previous, _installed = _installed, call_log
    if call_log is not None:
        atexit.register(call_log.flush)
    return previous


def installed() -> CallLog | None:
    """The process's log, if one is installed."""
    return _installed


def observe(service: str, outcome: str) -> None:
    """Count one logical call's outcome in the installed log (nothing when none is)."""
    call_log = _installed
    if call_log is not None:
        call_log.record(service, outcome)


def failure_rates(conn: WarehouseConnection, since: datetime) -> pl.DataFrame:
    """Per service since `since` (naive UTC): `calls`, `failures`, `failure_rate` (0..1); empty when no table."""
    exists = conn.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' AND table_name = 'api_calls'"
    )
    schema = {"service": pl.Utf8(), "calls": pl.Int64(), "failures": pl.Int64()}
    if not exists:
        return pl.DataFrame(schema=schema).with_columns(failure_rate=pl.lit(0.0))
    kinds = ", ".join(f"'{k}'" for k in FAILURE_KINDS)
    frame = conn.query(
        "SELECT service, CAST(sum(calls) AS BIGINT) AS calls, "
        f"CAST(sum(CASE WHEN outcome IN ({kinds}) THEN calls ELSE 0 END) AS BIGINT) AS failures "
        "FROM ops.api_calls WHERE minute_utc >= ? GROUP BY service ORDER BY service",
        [since],
        schema,
    )
    return frame.with_columns(failure_rate=pl.col("failures") / pl.col("calls"))
