"""The outreach marts on a small outreach history in DuckDB: funnel figures, mailbox-day rates, and the
bounce / complaint checks going red exactly when a mailbox passes Google's ceilings.

The history: campaign CMP1 (3 steps, step 3 not sent yet) from two mailboxes. promo1 sends 4 first emails on
2024-06-03 (one to Dan bounces hard: 1 of 4 is 25 %, but one bounce in a handful of sends stays green, the rate
is judged over at least 100 sends) and 2 follow-ups on 2024-06-05; Ada replies twice to her follow-up (one
reply counted), Bea's out-of-office is not a reply, Cy unsubscribes after his first email. promo2 sends one
first email on 2024-06-03, recovered after a crash (found by its Message-ID on attempt 2), and Eve's server
answers with a soft bounce (a temporary failure: still delivered, as the campaign figures count it). Then a
complaint, two more hard bounces and a duplicate send arrive and the rebuilt marts' checks fail. Only the
outreach models are built (their sources come from backbeat.registry like the assets'), so the module takes
four dbt invocations, not the whole project.
"""

from __future__ import annotations

import json
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from tests.dbt.test_dbt_project import failed_nodes, query, run_dbt, source_ddl

# The airplay conversions mart also reads airplay and royalties, which this test does not build.
CONVERSIONS = ["--exclude", "fct_outreach_airplay_conversions", "int_outreach_contacts_matched_to_stations"]
OUTREACH = ["--select", "path:models/staging/outreach", "path:models/marts/outreach", *CONVERSIONS]
KEY = "{mailbox}|CMP1|{prospect}|{step}"

HISTORY = """
insert into outreach.mailboxes (mailbox_id, org_id, address, provider, status, created_on, daily_cap, updated_at)
values
    ('promo1@label.example', 'ORG1', 'promo1@label.example', 'workspace', 'ok', '2024-01-10', 40,
     '2024-06-01 08:00:00'),
    ('promo2@label.example', 'ORG1', 'promo2@label.example', 'workspace', 'ok', '2022-03-01', null,
     '2024-06-01 08:00:00');
insert into outreach.campaigns (campaign_id, org_id, name, track_id, track_title, status, created_at) values
    ('CMP1', 'ORG1', 'Night Drive to radio', 'T1', 'Night Drive', 'active', '2024-06-01 09:00:00');
insert into outreach.sequence_steps (campaign_id, step_no, org_id, delay_hours, template_id, template_version)
values
    ('CMP1', 1, 'ORG1', 0, 'intro', 2),
    ('CMP1', 2, 'ORG1', 48, 'nudge', 1),
    ('CMP1', 3, 'ORG1', 96, 'last-call', 1);
insert into outreach.prospects (prospect_id, org_id, campaign_id, contact_id, mailbox_id, status, enrolled_at)
values
    ('PA', 'ORG1', 'CMP1', 'ada', 'promo1@label.example', 'replied', '2024-06-03 08:00:00'),
    ('PB', 'ORG1', 'CMP1', 'bea', 'promo1@label.example', 'active', '2024-06-03 08:00:00'),
    ('PC', 'ORG1', 'CMP1', 'cy', 'promo1@label.example', 'unsubscribed', '2024-06-03 08:00:00'),
    ('PD', 'ORG1', 'CMP1', 'dan', 'promo1@label.example', 'bounced', '2024-06-03 08:00:00'),
    ('PE', 'ORG1', 'CMP1', 'eve', 'promo2@label.example', 'active', '2024-06-03 08:00:00');
"""

SENDS = [  # mailbox, prospect, step, sent at; every key sent once, on attempt 1
    ("promo1", "PA", 1, "2024-06-03 09:00:00"),
    ("promo1", "PB", 1, "2024-06-03 09:05:00"),
    ("promo1", "PC", 1, "2024-06-03 09:10:00"),
    ("promo1", "PD", 1, "2024-06-03 09:15:00"),
    ("promo1", "PA", 2, "2024-06-05 09:00:00"),
    ("promo1", "PB", 2, "2024-06-05 09:05:00"),
]

