"""The alert rules: each reads the warehouse (or the data directory) and returns what is wrong right now.

A rule returns `Finding`s. A `condition` finding holds while the rule keeps returning it (a silent station, a
deep queue) and recovers when it stops; an `event` finding is told once (a dispute step, a payout approved).
`key` names the subject within the rule (a station, a service, a dispute and its step), so the same problem
seen on the next evaluation is the same incident. A rule whose tables do not exist yet finds nothing.

| rule | fires when | kind |
|---|---|---|
| `station_silent` | an active station's last captured audio ended more than `silent_minutes` ago | condition |
| `station_gap` | a capture gap longer than `silent_minutes` (from `airplay.capture_gaps`) | event |
| `station_no_match` | a station captured over the last `no_match_hours` without one match | condition |
| `api_failure_rate` | a service's failed calls over `api_window_minutes` reach `api_failure_rate` | condition |
| `queue_depth` | the album queue or the outreach send queue holds more than `queue_depth` | condition |
| `disk_usage` | the data directory's file system is fuller than `disk_percent` | condition |
| `dispute_changed` | a dispute is opened or moves to another step | event |
| `payout_changed` | a payout is approved or paid | event |
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from backbeat.airplay.tables import CAPTURE_GAPS, DETECTIONS, STATIONS, STREAM_CHUNKS
from backbeat.alerts.config import Thresholds
from backbeat.catalog.tables import ALBUM_QUEUE
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.tables import DISPUTE_EVENTS, DISPUTES, PAYOUTS
from integrations.resilience.calllog import API_CALLS, failure_rates
from integrations.warehouse import Table, Warehouse, WarehouseConnection

CONDITION = "condition"
EVENT = "event"


@dataclass(frozen=True)
class Finding:
    """Something a rule sees now. `facts` are name → value pairs shown under the summary."""

    rule: str
    key: str
    summary: str
    kind: str = CONDITION
    severity: str = "warning"
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleContext:
    """What a rule may read: the warehouse, the data directory, the time (naive UTC) and the thresholds."""

    warehouse: Warehouse
    data_dir: Path
    now: datetime
    thresholds: Thresholds


class Rule(Protocol):
    """A named check returning its findings."""

    name: str

    def evaluate(self, ctx: RuleContext) -> list[Finding]: ...


def exists(conn: WarehouseConnection, *tables: Table) -> bool:
    """Whether every table exists (rules never create another domain's tables)."""
    for t in tables:
        found = conn.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [t.schema, t.name],
        )
        if not found:
            return False
    return True


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _stamp(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "never"


def active_stations(conn: WarehouseConnection) -> list[str]:
    """Active stations from `airplay.stations`, else every station that has captured audio."""
    if exists(conn, STATIONS) and conn.scalar("SELECT count(*) FROM airplay.stations"):
        rows = conn.query("SELECT station_id FROM airplay.stations WHERE coalesce(active, TRUE) ORDER BY station_id")
        return [str(s) for s in rows["station_id"]]
    if exists(conn, STREAM_CHUNKS):
        rows = conn.query("SELECT DISTINCT station_id FROM airplay.stream_chunks ORDER BY station_id")
        return [str(s) for s in rows["station_id"]]
    return []


class StationSilent:
    """An active station whose last captured chunk ended more than `silent_minutes` ago (or never started)."""

    name = "station_silent"

    def evaluate(self, ctx: RuleContext) -> list[Finding]:
        limit = timedelta(minutes=ctx.thresholds.silent_minutes)
        with ctx.warehouse.connect() as conn:
            stations = active_stations(conn)
            last: dict[str, datetime] = {}
            if exists(conn, STREAM_CHUNKS):
                rows = conn.query(
                    "SELECT c.station_id, c.start_utc, c.duration_s FROM airplay.stream_chunks c JOIN "
                    "(SELECT station_id, max(start_utc) AS latest FROM airplay.stream_chunks GROUP BY station_id) l "
                    "ON l.station_id = c.station_id AND l.latest = c.start_utc"
                )
                for r in rows.iter_rows(named=True):
                    end = r["start_utc"] + timedelta(seconds=float(r["duration_s"] or 0))
                    last[r["station_id"]] = max(end, last.get(r["station_id"], end))
        found = []
        for station in stations:
            ended = last.get(station)
            if ended is not None and ctx.now - ended <= limit:
                continue
            quiet = f"is silent for {_minutes(ctx.now - ended)} min" if ended else "has never been captured"
            found.append(
                Finding(
                    self.name,
                    station,
                    f"Station {station} {quiet}",
                    severity="critical",
                    facts={"station": station, "last audio": _stamp(ended), "threshold": f"{limit}"},
                )
            )
        return found


class StationGap:
    """A capture gap longer than `silent_minutes` that started within the event lookback: told once."""

    name = "station_gap"

    def evaluate(self, ctx: RuleContext) -> list[Finding]:
        limit = 60.0 * ctx.thresholds.silent_minutes
        with ctx.warehouse.connect() as conn:
            if not exists(conn, CAPTURE_GAPS):
                return []
            rows = conn.query(
                "SELECT station_id, gap_start_utc, gap_end_utc, seconds, reason FROM airplay.capture_gaps "
                "WHERE seconds > ? AND gap_start_utc >= ? ORDER BY gap_start_utc, station_id",
                [limit, ctx.now - ctx.thresholds.event_lookback],
            )
        return [
            Finding(
                self.name,
                f"{r['station_id']}|{r['gap_start_utc']:%Y-%m-%dT%H:%M:%S}",
                f"Station {r['station_id']} lost {round(r['seconds'] / 60)} min of air from "
                f"{_stamp(r['gap_start_utc'])}",
                kind=EVENT,
                facts={
                    "station": r["station_id"],
                    "from": _stamp(r["gap_start_utc"]),
                    "to": _stamp(r["gap_end_utc"]) if r["gap_end_utc"] else "still open",
                    "reason": r["reason"] or "unknown",
                },
            )
            for r in rows.iter_rows(named=True)
        ]


class StationNoMatch:
    """A station captured over the whole last `no_match_hours` (chunks before and inside the window) with no
    detection in it: the matcher, the index or the catalog has lost this station."""

    name = "station_no_match"

    def evaluate(self, ctx: RuleContext) -> list[Finding]:
        since = ctx.now - timedelta(hours=ctx.thresholds.no_match_hours)
        with ctx.warehouse.connect() as conn:
            if not exists(conn, STREAM_CHUNKS):
                return []
            chunks = conn.query(
                "SELECT station_id, min(start_utc) AS first_chunk, "
                "CAST(sum(CASE WHEN start_utc >= ? THEN 1 ELSE 0 END) AS BIGINT) AS recent "
                "FROM airplay.stream_chunks GROUP BY station_id",
                [since],
            )
            matched: set[str] = set()
            if exists(conn, DETECTIONS):
                rows = conn.query(
                    "SELECT DISTINCT station_id FROM airplay.detections WHERE chunk_start_utc >= ?", [since]
                )
                matched = {str(s) for s in rows["station_id"]}
            stations = set(active_stations(conn))
        return [
            Finding(
                self.name,
                r["station_id"],
                f"Station {r['station_id']}: no match in {ctx.thresholds.no_match_hours:g} h",
                facts={"station": r["station_id"], "chunks in window": r["recent"], "since": _stamp(since)},
            )
            for r in chunks.iter_rows(named=True)
            if r["station_id"] in stations
            and r["recent"]
            and r["first_chunk"] <= since
            and r["station_id"] not in matched
        ]


class ApiFailureRate:
    """A service whose failed calls (`integrations.resilience.calllog`) reach the threshold share."""

    name = "api_failure_rate"

    def evaluate(self, ctx: RuleContext) -> list[Finding]:
        t = ctx.thresholds
        with ctx.warehouse.connect() as conn:
            if not exists(conn, API_CALLS):
                return []
            rates = failure_rates(conn, ctx.now - timedelta(minutes=t.api_window_minutes))
        return [
            Finding(
                self.name,
                r["service"],
                f"{r['service']}: {r['failure_rate']:.0%} of calls failed in {t.api_window_minutes:g} min",
                severity="critical" if r["failure_rate"] >= 0.5 else "warning",
                facts={"service": r["service"], "calls": r["calls"], "failed": r["failures"]},
            )
            for r in rates.iter_rows(named=True)
            if r["calls"] >= t.api_min_calls and r["failure_rate"] >= t.api_failure_rate
        ]


def outreach_send_queue(warehouse: Warehouse, now: datetime) -> int | None:
    """Sequence steps due now and not sent (the send engine's own `due`), or None without outreach tables."""
    from backbeat.outreach.sender import SendEngine  # loaded only when the queue is measured
    from backbeat.outreach.tables import PROSPECTS

    with warehouse.connect() as conn:
        if not exists(conn, PROSPECTS):
            return None

    def no_client(mailbox_id: str) -> Any:
        raise RuntimeError("the alerts only count the queue")

    engine = SendEngine(warehouse, no_client, lambda contact_id, campaign_id: "", clock=lambda: now)
    due, _ = engine.due(now)
    return len(due)


class QueueDepth:
    """The catalog album queue (albums still `queued`) or the outreach send queue (steps due now) above
    `queue_depth`."""

    name = "queue_depth"

    def __init__(self, send_queue: Callable[[Warehouse, datetime], int | None] = outreach_send_queue) -> None:
        self.send_queue = send_queue

    def evaluate(self, ctx: RuleContext) -> list[Finding]:
        depths: dict[str, int] = {}
        with ctx.warehouse.connect() as conn:
            if exists(conn, ALBUM_QUEUE):
                depths["catalog.album_queue"] = int(
                    conn.scalar("SELECT count(*) FROM catalog.album_queue WHERE status = 'queued'") or 0
                )
        sends = self.send_queue(ctx.warehouse, ctx.now)
        if sends is not None:
            depths["outreach.send_queue"] = sends
        limit = ctx.thresholds.queue_depth
        return [
            Finding(self.name, queue, f"{queue} holds {depth} items (over {limit})", facts={"depth": depth})
            for queue, depth in sorted(depths.items())
            if depth > limit
        ]


def disk_percent(path: Path) -> tuple[float, Path]:
    """Percent used of the file system holding `path` (its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    return 100.0 * usage.used / usage.total if usage.total else 0.0, probe


class DiskUsage:
    """The data directory's file system fuller than `disk_percent`."""

    name = "disk_usage"

    def __init__(self, measure: Callable[[Path], tuple[float, Path]] = disk_percent) -> None:
        self.measure = measure

    def evaluate(self, ctx: RuleContext) -> list[Finding]:
        percent, probe = self.measure(ctx.data_dir)
        if percent <= ctx.thresholds.disk_percent:
            return []
        return [
            Finding(
                self.name,
                str(ctx.data_dir),
                f"Data directory disk {percent:.0f} % full",
                severity="critical" if percent >= 95 else "warning",
                facts={"path": str(probe), "used": f"{percent:.1f} %", "threshold": f"{ctx.thresholds.disk_percent} %"},
            )
        ]


class DisputeChanged:
    """Each dispute step (opened = pending, then verified, resolving, review, resolved) taken within the
    event lookback, from `royalties.dispute_events` and the disputes' current step."""

    name = "dispute_changed"

    def evaluate(self, ctx: RuleContext) -> list[Finding]:
        since = ctx.now - ctx.thresholds.event_lookback
        steps: dict[tuple[str, str], dict[str, Any]] = {}
        with ctx.warehouse.connect() as conn:
            if exists(conn, DISPUTES):
                for r in conn.query(
                    "SELECT dispute_id, play_id, station_id, status, resolution, opened_by AS actor, "
                    "coalesce(updated_at, opened_at) AS at FROM royalties.disputes "
                    "WHERE coalesce(updated_at, opened_at) >= ?",
                    [since],
                ).iter_rows(named=True):
                    steps[(r["dispute_id"], r["status"])] = r
            if exists(conn, DISPUTE_EVENTS):
                for r in conn.query(
                    "SELECT e.dispute_id, e.play_id, d.station_id, e.status, e.resolution, e.actor, e.stepped_at AS at "
                    "FROM royalties.dispute_events e LEFT JOIN royalties.disputes d ON d.dispute_id = e.dispute_id "
                    "WHERE e.stepped_at >= ?"
                    if exists(conn, DISPUTES)
                    else "SELECT dispute_id, play_id, NULL AS station_id, status, resolution, actor, "
                    "stepped_at AS at FROM royalties.dispute_events WHERE stepped_at >= ?",
                    [since],
                ).iter_rows(named=True):
                    steps[(r["dispute_id"], r["status"])] = r
        found = []
        for (dispute, status), r in sorted(steps.items(), key=lambda item: (item[1]["at"], item[0])):
            what = "opened" if status == "pending" else f"moved to {status}"
            if status == "resolved" and r.get("resolution"):
                what += f" ({r['resolution']})"
            found.append(
                Finding(
                    self.name,
                    f"{dispute}|{status}",
                    f"Dispute {dispute} {what}",
                    kind=EVENT,
                    severity="info",
                    facts={
                        "dispute": dispute,
                        "play": r["play_id"],
                        "station": r.get("station_id") or "",
                        "by": r.get("actor") or "",
                        "at": _stamp(r["at"]),
                    },
                )
            )
        return found


def _amount(minor: int | None, currency: str | None) -> str:
    """`1234, "EUR"` → `12.34 EUR` (the currency's own minor-unit exponent)."""
    exponent = MINOR_UNIT_EXPONENT.get(currency or "", 2)
    value = Decimal(minor or 0).scaleb(-exponent)
    return f"{value:.{exponent}f} {currency or ''}".rstrip()


class PayoutChanged:
    """A payout approved (dated by its request day) or paid (by its paid day) within the event lookback."""

    name = "payout_changed"

    def evaluate(self, ctx: RuleContext) -> list[Finding]:
        since = (ctx.now - ctx.thresholds.event_lookback).date()
        with ctx.warehouse.connect() as conn:
            if not exists(conn, PAYOUTS):
                return []
            rows = conn.query(
                "SELECT payout_id, party_id, currency, amount_minor, status, decided_by, requested_on, paid_on "
                "FROM royalties.payouts WHERE (status = 'approved' AND requested_on >= ?) "
                "OR (status = 'paid' AND coalesce(paid_on, requested_on) >= ?) ORDER BY payout_id",
                [since, since],
            )
        return [
            Finding(
                self.name,
                f"{r['payout_id']}|{r['status']}",
                f"Payout {r['payout_id']} to {r['party_id']} {r['status']}: "
                f"{_amount(r['amount_minor'], r['currency'])}",
                kind=EVENT,
                severity="info",
                facts={
                    "payout": r["payout_id"],
                    "party": r["party_id"],
                    "amount (minor units)": r["amount_minor"],
                    "decided by": r["decided_by"] or "",
                    "paid on": str(r["paid_on"] or ""),
                },
            )
            for r in rows.iter_rows(named=True)
        ]


def default_rules() -> Sequence[Rule]:
    """Every rule, in the order they are evaluated."""
    return (
        StationSilent(),
        StationGap(),
        StationNoMatch(),
        ApiFailureRate(),
        QueueDepth(),
        DiskUsage(),
        DisputeChanged(),
        PayoutChanged(),
    )
