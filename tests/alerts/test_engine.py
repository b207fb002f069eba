"""Evaluations end to end: an incident's alert and its recovery reach a real SMTP server and a webhook once
each; a repeated or flapping condition never sends twice; events are told once; a failing channel is retried
without repeating the others; an overflow becomes one digest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from backbeat.airplay.tables import STATIONS, STREAM_CHUNKS
from backbeat.alerts import ChannelSettings, Thresholds, build_channels, evaluate
from backbeat.alerts.rules import EVENT, Finding, RuleContext, StationSilent
from integrations.notify import Notification, NotifyError
from integrations.warehouse import Warehouse

NOW = datetime(2026, 12, 5, 10, 0)


@dataclass
class Switch:
    """A rule whose findings the test sets."""

    name: str = "switch"
    on: set[str] = field(default_factory=set)
    kind: str = "condition"

    def evaluate(self, ctx: RuleContext) -> list[Finding]:
        return [Finding(self.name, key, f"{key} is wrong", kind=self.kind) for key in sorted(self.on)]


@dataclass
class Recorder:
    """A channel keeping what it was given; `fail` makes it raise."""

    name: str = "memory"
    sent: list[Notification] = field(default_factory=list)
    fail: bool = False

    def send(self, notification: Notification) -> None:
        if self.fail:
            raise NotifyError("receiver down", channel=self.name, retryable=True)
        self.sent.append(notification)


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse(f"duckdb:///{tmp_path}/w.duckdb")


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def test_silent_station_alert_and_recovery_by_smtp_and_webhook(wh, tmp_path, smtp_server, webhook) -> None:
    server = smtp_server()
    settings = ChannelSettings(
        smtp_url=f"smtp://127.0.0.1:{server.port}",
        email_from="alerts@label.example",
        email_to=("ops@label.example",),
        webhook_url=webhook.url,
    )
    channels = build_channels(settings)
    assert [c.name for c in channels] == ["smtp", "webhook"] and "secret" not in repr(settings)
    with wh.connect() as conn:
        conn.ensure(STATIONS)
        conn.execute("INSERT INTO airplay.stations (station_id, active) VALUES ('fip', TRUE)")
        conn.ensure(STREAM_CHUNKS)
        conn.execute(
            "INSERT INTO airplay.stream_chunks (chunk_id, station_id, start_utc, duration_s) "
            "VALUES ('c1', 'fip', ?, 60)",
            [NOW - timedelta(minutes=30)],
        )
    thresholds = Thresholds(silent_minutes=15, resolve_minutes=5)

    def run(minutes: float):
        return evaluate(wh, tmp_path, channels, thresholds=thresholds, rules=[StationSilent()], now=at(minutes))

    first = run(0)
    assert (first.change.opened, first.sent) == (1, 2)
    assert run(1).sent == 0  # still silent: the same incident, no second alert
    with wh.connect() as conn:  # audio again
        conn.execute(
            "INSERT INTO airplay.stream_chunks (chunk_id, station_id, start_utc, duration_s) "
            "VALUES ('c2', 'fip', ?, 60)",
            [at(2)],
        )
    clearing = run(3)
    assert (clearing.change.clearing, clearing.sent) == (1, 0)  # clear, not yet long enough
    recovered = run(9)
    assert (recovered.change.resolved, recovered.sent) == (1, 2)
    assert run(10).sent == 0

    alert, recovery = server.inbox.messages
    assert alert["Subject"] == "[CRITICAL] Station fip is silent for 29 min"
    assert recovery["Subject"] == "[RECOVERED] Recovered: Station fip is silent for 30 min"
    assert "Clear since 2026-12-05 10:03 UTC; the incident lasted 9 min." in recovery.get_content()
    assert [b["text"].split("\n")[0] for b in webhook.bodies] == [
        ":rotating_light: Station fip is silent for 29 min",
        ":white_check_mark: Recovered: Station fip is silent for 30 min",
    ]
    incident = wh.query("SELECT * FROM alerts.incidents").row(0, named=True)
    assert (incident["status"], incident["opened_at"], incident["resolved_at"]) == ("resolved", at(0), at(9))
    assert (incident["notified_at"], incident["recovery_notified_at"], incident["cleared_at"]) == (at(0), at(9), at(3))
    sent = wh.query("SELECT message, channel, delivered FROM alerts.notifications ORDER BY attempted_at, channel")
    assert sent.rows() == [
        ("opened", "smtp", True),
        ("opened", "webhook", True),
        ("recovered", "smtp", True),
        ("recovered", "webhook", True),
    ]


def test_a_flapping_condition_sends_one_alert_and_one_recovery(wh, tmp_path) -> None:
    rule, channel = Switch(), Recorder()
    thresholds = Thresholds(resolve_minutes=5, dedup_minutes=60)
    for minute in range(8):  # on, off, on, off ... every minute
        rule.on = {"fip"} if minute % 2 == 0 else set()
        evaluate(wh, tmp_path, [channel], thresholds=thresholds, rules=[rule], now=at(minute))
    rule.on = set()
    for minute in range(8, 15):
        evaluate(wh, tmp_path, [channel], thresholds=thresholds, rules=[rule], now=at(minute))
    assert [n.kind for n in channel.sent] == ["opened", "recovered"]
    flaps = wh.scalar("SELECT flaps FROM alerts.incidents")
    assert flaps == 3 and wh.scalar("SELECT count(*) FROM alerts.incidents") == 1


def test_a_new_incident_inside_the_dedup_window_waits_for_it(wh, tmp_path) -> None:
    rule, channel = Switch(on={"spotify"}), Recorder()
    thresholds = Thresholds(resolve_minutes=0, dedup_minutes=30)

    def run(minute: float) -> None:
        evaluate(wh, tmp_path, [channel], thresholds=thresholds, rules=[rule], now=at(minute))

    run(0)  # alert
    rule.on = set()
    run(2)  # resolved: recovery
    rule.on = {"spotify"}
    run(4)  # back 4 min after the alert: a new incident, held back
    rule.on = set()
    run(6)  # gone again before anyone was told: nothing at all
    rule.on = {"spotify"}
    run(10)  # back again, held back ...
    run(25)
    assert [n.kind for n in channel.sent] == ["opened", "recovered"]
    run(31)  # ... until the window since the last alert has passed
    assert [n.kind for n in channel.sent] == ["opened", "recovered", "opened"]
    assert wh.scalar("SELECT count(*) FROM alerts.incidents") == 3


def test_events_are_told_once_and_a_failing_channel_is_retried_alone(wh, tmp_path) -> None:
    rule = Switch(name="dispute_changed", on={"D1|pending"}, kind=EVENT)
    good, bad = Recorder("good"), Recorder("bad", fail=True)
    first = evaluate(wh, tmp_path, [good, bad], rules=[rule], now=at(0))
    assert (first.sent, first.failed, first.change.events) == (1, 1, 1)
    bad.fail = False
    second = evaluate(wh, tmp_path, [good, bad], rules=[rule], now=at(1))
    assert (second.sent, second.change.events) == (1, 0)
    evaluate(wh, tmp_path, [good, bad], rules=[rule], now=at(2))
    assert [n.subject for n in good.sent] == [n.subject for n in bad.sent] == ["D1|pending is wrong"]
    assert good.sent[0].kind == "event"
    errors = wh.query("SELECT channel, error FROM alerts.notifications WHERE NOT delivered").rows()
    assert errors == [("bad", "NotifyError: bad: receiver down")]


def test_a_failing_rule_is_an_incident_and_keeps_its_own_open(wh, tmp_path) -> None:
    rule, channel = Switch(on={"fip"}), Recorder()
    evaluate(wh, tmp_path, [channel], thresholds=Thresholds(resolve_minutes=0), rules=[rule], now=at(0))

    def broken(ctx: RuleContext) -> list[Finding]:
        raise RuntimeError("relation airplay.stream_chunks is locked")

    rule.evaluate = broken  # type: ignore[method-assign]
    result = evaluate(wh, tmp_path, [channel], thresholds=Thresholds(resolve_minutes=0), rules=[rule], now=at(1))
    assert result.failed_rules == {"switch": "RuntimeError: relation airplay.stream_chunks is locked"}
    assert [n.subject for n in channel.sent] == ["fip is wrong", "Alert rule switch failed"]
    assert wh.scalar("SELECT count(*) FROM alerts.incidents WHERE status = 'open'") == 2


def test_a_burst_goes_out_as_a_few_messages_and_one_digest(wh, tmp_path) -> None:
    rule, channel = Switch(on={f"station-{i:02d}" for i in range(30)}), Recorder()
    result = evaluate(wh, tmp_path, [channel], thresholds=Thresholds(max_messages=5), rules=[rule], now=at(0))
    assert [n.kind for n in channel.sent] == ["opened"] * 4 + ["digest"]
    assert channel.sent[-1].subject == "26 more alerts" and channel.sent[-1].text.count("\n") == 25
    assert result.sent == 30 and sum(d.digest for d in result.deliveries) == 26
    evaluate(wh, tmp_path, [channel], thresholds=Thresholds(max_messages=5), rules=[rule], now=at(1))
    assert len(channel.sent) == 5
    facts = json.loads(wh.scalar("SELECT facts FROM alerts.incidents LIMIT 1"))
    assert facts == {}