OUTCOMES = """
insert into outreach.outcomes (outcome_id, org_id, kind, campaign_id, prospect_id, contact_id, email, mailbox_id,
    step_no, gmail_message_id, detail, occurred_at, recorded_at) values
    ('O-dsn-dan', 'ORG1', 'bounced_hard', 'CMP1', 'PD', 'dan', 'dan@gone.example', 'promo1@label.example', null,
     'g-dsn1', '5.1.1', '2024-06-03 09:16:00', '2024-06-03 09:20:00'),
    ('O-ooo-bea', 'ORG1', 'auto_reply', 'CMP1', 'PB', 'bea', 'bea@fm.example', 'promo1@label.example', null,
     'g-ooo1', null, '2024-06-03 09:06:00', '2024-06-03 09:20:00'),
    ('O-unsub-cy', 'ORG1', 'unsubscribed', 'CMP1', 'PC', 'cy', 'cy@fm.example', null, null,
     null, 'one_click', '2024-06-04 12:00:00', '2024-06-04 12:00:01'),
    ('O-reply1-ada', 'ORG1', 'replied', 'CMP1', 'PA', 'ada', 'ada@radio.example', 'promo1@label.example', null,
     'g-rep1', null, '2024-06-05 10:00:00', '2024-06-05 10:05:00'),
    ('O-reply2-ada', 'ORG1', 'replied', 'CMP1', 'PA', 'ada', 'ada@radio.example', 'promo1@label.example', 2,
     'g-rep2', null, '2024-06-05 11:00:00', '2024-06-05 11:05:00'),
    ('O-dsn-eve', 'ORG1', 'bounced_soft', 'CMP1', 'PE', 'eve', 'eve@full.example', 'promo2@label.example', null,
     'g-dsn2', '4.2.2', '2024-06-03 10:05:00', '2024-06-03 10:10:00'),
    ('O-stray', 'ORG1', 'bounced_hard', null, null, null, 'who@nowhere.example', 'promo1@label.example', null,
     'g-dsn3', '5.1.1', '2024-06-03 12:00:00', '2024-06-03 12:05:00');
"""

LATER = """
insert into outreach.outcomes (outcome_id, org_id, kind, campaign_id, prospect_id, contact_id, email, mailbox_id,
    step_no, gmail_message_id, detail, occurred_at, recorded_at) values
    ('O-spam-eve', 'ORG1', 'complained', 'CMP1', 'PE', 'eve', 'eve@full.example', 'promo2@label.example', null,
     null, 'feedback loop', '2024-06-06 08:00:00', '2024-06-06 08:00:00'),
    ('O-dsn-bea', 'ORG1', 'bounced_hard', 'CMP1', 'PB', 'bea', 'bea@fm.example', 'promo1@label.example', 1,
     'g-dsn4', '5.2.1', '2024-06-03 09:30:00', '2024-06-06 08:00:00'),
    ('O-dsn-ada', 'ORG1', 'bounced_hard', 'CMP1', 'PA', 'ada', 'ada@radio.example', 'promo1@label.example', 1,
     'g-dsn5', '5.2.1', '2024-06-03 09:31:00', '2024-06-06 08:00:00');
"""


DUPLICATE = """
insert into outreach.send_attempts (idempotency_key, attempt_no, event, org_id, mailbox_id, campaign_id,
    prospect_id, step_no, recipient_domain, message_id, gmail_message_id, gmail_thread_id, recovered, occurred_at)
values ('promo1@label.example|CMP1|PC|1', 2, 'sent', 'ORG1', 'promo1@label.example', 'CMP1', 'PC', 1,
    'radio.example', 'bb-PC-1@label.example', 'g-again', 'g-promo1-PC-1', false, '2024-06-03 11:00:00');
"""
"""A second `sent` for Cy's first email: what the exactly-once sender must never let happen."""


