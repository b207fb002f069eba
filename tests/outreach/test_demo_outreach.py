"""The demo's outreach step (`backbeat.demo.outreach`) on the demo's own contacts and stations, run as `backbeat demo
run` runs it: real Dagster runs and sensor ticks stored in an instance, the Gmail, SERP and email-finder stand-ins,
prospecting that finds Radio North's programmer (approved by the demo's person, then emailed), the unsubscribe
service in a thread and the one-click POST; then the demo summary's outreach lines, and a second run that sends
nothing."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from dagster import DagsterRunStatus, Definitions, instance_for_test

import assets.outreach
from assets.common.paths import DataDirResource
from backbeat.airplay.tables import STATIONS
from backbeat.catalog.tables import TRACKS
from backbeat.code_location import CodeLocation, execute_job, tick_sensor
from backbeat.demo import extras
from backbeat.demo.outreach import (
    CAMPAIGN_ID,
    CAMPAIGN_SENT_ON,
    CONSENT_BY,
    DEMO_MAILBOXES,
    campaign_contacts,
    outreach_services,
    outreach_step,
)
from backbeat.outreach.figures import summary_lines
from integrations.warehouse import Warehouse, WarehouseResource

pytestmark = pytest.mark.slow  # runs the demo's outreach step twice through Dagster, as the other domains' asset tests

ISRC = "NLB0N2600011"


def demo_inbox(data_dir: Path) -> None:
    """The two inbox files the step reads, as `backbeat demo generate` writes them (contacts from the generator)."""
    catalog = data_dir / "inbox" / "catalog"
    catalog.mkdir(parents=True)
    (catalog / "tracks.csv").write_text(f"track_id,isrc,title\ntrk0001,{ISRC},Harbour Lights\n", encoding="utf-8")
    outreach = data_dir / "inbox" / "outreach"
    outreach.mkdir(parents=True)
    with (outreach / "contacts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(extras.CONTACTS_HEADER)
        writer.writerows(extras.contacts(7))


def run_step(defs: Definitions, services, instance) -> tuple[list[str], list[str]]:  # noqa: ANN001
    """The step with `execute` and `sensor_runs` as `backbeat.pipeline.run_everything` gives them."""
    repository = defs.get_repository_def()
    location = CodeLocation.from_workspace(repository.name)
    jobs: list[str] = []

    def execute(job_name: str, partition_key: str | None = None, tags=None, run_id=None) -> None:  # noqa: ANN001
        run = execute_job(defs, job_name, instance, location, partition_key=partition_key, tags=tags, run_id=run_id)
        assert run.status == DagsterRunStatus.SUCCESS, job_name
        jobs.append(job_name + (f"[{partition_key}]" if partition_key else ""))

    def sensor_runs(sensor_name: str) -> list[str]:
        job_name = repository.get_sensor_def(sensor_name).job_name
        keys = []
        for run_id, request in tick_sensor(defs, instance, location, sensor_name).requests:
            execute(request.job_name or job_name, request.partition_key, dict(request.tags), run_id=run_id)
            keys.append(request.partition_key or "")
        return keys

    return outreach_step(services)(execute, sensor_runs), jobs


def test_the_demo_campaign_replies_bounces_unsubscribes_and_never_sends_after_a_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    demo_inbox(data_dir)
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    warehouse = Warehouse(url)
    with warehouse.connect() as conn:
        conn.ensure(TRACKS)
        conn.insert(
            TRACKS,
            TRACKS.from_rows(
                [dict.fromkeys(TRACKS.column_names) | {"track_id": "trk0001", "isrc": ISRC, "title": "Harbour Lights"}]
            ),
        )
        conn.ensure(STATIONS)
        conn.insert(
            STATIONS,
            STATIONS.from_rows(
                [
                    {"station_id": sid, "name": name, "stream_url": f"http://{sid}.example/stream/live.mp3"}
                    | {"active": True, "timezone": "Europe/Amsterdam"}
                    for sid, name in (("radio-north", "Radio North"), ("radio-south", "Radio South"))
                ]
            ),
        )
    resources = {"warehouse": WarehouseResource(url=url), "data_dir": DataDirResource(data_dir=str(data_dir))}
    defs = Definitions.merge(assets.outreach.defs, Definitions(resources=resources))
    with instance_for_test() as instance:
        with outreach_services(data_dir, url) as services:
            started = time.monotonic()
            lines, jobs = run_step(defs, services, instance)
            print(f"outreach step: {time.monotonic() - started:.1f} s for {len(jobs)} runs")
            sent = {m: len(services.gmail.sent(m)) for m in DEMO_MAILBOXES}
            first_to = {str(m["To"]) for box in DEMO_MAILBOXES for m in services.gmail.sent(box)}
        people = (services.replies, services.bounces, services.unsubscribes)
        assert jobs[:4] == [
            "outreach_campaigns_job",
            "outreach_prospecting_job",
            "outreach_campaigns_job",
            "outreach_send_job",
        ]
        programmer = "elena.evans@radio-north.example"  # the email finder's Radio North programmer (confidence 80)
        assert f"outreach: {CONSENT_BY} approved 1 station programmer(s) found by prospecting: {programmer}" in lines
        assert any(f"<{programmer}>" in to for to in first_to)
        assert sorted(j for j in jobs if j.startswith("outreach_inbox_job")) == sorted(
            f"outreach_inbox_job[{m}]" for m in DEMO_MAILBOXES
        )
        prospects = warehouse.scalar("SELECT count(*) FROM outreach.prospects WHERE campaign_id = ?", [CAMPAIGN_ID])
        assert prospects == len(campaign_contacts(data_dir)) + 1 == 13
        # every prospect got the first email; the follow-up went to all but the three who stopped
        assert sum(sent.values()) == prospects + prospects - 3 and all(sent.values())
        assert len(first_to) == prospects
        assert any(f"{services.replies} replied" in line for line in lines)
        assert any(f"{services.unsubscribes} unsubscribed with the one-click POST (HTTP 200" in line for line in lines)
        assert any(f"{services.bounces} bounced" in line for line in lines)
        outcomes = dict(
            warehouse.query("SELECT kind, count(*) FROM outreach.outcomes GROUP BY kind ORDER BY kind").iter_rows()
        )
        assert outcomes == {"bounced_hard": 1, "replied": 1, "unsubscribed": 1}
        sent_on = warehouse.query("SELECT DISTINCT CAST(rendered_at AS DATE) AS d FROM outreach.outbound_messages")
        assert sent_on["d"].to_list() == [CAMPAIGN_SENT_ON.date()]  # the outreach clock was set back
        assert len(set(people)) == 3

        summary = summary_lines(warehouse)  # what backbeat/summary.py adds to the demo summary
        assert summary[0].startswith(f"outreach {CAMPAIGN_ID} (active, {prospects} prospects from 2 mailboxes): ")
        assert f"step 1 sent {prospects}, delivered {prospects - 1}, replied 1, bounced 1, unsubscribed 1" in summary[0]
        assert f"step 2 sent {prospects - 3}, delivered {prospects - 3}" in summary[0]
        assert "sent after a stop: 0 (must be 0)" in summary[1]

        with outreach_services(data_dir, url) as again:  # `make demo` twice: a fresh stand-in, nothing re-sent
            second, _ = run_step(defs, again, instance)
            assert sum(len(again.gmail.sent(m)) for m in DEMO_MAILBOXES) == 0
        assert second[0] == "outreach: nothing to send: every step of the demo campaign was sent by an earlier run"
        assert second[1] == "outreach: 2 inbox syncs, then 0 follow-ups sent"
