"""The outreach Dagster definitions materialized for real (`dagster.materialize`, sensors evaluated with their
resources) against the local Gmail stand-in, on DuckDB and on a real PostgreSQL: campaign files → prospects,
a send pass with its figures and the three checks, the inbox sensor's run per mailbox, follow-ups that skip
everyone who replied or bounced, and a revoked mailbox failing only its own inbox run with the alert."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import (
    AssetSelection,
    DagsterInstance,
    Definitions,
    SensorResult,
    build_sensor_context,
    instance_for_test,
    materialize,
)

import assets.outreach
from assets.common.paths import DataDirResource
from assets.outreach.assets import campaigns, contacts, outcomes, sends, suppressions
from assets.outreach.checks import OUTREACH_CHECKS
from assets.outreach.partitions import mailbox_partitions
from assets.outreach.resources import OutreachResource
from assets.outreach.sensors import outreach_inbox_sensor, outreach_send_sensor
from backbeat.catalog.tables import TRACKS
from backbeat.demo.standins.gmail_server import GmailServer, reply_to
from backbeat.outreach.mailboxes import GmailSettings, connect_mailbox
from integrations.resilience import TokenStore
from integrations.warehouse import Warehouse, WarehouseResource

pytestmark = pytest.mark.slow  # materializes the outreach chain on both warehouses, as the other domains' asset tests

ORG = "label"
PROMO, PLUG = "promo@label.example", "plug@label.example"
CONTACTS_CSV = """email,name,company,country,consent
ann@radio-one.example,Ann Lee,Radio One,NL,yes
bob@gone.example,Bob Stone,Gone FM,DE,yes
cy@fm-two.example,Cy Moss,FM Two,NL,no
dee@fm-two.example,Dee Dee,FM Two,NL,yes
not-an-address,Nobody,,NL,yes
"""
CAMPAIGN = f"""campaign_id: spring
org: {ORG}
track: {{track_id: trk1}}
mailboxes: [{PROMO}, {PLUG}]
templates:
  - {{id: intro, version: 1, subject: "New single: $track", body: "Hi $first_name, listen to $track.\\n"}}
  - {{id: nudge, version: 1, subject: "About $track", body: "Hi $first_name, did you hear it?\\n"}}
steps:
  - {{template: intro, version: 1, delay_hours: 0}}
  - {{template: nudge, version: 1, delay_hours: 0}}