def send_events() -> str:
    """The send_attempts rows of the history: an intent and a sent event per key, and promo2's recovery."""
    rows = []

    def event(mailbox: str, prospect: str, step: int, attempt: int, kind: str, at: str, **extra: str) -> None:
        key = KEY.format(mailbox=f"{mailbox}@label.example", prospect=prospect, step=step)
        gmail = f"'g-{mailbox}-{prospect}-{step}'" if kind == "sent" else "null"
        lease = f"'{at}'::timestamp + interval '5 minutes'" if kind == "intent" else "null"
        rows.append(
            f"('{key}', {attempt}, '{kind}', 'ORG1', '{mailbox}@label.example', 'CMP1', '{prospect}', {step}, "
            f"'radio.example', 'bb-{prospect}-{step}@label.example', {gmail}, {gmail}, "
            f"{extra.get('recovered', 'null')}, {extra.get('error', 'null')}, {lease}, '{at}')"
        )

    for mailbox, prospect, step, at in SENDS:
        event(mailbox, prospect, step, 1, "intent", at)
        event(mailbox, prospect, step, 1, "sent", at, recovered="false")
    # attempt 1 crashed after Gmail took the message; attempt 2 found it by its Message-ID
    event("promo2", "PE", 1, 1, "intent", "2024-06-03 10:00:00")
    event("promo2", "PE", 1, 1, "unknown", "2024-06-03 10:00:01", error="'outcome_unknown'")
    event("promo2", "PE", 1, 2, "intent", "2024-06-03 10:04:00")
    event("promo2", "PE", 1, 2, "sent", "2024-06-03 10:04:01", recovered="true")
    return (
        "insert into outreach.send_attempts (idempotency_key, attempt_no, event, org_id, mailbox_id, campaign_id, "
        "prospect_id, step_no, recipient_domain, message_id, gmail_message_id, gmail_thread_id, recovered, "
        "error_category, lease_until, occurred_at) values\n" + ",\n".join(rows) + ";"
    )


def outbound_messages() -> str:
    """The outbound_messages rows: the message each sent key rendered (step 1 intro v2, step 2 nudge v1)."""
    rows = [
        f"('{KEY.format(mailbox=f'{m}@label.example', prospect=p, step=s)}', 'ORG1', '{m}@label.example', 'CMP1', "
        f"'{p}', {s}, 'bb-{p}-{s}@label.example', 'Night Drive', '{'intro' if s == 1 else 'nudge'}', "
        f"{2 if s == 1 else 1}, 'ab12', '{at}')"
        for m, p, s, at in [*SENDS, ("promo2", "PE", 1, "2024-06-03 10:00:00")]
    ]
    return (
        "insert into outreach.outbound_messages (idempotency_key, org_id, mailbox_id, campaign_id, prospect_id, "
        "step_no, message_id, subject, template_id, template_version, body_sha256, rendered_at) values\n"
        + ",\n".join(rows)
        + ";"
    )


def statuses(result) -> dict[str, tuple[str, int | None]]:
    """Each executed node's status and, for tests, how many rows failed."""
    return {r.node.name: (str(r.status), r.failures) for r in result.result}


SNAPSHOT_SQL = {
    "funnel": """select step_no, template_id, sent_count, delivered_count, replied_count, bounced_count,
                        soft_bounced_count, unsubscribed_count, complained_count, bounce_rate, reply_rate
                 from analytics.fct_outreach_funnel order by step_no""",
    "daily": """select outreach_mailbox_daily_id, sent_count, delivered_count, bounced_count, soft_bounced_count,
                       complained_count, replied_count, bounce_rate, complaint_rate
                from analytics.fct_outreach_mailbox_daily order by mailbox_id, sent_date""",
    "sends": """select prospect_id, step_no, attempt_no, claim_count, is_recovered, template_version, sent_date,
                       is_delivered, is_replied, is_bounced, is_soft_bounced, is_auto_replied, is_unsubscribed,
                       first_replied_at
                from analytics.fct_outreach_sends order by mailbox_id, prospect_id, step_no""",
}


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    return {name: query(warehouse, sql) for name, sql in SNAPSHOT_SQL.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):
    """Build the outreach models on empty tables, then on the history, then after the later signals arrived,
    then the sends after a duplicate. Yields each build's result and the marts after the history and the signals."""
    tmp = tmp_path_factory.mktemp("outreach_dbt")
    warehouse, target = tmp / "warehouse.duckdb", tmp / "target"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(source_ddl())
    found: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "duckdb")
        mp.setenv("BACKBEAT_DUCKDB_PATH", str(warehouse))
        found["empty"] = run_dbt(["build", *OUTREACH], target)
        found["empty_rows"] = query(warehouse, "select count(*) from analytics.fct_outreach_funnel")
        query(warehouse, HISTORY + send_events() + outbound_messages() + OUTCOMES)
        found["history"] = run_dbt(["build", *OUTREACH], target)
        found["history_marts"] = snapshot(warehouse)
        query(warehouse, LATER)
        found["later"] = run_dbt(["build", "--select", "path:models/marts/outreach", *CONVERSIONS], target)
        found["later_marts"] = snapshot(warehouse)
        query(warehouse, DUPLICATE)  # a failing `unique` on the sends would skip the marts built from them
        found["duplicate"] = run_dbt(["build", "--select", "fct_outreach_sends"], target)
    found["manifest"] = json.loads((target / "manifest.json").read_text())
    yield found


