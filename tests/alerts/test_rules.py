"""Each alert rule fires on a DuckDB warehouse under tmp_path, and stays quiet when things are fine."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from backbeat.airplay.tables import CAPTURE_GAPS, DETECTIONS, STATIONS, STREAM_CHUNKS
from backbeat.alerts.config import Thresholds
from backbeat.alerts.rules import (
    ApiFailureRate,
    DiskUsage,
    DisputeChanged,
    PayoutChanged,
    QueueDepth,
    RuleContext,
    StationGap,
    StationNoMatch,
    StationSilent,
    outreach_send_queue,
)
from backbeat.catalog.tables import ALBUM_QUEUE
from backbeat.royalties.tables import DISPUTE_EVENTS, DISPUTES, PAYOUTS
from integrations.resilience.calllog import CallLog
from integrations.warehouse import Table, Warehouse

NOW = datetime(2026, 12, 5, 10, 0)


def put(wh: Warehouse, table: Table, rows: list[dict]) -> None:
    with wh.connect() as conn:
        conn.ensure(table)
        conn.insert(table, table.from_rows([{c: r.get(c) for c in table.column_names} for r in rows]))


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse(f"duckdb:///{tmp_path}/w.duckdb")


def ctx(wh: Warehouse, tmp_path: Path, **thresholds: float) -> RuleContext:
    return RuleContext(wh, tmp_path, NOW, Thresholds(**thresholds))  # type: ignore[arg-type]


def chunk(station: str, start: datetime, seconds: float = 60.0) -> dict:
    return {
        "chunk_id": f"{station}_{start:%Y%m%dT%H%M%SZ}",
        "station_id": station,
        "chunk_date": start.date(),
        "start_utc": start,
        "duration_s": seconds,
    }


def test_nothing_fires_on_an_empty_warehouse(wh, tmp_path) -> None:
    rules = [StationSilent(), StationGap(), StationNoMatch(), ApiFailureRate(), QueueDepth(), DisputeChanged()]
    assert [f for r in rules for f in r.evaluate(ctx(wh, tmp_path))] == []
    assert PayoutChanged().evaluate(ctx(wh, tmp_path)) == []
    assert outreach_send_queue(wh, NOW) is None
    with wh.connect() as conn:  # rules read; they never create another domain's tables (the schema version is not one)
        assert conn.scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema <> 'backbeat_meta'") == 0


def test_station_silent_after_n_minutes_and_never_captured(wh, tmp_path) -> None:
    put(
        wh,
        STATIONS,
        [{"station_id": s, "active": a} for s, a in [("fip", True), ("nova", True), ("off", False), ("new", True)]],
    )
    put(
        wh,
        STREAM_CHUNKS,
        [
            chunk("fip", NOW - timedelta(minutes=14)),
            chunk("nova", NOW - timedelta(minutes=30)),
            chunk("nova", NOW - timedelta(minutes=17), 60),
        ],
    )
    found = {f.key: f for f in StationSilent().evaluate(ctx(wh, tmp_path, silent_minutes=15))}
    assert sorted(found) == ["new", "nova"]  # fip's last chunk ended 13 min ago; off is inactive
    assert found["nova"].summary == "Station nova is silent for 16 min" and found["nova"].severity == "critical"
    assert found["new"].summary == "Station new has never been captured" and found["new"].facts["last audio"] == "never"
    assert [f.key for f in StationSilent().evaluate(ctx(wh, tmp_path, silent_minutes=20))] == ["new"]


def test_station_gap_longer_than_n_minutes_is_one_event(wh, tmp_path) -> None:
    put(
        wh,
        CAPTURE_GAPS,
        [
            {
                "station_id": "fip",
                "gap_date": NOW.date(),
                "gap_start_utc": NOW - timedelta(hours=2),
                "gap_end_utc": NOW - timedelta(hours=1),
                "seconds": 3600.0,
                "reason": "HTTP 503 (x3)",
            },
            {
                "station_id": "fip",
                "gap_date": NOW.date(),
                "gap_start_utc": NOW - timedelta(minutes=30),
                "gap_end_utc": NOW - timedelta(minutes=25),
                "seconds": 300.0,
            },
            {
                "station_id": "nova",
                "gap_date": date(2026, 11, 1),
                "gap_start_utc": datetime(2026, 11, 1),
                "seconds": 9000.0,
            },
        ],
    )
    (gap,) = StationGap().evaluate(ctx(wh, tmp_path, silent_minutes=15))
    assert gap.kind == "event" and gap.key == "fip|2026-12-05T08:00:00" and gap.facts["reason"] == "HTTP 503 (x3)"
    assert gap.summary == "Station fip lost 60 min of air from 2026-12-05 08:00 UTC"


def test_station_no_match_for_a_day(wh, tmp_path) -> None:
    day_ago = NOW - timedelta(hours=25)
    put(
        wh,
        STREAM_CHUNKS,
        [chunk(s, t) for s in ("fip", "nova", "young") for t in (day_ago, NOW - timedelta(hours=1))][:-2]
        + [chunk("young", NOW - timedelta(hours=2))],
    )
    put(
        wh,
        DETECTIONS,
        [{"chunk_id": "x", "station_id": "nova", "chunk_start_utc": NOW - timedelta(hours=1), "track_id": "t1"}],
    )
    (finding,) = StationNoMatch().evaluate(ctx(wh, tmp_path, no_match_hours=24))
    # fip: captured all day, no match; nova matched; young has been captured for 2 h only
    assert finding.key == "fip" and finding.summary == "Station fip: no match in 24 h"


def test_api_failure_rate_above_a_quarter_over_fifteen_minutes(wh, tmp_path) -> None:
    clock = [(NOW - timedelta(minutes=5)).replace(tzinfo=UTC).timestamp()]
    log = CallLog(wh.url, flush_every=3600, clock=lambda: clock[0])
    for outcome in ["ok"] * 5 + ["transient", "rate_limited"]:
        log.record("spotify", outcome)  # 2 of 7 = 29 %
    for outcome in ["ok"] * 6 + ["not_found", "transient"]:
        log.record("musicbrainz", outcome)  # 1 of 8: a 404 is an answer
    log.record("gmail", "transient")  # 1 of 1: too few calls to judge
    clock[0] = (NOW - timedelta(minutes=40)).replace(tzinfo=UTC).timestamp()
    for _ in range(10):
        log.record("serp", "transient")  # outside the window
    assert log.flush() == 8  # rows: one per service, minute and outcome
    (finding,) = ApiFailureRate().evaluate(ctx(wh, tmp_path))
    assert finding.key == "spotify" and finding.facts == {"service": "spotify", "calls": 7, "failed": 2}
    assert finding.summary == "spotify: 29% of calls failed in 15 min"


def test_queue_deeper_than_the_limit(wh, tmp_path) -> None:
    put(wh, ALBUM_QUEUE, [{"album_id": f"a{i:03d}", "status": "queued" if i < 101 else "ingested"} for i in range(130)])
    rule = QueueDepth(send_queue=lambda warehouse, now: 250)
    assert [(f.key, f.facts["depth"]) for f in rule.evaluate(ctx(wh, tmp_path))] == [
        ("catalog.album_queue", 101),
        ("outreach.send_queue", 250),
    ]
    assert QueueDepth(send_queue=lambda warehouse, now: 100).evaluate(ctx(wh, tmp_path, queue_depth=101)) == []


def test_data_directory_disk_above_80_percent(tmp_path, wh) -> None:
    assert DiskUsage(measure=lambda path: (79.9, path)).evaluate(ctx(wh, tmp_path)) == []
    (finding,) = DiskUsage(measure=lambda path: (81.2, path)).evaluate(ctx(wh, tmp_path))
    assert finding.key == str(tmp_path) and finding.summary == "Data directory disk 81 % full"
    (real,) = DiskUsage().evaluate(ctx(wh, tmp_path / "not" / "yet", disk_percent=0.0))  # the real file system
    assert real.facts["path"] == str(tmp_path)


def test_dispute_opened_and_moved_are_events(wh, tmp_path) -> None:
    put(
        wh,
        DISPUTES,
        [
            {
                "dispute_id": "D1",
                "play_id": "p1",
                "station_id": "fip",
                "opened_by": "artist",
                "opened_at": NOW - timedelta(hours=3),
                "status": "verified",
                "updated_at": NOW - timedelta(hours=1),
            }
        ],
    )
    put(
        wh,
        DISPUTE_EVENTS,
        [
            {
                "dispute_id": "D1",
                "play_id": "p1",
                "status": "pending",
                "actor": "artist",
                "stepped_at": NOW - timedelta(hours=3),
            },
            {
                "dispute_id": "D1",
                "play_id": "p1",
                "status": "verified",
                "actor": "analyst",
                "stepped_at": NOW - timedelta(hours=1),
            },
            {
                "dispute_id": "D0",
                "play_id": "p0",
                "status": "pending",
                "actor": "station",
                "stepped_at": NOW - timedelta(days=9),
            },
        ],
    )
    found = DisputeChanged().evaluate(ctx(wh, tmp_path))
    assert [(f.key, f.summary, f.kind) for f in found] == [
        ("D1|pending", "Dispute D1 opened", "event"),
        ("D1|verified", "Dispute D1 moved to verified", "event"),
    ]
    assert found[1].facts["station"] == "fip" and found[1].facts["by"] == "analyst"


def test_payout_approved_or_paid_are_events(wh, tmp_path) -> None:
    put(
        wh,
        PAYOUTS,
        [
            {
                "payout_id": "P1",
                "party_id": "artist-1",
                "currency": "EUR",
                "amount_minor": 12345,
                "requested_on": NOW.date(),
                "status": "approved",
                "decided_by": "finance",
            },
            {
                "payout_id": "P2",
                "party_id": "artist-2",
                "currency": "JPY",
                "amount_minor": 5000,
                "requested_on": date(2026, 11, 1),
                "status": "paid",
                "paid_on": NOW.date(),
            },
            {
                "payout_id": "P3",
                "party_id": "artist-3",
                "currency": "EUR",
                "amount_minor": 10,
                "requested_on": NOW.date(),
                "status": "requested",
            },
        ],
    )
    found = PayoutChanged().evaluate(ctx(wh, tmp_path))
    assert [(f.key, f.summary) for f in found] == [
        ("P1|approved", "Payout P1 to artist-1 approved: 123.45 EUR"),
        ("P2|paid", "Payout P2 to artist-2 paid: 5000 JPY"),
    ]