"""
SEND_CHAIN = [contacts, campaigns, suppressions, sends, *OUTREACH_CHECKS]


@dataclass
class Env:
    warehouse: Warehouse
    gmail: GmailServer
    resources: dict

    def sent_to(self, address: str) -> int:
        return sum(address in str(m["To"]) for box in (PROMO, PLUG) for m in self.gmail.sent(box))


@pytest.fixture(params=["duckdb", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database("outreach_assets")
    warehouse = Warehouse(url)
    with warehouse.connect() as conn:
        conn.ensure(TRACKS)
        conn.insert(
            TRACKS, TRACKS.from_rows([dict.fromkeys(TRACKS.column_names) | {"track_id": "trk1", "title": "Glow"}])
        )
    inbox = tmp_path / "data" / "inbox" / "outreach"
    (inbox / "campaigns").mkdir(parents=True)
    (inbox / "contacts.csv").write_text(CONTACTS_CSV, encoding="utf-8")
    (inbox / "campaigns" / "spring.yaml").write_text(CAMPAIGN, encoding="utf-8")
    (inbox / "campaigns" / "broken.yaml").write_text("campaign_id: broken\norg: label\nsteps: []\n", encoding="utf-8")
    key = TokenStore.generate_key()
    with GmailServer([PROMO, PLUG]) as gmail:
        gmail.bounce_addresses.add("bob@gone.example")
        settings = GmailSettings(
            token_dir=str(tmp_path / "tokens"),
            secret_key=key,
            client_id=gmail.client_id,
            client_secret=gmail.client_secret,
            api_endpoint=gmail.url,
            token_uri=gmail.token_uri,
        )
        for address in (PROMO, PLUG):
            connect_mailbox(warehouse, settings.token_store(), address, ORG, gmail.issue_refresh_token(address))
        resources = {
            "warehouse": WarehouseResource(url=url),
            "data_dir": DataDirResource(data_dir=str(tmp_path / "data")),
            "outreach": OutreachResource(
                client_id=gmail.client_id,
                client_secret=gmail.client_secret,
                api_url=gmail.url,
                token_uri=gmail.token_uri,
                token_dir=settings.token_dir,
                secret_key=key,
                unsubscribe_url="https://u.label.example",
                unsubscribe_key="assets-test-unsubscribe-key-0123456789",
                spread=False,
                poll_seconds=0,
            ),
        }
        yield Env(warehouse, gmail, resources)


def _sync_inboxes(env: Env, instance: DagsterInstance) -> list[str]:
    """One tick of the inbox sensor, then the runs it asked for (one per mailbox whose history moved)."""
    with build_sensor_context(instance=instance, resources=env.resources) as context:
        result = outreach_inbox_sensor(context)
    assert isinstance(result, SensorResult)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(mailbox_partitions.name, list(request.partition_keys))
    keys = [r.partition_key for r in result.run_requests or []]
    for key in keys:
        done = materialize([outcomes], resources=env.resources, partition_key=key, instance=instance)
        assert done.success
    return keys


def test_campaign_files_sends_and_inbox_syncs_materialize_with_their_figures(env: Env) -> None:
    first = materialize(SEND_CHAIN, resources=env.resources)
    assert first.success
    meta = {k: v.value for k, v in first.asset_materializations_for_node("outreach__campaigns")[0].metadata.items()}
    assert meta["campaign_files"] == 2 and meta["campaigns_created"] == 1 and meta["prospects_enrolled"] == 3
    assert "broken.yaml:3: steps: must list at least one step" in meta["file_problems"]
    sent = {k: v.value for k, v in first.asset_materializations_for_node("outreach__sends")[0].metadata.items()}
    assert sent["sent_this_run"] == 3 and sent["waiting"] == 3
    assert f"- {PLUG}: 2" in sent["sent_today_per_mailbox"] and f"- {PROMO}: 1" in sent["sent_today_per_mailbox"]
    assert all(check.passed for check in first.get_asset_check_evaluations())
    assert env.sent_to("cy@fm-two.example") == 0  # no consent

    ann = next(m for box in (PROMO, PLUG) for m in env.gmail.sent(box) if "ann@" in str(m["To"]))
    box = PROMO if ann in env.gmail.sent(PROMO) else PLUG
    env.gmail.deliver(box, reply_to(ann, "ann@radio-one.example", "Yes please"))
    with instance_for_test() as instance:
        assert sorted(_sync_inboxes(env, instance)) == [PLUG, PROMO]
        synced = instance.get_latest_materialization_event(outcomes.key)
        assert synced is not None
        assert set(instance.get_dynamic_partitions(mailbox_partitions.name)) == {PLUG, PROMO}
        assert _sync_inboxes(env, instance) == []  # nothing new since the checkpoints

    follow_up = materialize(SEND_CHAIN, resources=env.resources)
    sent = {k: v.value for k, v in follow_up.asset_materializations_for_node("outreach__sends")[0].metadata.items()}
    assert sent["sent_this_run"] == 1, sent  # Dee only: Ann replied, Bob bounced
    assert "- replied: 1" in sent["stopped_by_reason"] and "- bounced: 1" in sent["stopped_by_reason"]
    assert [env.sent_to(a) for a in ("ann@", "bob@", "dee@")] == [1, 1, 2]
    checks = {c.check_name: c.passed for c in follow_up.get_asset_check_evaluations()}
    assert checks == {
        "no_step_sent_twice": True,
        "nothing_sent_after_a_stop": True,
        "mailboxes_within_daily_caps": True,
    }
    suppressed = env.warehouse.query("SELECT value, reason FROM outreach.suppressions ORDER BY value").rows()
    assert suppressed == [("bob@gone.example", "bounce")]


def test_the_checks_fail_when_a_send_follows_a_stop(env: Env) -> None:
    assert materialize(SEND_CHAIN, resources=env.resources).success
    with env.warehouse.connect() as conn:  # a reply recorded before the claim of Dee's send: what must never be
        conn.execute(
            "INSERT INTO outreach.outcomes (outcome_id, org_id, kind, prospect_id, campaign_id, recorded_at) "
            "SELECT 'forged', org_id, 'replied', prospect_id, campaign_id, TIMESTAMP '2000-01-01 00:00:00' "
            "FROM outreach.prospects p WHERE p.contact_id = (SELECT contact_id FROM outreach.org_contacts "
            "WHERE email = 'dee@fm-two.example')"
        )
    result = materialize(
        [sends, *OUTREACH_CHECKS], resources=env.resources, selection=AssetSelection.checks_for_assets(sends)
    )
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["nothing_sent_after_a_stop"] is False and checks["no_step_sent_twice"] is True


def test_the_send_sensor_asks_for_a_pass_only_when_a_step_is_due(env: Env) -> None:
    with instance_for_test() as instance:
        with build_sensor_context(instance=instance, resources=env.resources) as context:
            assert outreach_send_sensor(context).skip_reason is not None  # no campaign yet: nothing due
        materialize([contacts, campaigns], resources=env.resources)
        with build_sensor_context(instance=instance, resources=env.resources) as context:
            due = outreach_send_sensor(context)
        assert len(due.run_requests) == 1 and due.run_requests[0].tags["backbeat/due_steps"] == "3"
        unconfigured = {**env.resources, "outreach": OutreachResource()}
        with build_sensor_context(instance=instance, resources=unconfigured) as context:
            assert "outreach not configured" in str(outreach_send_sensor(context).skip_reason)


def test_a_revoked_mailbox_fails_only_its_own_inbox_run_with_the_alert(env: Env) -> None:
    assert materialize(SEND_CHAIN, resources=env.resources).success
    env.gmail.revoke(PROMO)
    with instance_for_test() as instance:
        with build_sensor_context(instance=instance, resources=env.resources) as context:
            result = outreach_inbox_sensor(context)
        assert [r.partition_key for r in result.run_requests] == [PLUG]  # PROMO: marked, not polled again
        instance.add_dynamic_partitions(mailbox_partitions.name, [PLUG, PROMO])
        failed = materialize(
            [outcomes], resources=env.resources, partition_key=PROMO, instance=instance, raise_on_error=False
        )
        assert not failed.success
    status = env.warehouse.query("SELECT mailbox_id, status, status_reason FROM outreach.mailboxes ORDER BY 1").rows()
    assert status == [(PLUG, "ok", "connected"), (PROMO, "auth_required", "invalid_grant")]
    alerts = env.warehouse.scalar("SELECT count(*) FROM outreach.activity WHERE action = 'auth_required'")
    assert alerts == 1


def test_the_outreach_definitions_load_with_the_shared_resources(tmp_path: Path) -> None:
    defs = Definitions.merge(
        assets.outreach.defs,
        Definitions(
            resources={
                "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
                "data_dir": DataDirResource(data_dir=str(tmp_path)),
            }
        ),
    )
    repository = defs.get_repository_def()
    assert {j.name for j in repository.get_all_jobs()} >= {
        "outreach_campaigns_job",
        "outreach_send_job",
        "outreach_inbox_job",
        "outreach_retention_job",
    }
    assert {s.name for s in repository.sensor_defs} == {
        "outreach_campaign_files_sensor",
        "outreach_discovery_files_sensor",
        "outreach_send_sensor",
        "outreach_inbox_sensor",
    }
    own = [k for k in repository.asset_graph.get_all_asset_keys() if k.path[0] == "outreach"]
    assert len(own) >= 10
    for key in own:  # other domains' keys here are only the upstreams outreach reads (e.g. airplay/playlogs)
        assert repository.asset_graph.get(key).description, key  # every asset says what it holds


def test_mailbox_health_marks_a_revoked_grant_and_only_that_mailbox(env: Env) -> None:
    from assets.outreach.assets import mailboxes

    first = materialize([mailboxes], resources=env.resources)
    assert first.success
    [materialization] = first.asset_materializations_for_node("outreach__mailboxes")
    assert materialization.metadata["mailboxes_by_status"].value.count("ok") == 1  # "- ok: 2"
    env.gmail.revoke(PLUG)
    env.gmail.expire_access_tokens(PLUG)
    assert materialize([mailboxes], resources=env.resources).success  # a revoked grant is a finding, not a crash
    status = dict(env.warehouse.query("SELECT mailbox_id, status FROM outreach.mailboxes").iter_rows())
    assert status == {PROMO: "ok", PLUG: "auth_required"}
    actions = env.warehouse.query(
        "SELECT action FROM outreach.activity WHERE subject_id = ? AND action = 'auth_required'", [PLUG]
    )
    assert actions.height == 1