def test_models_build_on_empty_tables(runs):
    result = runs["empty"]
    assert result.success, failed_nodes(result) or result.exception
    assert runs["empty_rows"] == [(0,)]  # no steps, no sends: an empty funnel, not an error


def test_history_builds_green_with_the_funnel_unit_test(runs):
    result = runs["history"]
    assert result.success, failed_nodes(result) or result.exception
    done = statuses(result)
    assert done["outreach_outcomes_count_once_for_the_send_they_answer"] == ("pass", 0)
    assert done["outreach_funnel_counts_every_step_of_the_sequence"] == ("pass", 0)
    rate_checks = {name: status for name, status in done.items() if name.startswith("rate_at_most")}
    assert len(rate_checks) == 2 and set(rate_checks.values()) == {("pass", 0)}


def test_funnel_per_campaign_and_step(runs):
    assert runs["history_marts"]["funnel"] == [
        # step 1: Ada, Bea, Cy, Dan (hard bounce: not delivered), Eve (soft bounce: a temporary failure);
        # Cy unsubscribed after it; Bea's out-of-office is no reply
        (1, "intro", 5, 4, 0, 1, 1, 1, 0, 0.2, 0.0),
        # step 2: Ada and Bea; Ada's two replies to it count once
        (2, "nudge", 2, 2, 1, 0, 0, 0, 0, 0.0, 0.5),
        # step 3 is in the sequence but not sent yet
        (3, "last-call", 0, 0, 0, 0, 0, 0, 0, None, None),
    ]


def test_sends_record_recovery_and_what_came_of_each(runs):
    sends = runs["history_marts"]["sends"]
    assert len(sends) == 7
    by_key = {(s[0], s[1]): s for s in sends}
    # a reply without a step counts for the latest send before it: Ada's step 2, not step 1
    assert by_key["PA", 1][8] is False and by_key["PA", 2][8] is True
    assert by_key["PA", 2][13] == datetime(2024, 6, 5, 10, 0)
    assert by_key["PB", 1][11] is True and by_key["PB", 1][8] is False  # auto-reply only
    assert by_key["PC", 1][12] is True  # unsubscribed the day after step 1
    assert by_key["PD", 1][7:10] == (False, False, True)  # bounced: not delivered
    # Eve's message: attempt 1 crashed, attempt 2 found it in the mailbox; a soft bounce is no hard failure
    assert by_key["PE", 1][:7] == ("PE", 1, 2, 2, True, 2, date(2024, 6, 3))
    assert by_key["PE", 1][7:11] == (True, False, False, True)


def test_mailbox_daily_rates_judge_a_single_bounce_in_a_few_sends_green(runs):
    assert runs["history_marts"]["daily"] == [
        # 1 hard bounce of 4 is a 25 % rate, yet green: the rule counts at least 100 sends (2 bounces allowed)
        ("promo1@label.example|2024-06-03", 4, 3, 1, 0, 0, 0, 0.25, 0.0),
        ("promo1@label.example|2024-06-05", 2, 2, 0, 0, 0, 1, 0.0, 0.0),
        ("promo2@label.example|2024-06-03", 1, 1, 0, 1, 0, 0, 0.0, 0.0),
    ]


