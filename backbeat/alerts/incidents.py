"""Incidents: one per rule and subject from the first evaluation that sees a condition to its recovery, or one
per event; and which message each channel still owes.

- `reconcile` folds one evaluation's findings into `alerts.incidents`. A condition seen again stays the same
  incident (`last_seen_at`); once not seen, `cleared_at` is set, and only after it has stayed clear for
  `resolve_minutes` is it resolved; if it comes back meanwhile it is still the same incident (`flaps` + 1),
  so a flapping condition produces neither a second alert nor a recovery. Incidents of a rule that failed
  this time are left as they are. An event is recorded once (its key is its identity).
- `pending` lists, per channel, the `opened` messages not yet delivered (open incidents and events inside the
  lookback) and the `recovered` messages owed for incidents that channel was told about. A new incident for a
  rule and subject whose last alert went out less than `dedup_minutes` ago waits (and is never told if it
  resolves within the window): at most one alert per subject per window.
- `record` writes each attempt to `alerts.notifications` and stamps `notified_at` / `recovery_notified_at`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backbeat.alerts.config import Thresholds
from backbeat.alerts.rules import CONDITION, EVENT, Finding
from backbeat.alerts.tables import ALERT_TABLES, INCIDENTS, NOTIFICATIONS
from integrations.warehouse import WarehouseConnection

OPENED = "opened"
RECOVERED = "recovered"
RECOVERY_TOLD_FOR_DAYS = 1  # a recovery older than this is not sent any more (a channel that was down long)


@dataclass(frozen=True)
class Change:
    """What `reconcile` did: incidents opened, still open, cleared (waiting) and resolved, events recorded."""

    opened: int = 0
    ongoing: int = 0
    clearing: int = 0
    resolved: int = 0
    events: int = 0


@dataclass(frozen=True)
class Outgoing:
    """One message one channel owes: about `incident` (a row of `alerts.incidents` as a dict)."""

    channel: str
    message: str  # opened or recovered
    incident: dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    """The outcome of one attempt."""

    outgoing: Outgoing
    delivered: bool
    error: str | None = None
    digest: bool = False


def incident_id(finding: Finding, now: datetime) -> str:
    base = f"{finding.rule}|{finding.key}"
    return base if finding.kind == EVENT else f"{base}|{now:%Y%m%dT%H%M%S}"


def _facts(finding: Finding) -> str:
    return json.dumps({k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in finding.facts.items()})


def reconcile(
    conn: WarehouseConnection,
    findings: Sequence[Finding],
    evaluated: Iterable[str],
    now: datetime,
    thresholds: Thresholds,
) -> Change:
    """Fold one evaluation into the incidents (see the module docstring). `evaluated`: rules that ran cleanly."""
    for t in ALERT_TABLES:
        conn.ensure(t)
    evaluated = set(evaluated)
    rows = conn.query(
        "SELECT incident_id, rule, subject_key, cleared_at, flaps FROM alerts.incidents WHERE status = 'open'"
    )
    open_by_key = {(r["rule"], r["subject_key"]): r for r in rows.iter_rows(named=True)}
    opened = ongoing = clearing = resolved = events = 0
    seen: set[tuple[str, str]] = set()
    for f in findings:
        if f.kind == EVENT:
            ident = incident_id(f, now)
            if conn.scalar("SELECT count(*) FROM alerts.incidents WHERE incident_id = ?", [ident]):
                continue
            _insert(conn, ident, f, "event", now, resolved_at=now)
            events += 1
            continue
        if (f.rule, f.key) in seen:
            continue
        seen.add((f.rule, f.key))
        current = open_by_key.get((f.rule, f.key))
        if current is None:
            _insert(conn, incident_id(f, now), f, "open", now)
            opened += 1
            continue
        conn.execute(
            "UPDATE alerts.incidents SET last_seen_at = ?, cleared_at = NULL, flaps = ?, summary = ?, facts = ?, "
            "severity = ? WHERE incident_id = ?",
            [
                now,
                int(current["flaps"] or 0) + (current["cleared_at"] is not None),
                f.summary,
                _facts(f),
                f.severity,
                current["incident_id"],
            ],
        )
        ongoing += 1
    for (rule, key), row in open_by_key.items():
        if (rule, key) in seen or rule not in evaluated:
            continue
        cleared_at = row["cleared_at"] or now
        if now - cleared_at >= thresholds.resolve_after:
            conn.execute(
                "UPDATE alerts.incidents SET status = 'resolved', cleared_at = ?, resolved_at = ? "
                "WHERE incident_id = ?",
                [cleared_at, now, row["incident_id"]],
            )
            resolved += 1
        else:
            if row["cleared_at"] is None:
                conn.execute(
                    "UPDATE alerts.incidents SET cleared_at = ? WHERE incident_id = ?", [now, row["incident_id"]]
                )
            clearing += 1
    return Change(opened, ongoing, clearing, resolved, events)


def _insert(
    conn: WarehouseConnection, ident: str, f: Finding, status: str, now: datetime, resolved_at: datetime | None = None
) -> None:
    conn.insert(
        INCIDENTS,
        INCIDENTS.from_rows(
            [
                {
                    "incident_id": ident,
                    "rule": f.rule,
                    "subject_key": f.key,
                    "kind": f.kind if f.kind in (CONDITION, EVENT) else CONDITION,
                    "severity": f.severity,
                    "summary": f.summary,
                    "facts": _facts(f),
                    "status": status,
                    "opened_at": now,
                    "last_seen_at": now,
                    "cleared_at": None,
                    "resolved_at": resolved_at,
                    "notified_at": None,
                    "recovery_notified_at": None,
                    "flaps": 0,
                }
            ]
        ),
    )


def pending(
    conn: WarehouseConnection, channels: Sequence[str], now: datetime, thresholds: Thresholds
) -> list[Outgoing]:
    """Messages owed, per channel, oldest incident first (see the module docstring); after `reconcile`."""
    if not channels:
        return []
    cols = ", ".join(f"i.{c}" for c in INCIDENTS.column_names)
    candidates = conn.query(
        f"SELECT {cols} FROM alerts.incidents i WHERE (i.status = 'open' AND i.notified_at IS NULL) "
        "OR (i.status = 'event' AND i.opened_at >= ?) "
        "OR (i.status = 'open' AND i.notified_at IS NOT NULL) "
        "OR (i.status = 'resolved' AND i.notified_at IS NOT NULL AND i.resolved_at >= ?) "
        "ORDER BY i.opened_at, i.incident_id",
        [now - thresholds.event_lookback, now - timedelta(days=RECOVERY_TOLD_FOR_DAYS)],
        INCIDENTS.polars_schema,
    )
    if candidates.is_empty():
        return []
    delivered = {
        (r["incident_id"], r["message"], r["channel"])
        for r in conn.query(
            "SELECT DISTINCT incident_id, message, channel FROM alerts.notifications WHERE delivered"
        ).iter_rows(named=True)
    }
    last_alert = {
        (r["rule"], r["subject_key"]): (r["incident_id"], r["notified_at"])
        for r in conn.query(
            "SELECT rule, subject_key, incident_id, notified_at FROM alerts.incidents WHERE kind = 'condition' "
            "AND notified_at >= ? ORDER BY notified_at",
            [now - thresholds.dedup_window],
        ).iter_rows(named=True)
    }
    out: list[Outgoing] = []
    for row in candidates.iter_rows(named=True):
        ident = row["incident_id"]
        if row["status"] in ("open", "event"):
            if row["kind"] == CONDITION and row["notified_at"] is None:
                recent = last_alert.get((row["rule"], row["subject_key"]))
                if recent is not None and recent[0] != ident:
                    continue  # its subject was alerted on inside the dedup window: wait
            out += [Outgoing(c, OPENED, row) for c in channels if (ident, OPENED, c) not in delivered]
        elif row["kind"] == CONDITION:
            out += [
                Outgoing(c, RECOVERED, row)
                for c in channels
                if (ident, OPENED, c) in delivered and (ident, RECOVERED, c) not in delivered
            ]
    return out


def record(conn: WarehouseConnection, deliveries: Sequence[Delivery], now: datetime) -> None:
    """Write the attempts and stamp the incidents whose message reached at least one channel; after `reconcile`."""
    if not deliveries:
        return
    rows = [
        {
            "incident_id": d.outgoing.incident["incident_id"],
            "message": d.outgoing.message,
            "channel": d.outgoing.channel,
            "attempted_at": now,
            "delivered": d.delivered,
            "digest": d.digest,
            "error": d.error,
        }
        for d in deliveries
    ]
    conn.insert(NOTIFICATIONS, NOTIFICATIONS.from_rows(rows))
    told = {(d.outgoing.incident["incident_id"], d.outgoing.message) for d in deliveries if d.delivered}
    for ident, message in sorted(told):
        column = "notified_at" if message == OPENED else "recovery_notified_at"
        conn.execute(
            f"UPDATE alerts.incidents SET {column} = ? WHERE incident_id = ? AND {column} IS NULL", [now, ident]
        )
