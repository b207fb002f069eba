"""One evaluation: run every rule, fold the findings into incidents, and deliver what each channel owes.

`evaluate(...)` is what the Dagster sensor (`assets/alerts`) runs every minute. A
rule that raises becomes an incident of its own (`alerts_rule_failed`, keyed by the rule) and its earlier
incidents are left open, never recovered by accident. Sending happens after the incidents are committed;
each attempt is then recorded, so a channel that failed is tried again at the next evaluation and one that
succeeded is not (delivery is at least once: a crash between sending and recording repeats one message).
When one channel owes more than `max_messages` in one evaluation, the first `max_messages - 1` go out one by
one and the rest as a single digest: a burst never becomes a storm.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from backbeat.alerts.config import Thresholds
from backbeat.alerts.incidents import OPENED, Change, Delivery, Outgoing, pending, reconcile, record
from backbeat.alerts.rules import Finding, Rule, RuleContext, default_rules
from integrations.notify import Channel, Notification
from integrations.warehouse import Warehouse

log = logging.getLogger(__name__)
RULE_FAILED = "alerts_rule_failed"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Evaluation:
    """What one evaluation saw and did, for the sensor's tick and the command line."""

    findings: list[Finding] = field(default_factory=list)
    failed_rules: dict[str, str] = field(default_factory=dict)
    change: Change = field(default_factory=Change)
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(d.delivered for d in self.deliveries)

    @property
    def failed(self) -> int:
        return sum(not d.delivered for d in self.deliveries)

    def summary(self) -> str:
        c = self.change
        return (
            f"{len(self.findings)} findings; incidents opened {c.opened}, ongoing {c.ongoing}, clearing "
            f"{c.clearing}, resolved {c.resolved}, events {c.events}; messages sent {self.sent}, failed {self.failed}"
            + (f"; rules failed: {', '.join(sorted(self.failed_rules))}" if self.failed_rules else "")
        )


def run_rules(rules: Sequence[Rule], ctx: RuleContext) -> tuple[list[Finding], list[str], dict[str, str]]:
    """Findings of every rule, the rules that ran cleanly, and the error of each that did not."""
    findings: list[Finding] = []
    clean: list[str] = []
    failed: dict[str, str] = {}
    for rule in rules:
        try:
            findings += rule.evaluate(ctx)
            clean.append(rule.name)
        except Exception as exc:
            failed[rule.name] = f"{type(exc).__name__}: {str(exc)[:300]}"
            log.warning("alert rule %s failed: %s", rule.name, failed[rule.name])
            findings.append(
                Finding(RULE_FAILED, rule.name, f"Alert rule {rule.name} failed", facts={"error": failed[rule.name]})
            )
    clean.append(RULE_FAILED)
    return findings, clean, failed


def notification_for(out: Outgoing) -> Notification:
    """The message for one owed notification."""
    row = out.incident
    facts = tuple((k, str(v)) for k, v in json.loads(row["facts"] or "{}").items())
    opened = f"{row['opened_at']:%Y-%m-%d %H:%M} UTC"
    if out.message == OPENED:
        if row["kind"] == "event":
            return Notification(row["summary"], row["summary"], "event", row["severity"], row["incident_id"], facts)
        text = f"{row['summary']} (rule {row['rule']}, since {opened})."
        return Notification(row["summary"], text, "opened", row["severity"], row["incident_id"], facts)
    lasted = row["resolved_at"] - row["opened_at"]
    text = (
        f"Recovered: {row['summary']}. Clear since {row['cleared_at']:%Y-%m-%d %H:%M} UTC; "
        f"the incident lasted {int(lasted.total_seconds() // 60)} min."
    )
    return Notification(f"Recovered: {row['summary']}", text, "recovered", "info", row["incident_id"], facts)


def digest_for(outs: Sequence[Outgoing]) -> Notification:
    """One message standing for many."""
    lines = [f"- {'RECOVERED ' if o.message != OPENED else ''}{o.incident['summary']}" for o in outs]
    return Notification(
        f"{len(outs)} more alerts", "\n".join(lines), "digest", max((o.incident["severity"] or "") for o in outs)
    )


def deliver(channels: Sequence[Channel], owed: Sequence[Outgoing], max_messages: int) -> list[Delivery]:
    """Send what each channel owes (one digest for the overflow); never raises for a channel's failure."""
    deliveries: list[Delivery] = []
    for channel in channels:
        mine = [o for o in owed if o.channel == channel.name]
        cut = len(mine) if len(mine) <= max_messages else max(max_messages - 1, 0)
        for out in mine[:cut]:
            ok, error = _send(channel, notification_for(out))
            deliveries.append(Delivery(out, ok, error))
        bundled = mine[cut:]
        if bundled:
            ok, error = _send(channel, digest_for(bundled))
            deliveries += [Delivery(o, ok, error, digest=True) for o in bundled]
    return deliveries


def _send(channel: Channel, notification: Notification) -> tuple[bool, str | None]:
    try:
        channel.send(notification)
    except Exception as exc:  # one channel's failure must not stop the others
        error = f"{type(exc).__name__}: {str(exc)[:500]}"
        log.warning("alert channel %s failed: %s", channel.name, error)
        return False, error
    return True, None


def evaluate(
    warehouse: Warehouse,
    data_dir: str | Path,
    channels: Sequence[Channel],
    *,
    thresholds: Thresholds | None = None,
    rules: Sequence[Rule] | None = None,
    now: datetime | None = None,
) -> Evaluation:
    """Run the rules, update the incidents, send what is owed and record it (see the module docstring)."""
    thresholds = thresholds or Thresholds()
    now = now or utcnow()
    ctx = RuleContext(warehouse, Path(data_dir), now, thresholds)
    findings, clean, failed = run_rules(rules if rules is not None else default_rules(), ctx)
    with warehouse.connect() as conn:
        change = reconcile(conn, findings, clean, now, thresholds)
        owed = pending(conn, [c.name for c in channels], now, thresholds)
    deliveries = deliver(channels, owed, thresholds.max_messages)
    with warehouse.connect() as conn:
        record(conn, deliveries, now)
    return Evaluation(findings, failed, change, deliveries)