def test_bounce_and_complaint_checks_fail_past_googles_ceilings(runs):
    result = runs["later"]
    assert not result.success
    done = statuses(result)
    bounce = next(k for k in done if k.startswith("rate_at_most_fct_outreach_mailbox_daily_bounced_count"))
    complaint = next(k for k in done if k.startswith("rate_at_most_fct_outreach_mailbox_daily_complained_count"))
    # promo1 on 2024-06-03: 3 hard bounces of 4 sends (more than 2 % of 100); promo2: 1 complaint
    assert done[bounce] == ("fail", 1)
    assert done[complaint] == ("fail", 1)
    daily = {row[0]: row for row in runs["later_marts"]["daily"]}
    assert daily["promo1@label.example|2024-06-03"][3] == 3
    assert daily["promo2@label.example|2024-06-03"][5] == 1 and daily["promo2@label.example|2024-06-03"][8] == 1.0
    # the late bounces name step 1, so they do not move Ada's reply off step 2
    assert runs["later_marts"]["funnel"][1][4] == 1
    # everything else still holds; only the two rate checks are red
    assert sorted(name for name, (status, _) in done.items() if status != "pass" and status != "success") == sorted(
        [bounce, complaint]
    )


def test_a_step_sent_twice_fails_the_unique_check(runs):
    """The warehouse's own check of "never twice": a second `sent` event for an idempotency key is a failure."""
    assert statuses(runs["history"])["unique_fct_outreach_sends_idempotency_key"] == ("pass", 0)
    assert not runs["duplicate"].success
    done = statuses(runs["duplicate"])
    assert done["unique_fct_outreach_sends_idempotency_key"] == ("fail", 1)
    assert done["unique_fct_outreach_sends_message_id"] == ("fail", 1)


def test_rate_checks_are_errors_with_descriptions(runs):
    tests = [n for n in runs["manifest"]["nodes"].values() if n["name"].startswith("rate_at_most")]
    assert len(tests) == 2
    for node in tests:
        assert node["config"]["severity"] == "ERROR"
        assert "at least 100" in node["description"]


def test_semantic_layer_defines_sends_and_replies(runs):
    manifest = runs["manifest"]
    semantic = {s["name"]: s for s in manifest["semantic_models"].values()}
    sends = semantic["outreach_sends"]
    assert {e["name"] for e in sends["entities"]} == {"outreach_send", "mailbox", "campaign"}
    assert {m["name"]: m["agg"] for m in sends["measures"]}["outreach_send_count"] == "count"
    metrics = {m["name"]: m for m in manifest["metrics"].values()}
    assert {"outreach_sends", "outreach_replies", "outreach_reply_rate", "outreach_bounce_rate"} <= set(metrics)
    ratio = metrics["outreach_reply_rate"]["type_params"]
    assert (ratio["numerator"]["name"], ratio["denominator"]["name"]) == ("outreach_replies", "outreach_delivered")


def test_marts_are_the_same_on_postgresql(runs, postgres_server, tmp_path):
    """The SQL is portable: built on a real PostgreSQL from the same history, the marts hold the same values."""
    import psycopg2

    from backbeat.settings import dbt_environment

    url = postgres_server.create_database("outreach_marts")
    with closing(psycopg2.connect(url)) as pg, pg, pg.cursor() as cur:  # commits, then closes
        cur.execute(source_ddl())
        cur.execute(HISTORY + send_events() + outbound_messages() + OUTCOMES)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in dbt_environment(url).items():
            mp.setenv(name, value)
        result = run_dbt(["build", *OUTREACH], tmp_path / "target")
    assert result.success, failed_nodes(result) or result.exception
    with closing(psycopg2.connect(url)) as pg, pg.cursor() as cur:
        on_pg = {}
        for name, sql in SNAPSHOT_SQL.items():
            cur.execute(sql)
            on_pg[name] = cur.fetchall()
    assert on_pg == runs["history_marts"]
