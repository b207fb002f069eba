"""What the send engine sends: Jinja2 templates composed per prospect (a missing variable or a failed check refuses
only that prospect), `$name` rows from before Jinja still sent, and generated drafts only once a person approved
them, through the real Gmail client against the Gmail stand-in and the real text-generation client against its
stand-in."""

from __future__ import annotations

import email.message
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import count

import pytest

from backbeat.demo.standins.clock import ManualClock
from backbeat.demo.standins.gmail_server import GmailServer
from backbeat.demo.standins.textgen_server import FakeTextGen
from backbeat.outreach import campaigns as setup
from backbeat.outreach import compose, tables
from backbeat.outreach.compose import ENGINE_FOOTER, TemplateVersion, template_from_row
from backbeat.outreach.composition import compose_pending
from backbeat.outreach.generation import (
    DraftRequest,
    GenerationDisabled,
    GenerationSettings,
    approve_draft,
    generate_draft,
    load_draft,
)
from backbeat.outreach.ids import contact_id, prospect_id
from backbeat.outreach.messages import body_sha256
from backbeat.outreach.pacing import PacingConfig
from backbeat.outreach.sender import SendEngine, SenderConfig
from backbeat.outreach.store import insert_row
from backbeat.outreach.tables import TEMPLATES
from integrations.gmail import GmailClient, GmailEndpoint
from integrations.resilience import CircuitBreaker, RetryPolicy
from integrations.retry import Backoff
from integrations.textgen import TextGenClient
from integrations.warehouse import Warehouse

T0 = datetime(2026, 12, 7, 10, 0)  # a Monday
ORG = "label"
BOX = "promo@label.example"
KEY = "test-key"
_breakers = count()

INTRO = (
    "{{ track }} for {{ company }}",
    "Hi {{ first_name }},\n\n{{ track }} is out Friday.\n\n{{ sender_name }}\nUnsubscribe: {{ unsubscribe_url }}\n",
)


def url_for(contact: str, campaign: str) -> str:
    return f"https://u.label.example/u/{contact}.{campaign}"


@dataclass
class World:
    server: GmailServer
    warehouse: Warehouse
    now: datetime = T0
    token: dict = field(default_factory=dict)

    def client(self, mailbox: str) -> GmailClient:
        return GmailClient(
            mailbox,
            self.token,
            client_id=self.server.client_id,
            client_secret=self.server.client_secret,
            endpoint=GmailEndpoint(api_endpoint=self.server.url, token_uri=self.server.token_uri),
            policy=RetryPolicy(max_attempts=2, max_rate_limited=1, sleep=lambda s: None),
            breaker=CircuitBreaker(f"gmail-compose-{next(_breakers)}", failure_threshold=50, cooldown=30),
            timeout=5.0,
        )

    def engine(self) -> SendEngine:
        config = SenderConfig(pacing=PacingConfig(spread=False), lease=timedelta(minutes=5))
        return SendEngine(self.warehouse, self.client, url_for, config=config, clock=lambda: self.now)

    def campaign(self, people: list[dict], template: dict | None = None) -> list[str]:
        """One-step campaign c1 from BOX; `template` is an outreach.templates row (id t1, version 1)."""
        wh = self.warehouse
        setup.ensure_tables(wh)
        setup.add_organisation(wh, ORG, "Label", now=self.now)
        self.token = self.server.token_for(BOX)
        setup.add_mailbox(wh, ORG, BOX, now=self.now, display_name="Label Promo", created_on=date(2020, 1, 1))
        row = template or {"subject": INTRO[0], "body": INTRO[1], "syntax": "jinja"}
        with wh.connect() as conn:
            insert_row(
                conn, TEMPLATES, {"template_id": "t1", "version": 1, "org_id": ORG, "created_at": self.now, **row}
            )
        setup.create_campaign(wh, ORG, "c1", name="Single", mailbox_ids=[BOX], steps=[setup.Step(0, "t1", 1)],
                              now=self.now, track_title="Blue Hour")  # fmt: skip
        ids = setup.add_contacts(wh, ORG, [{"consent": True, **p} for p in people], provenance="import", now=self.now)
        return setup.enrol(wh, "c1", ids, now=self.now)

    def sent(self) -> dict[str, email.message.EmailMessage]:
        """The messages the stand-in holds, by recipient address."""
        out = {}
        for message in self.server.sent(BOX):
            out[message["To"].addresses[0].addr_spec] = message
        return out

    def prospect(self, address: str) -> dict:
        return self.warehouse.query(
            "SELECT status, status_reason FROM outreach.prospects WHERE prospect_id = ?", [pid(address)]
        ).row(0, named=True)


def pid(address: str) -> str:
    return prospect_id("c1", contact_id(address))


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    with GmailServer([BOX]) as server:
        yield World(server, Warehouse(f"duckdb:///{tmp_path}/w.duckdb"))


PEOPLE = [
    {"email": "ann@radio.example", "name": "Ann Dee", "company": "Radio Été"},
    {"email": "bob@radio.example", "name": "Bob Roe", "company": ""},  # no company: the template needs one
    {"email": "cy@radio.example", "name": "Cy Lee", "company": "Cy FM"},
]


def body_of(message: email.message.EmailMessage) -> str:
    return message.get_content().replace("\r\n", "\n")


def test_the_template_tables_agree_with_compose() -> None:
    assert tables.TEMPLATE_SYNTAXES == compose.SYNTAXES
    assert tables.TEMPLATE_FOOTERS == compose.FOOTER_MODES
    described = {c.name: c.description for c in TEMPLATES.columns}
    for column in ("syntax", "forbidden_phrases", "max_subject_chars", "max_body_chars", "footer"):
        assert described[column] and next(c for c in TEMPLATES.columns if c.name == column).nullable


def test_a_missing_variable_refuses_only_that_prospect(world: World) -> None:
    world.campaign(PEOPLE)
    engine = world.engine()
    report = engine.run_pass()
    assert report.sent == 2 and report.skipped == Counter({"missing_variable": 1})
    sent = world.sent()
    assert sorted(sent) == ["ann@radio.example", "cy@radio.example"]
    assert str(sent["ann@radio.example"]["Subject"]) == "Blue Hour for Radio Été"
    ann = body_of(sent["ann@radio.example"])
    assert ann.startswith("Hi Ann,\n\nBlue Hour is out Friday.\n\nLabel Promo\n")
    assert f"Unsubscribe: {url_for(contact_id('ann@radio.example'), 'c1')}\n" in ann
    assert world.prospect("bob@radio.example") == {"status": "failed", "status_reason": "missing_variable:company"}
    # nothing was claimed for bob: no message row, no attempt
    for table in ("outbound_messages", "send_attempts"):
        n = world.warehouse.scalar(
            f"SELECT count(*) FROM outreach.{table} WHERE prospect_id = ?", [pid(PEOPLE[1]["email"])]
        )
        assert n == 0, table
    (detail,) = world.warehouse.query(
        "SELECT detail FROM outreach.activity WHERE action = 'skip' AND subject_id = ?", [pid("bob@radio.example")]
    )["detail"].to_list()
    logged = json.loads(detail)
    assert (logged["reason"], logged["template_id"], logged["template_version"]) == ("missing_variable", "t1", 1)
    assert "'company'" in logged["error"]
    # the next pass neither sends to bob nor logs him again
    assert engine.run_pass().sent == 0
    assert world.warehouse.scalar("SELECT count(*) FROM outreach.activity WHERE action = 'skip'") == 1
    assert world.server.sent_count_by_message_id() and set(world.server.sent_count_by_message_id().values()) == {1}


def test_a_forbidden_claim_refuses_the_message(world: World) -> None:
    people = [PEOPLE[0], PEOPLE[2]]
    template = {
        "subject": "{{ track }}",
        "body": "Hi {{ first_name }},\n{{ track }} is an Exclusive Premiere!\n",
        "syntax": "jinja",
        "footer": "engine",
        "forbidden_phrases": json.dumps(["exclusive premiere"]),
    }
    world.campaign(people, template)
    report = world.engine().run_pass()
    assert report.sent == 0 and report.skipped == Counter({"check_failed": 2})
    assert world.server.sent(BOX) == []
    assert world.prospect("ann@radio.example") == {"status": "failed", "status_reason": "check_failed:forbidden_claim"}
    errors = world.warehouse.query("SELECT detail FROM outreach.activity WHERE action = 'skip'")["detail"].to_list()
    assert any("'exclusive premiere'" in json.loads(d)["error"] for d in errors)


def test_a_claim_from_the_context_refuses_only_that_prospect(world: World) -> None:
    people = [
        {"email": "ann@radio.example", "name": "Ann Dee", "company": "Radio Été"},
        {"email": "cy@radio.example", "name": "Cy Lee", "company": "Guaranteed-Airplay FM"},
    ]
    world.campaign(people, {"subject": INTRO[0], "body": INTRO[1], "syntax": "jinja", "max_subject_chars": 40})
    report = world.engine().run_pass()
    assert report.sent == 1 and report.skipped == Counter({"check_failed": 1})
    assert sorted(world.sent()) == ["ann@radio.example"]
    assert world.prospect("cy@radio.example")["status_reason"] == "check_failed:forbidden_claim"


def test_a_string_template_row_still_sends_with_the_engine_footer(world: World) -> None:
    people = [{"email": "ann@radio.example", "name": "Ann Dee", "company": "Radio Été"}]
    world.campaign(people, {"subject": "New single: $track", "body": "Hi $first_name,\n$track is out for $$0.\n"})
    assert world.engine().run_pass().sent == 1
    message = world.sent()["ann@radio.example"]
    assert str(message["Subject"]) == "New single: Blue Hour"
    url = url_for(contact_id("ann@radio.example"), "c1")
    assert body_of(message) == "Hi Ann,\nBlue Hour is out for $0.\n" + ENGINE_FOOTER.replace(
        "{{ unsubscribe_url }}", url
    )


def _generate(world: World, server: FakeTextGen, address: str, context: dict) -> str:
    """A generated draft for `address`'s step 1, rendered from the campaign's template t1 v1; its id."""
    row = world.warehouse.query("SELECT * FROM outreach.templates WHERE template_id = 't1'").row(0, named=True)
    template: TemplateVersion = template_from_row(row)
    client = TextGenClient(
        KEY,
        base_url=server.url,
        policy=RetryPolicy(max_attempts=2, backoff=Backoff(base=0.1), sleep=ManualClock().sleep, rng=random.Random(1)),
    )
    request = DraftRequest(ORG, "c1", 1, address, context, prospect_id=pid(address))
    settings = GenerationSettings(enabled=True, api_key=KEY, base_url=server.url)
    return generate_draft(world.warehouse, settings, template, request, client=client, now=world.now).draft_id


def _personal(prompt: str) -> str:
    return "Subject: A note for Ann about Blue Hour\n\nHi Ann,\nI wrote this one just for Radio Été.\n"


def test_an_approved_draft_is_what_goes_out_and_is_marked_sent(world: World) -> None:
    world.campaign([PEOPLE[0], PEOPLE[2]])
    context = {"first_name": "Ann", "company": "Radio Été", "track": "Blue Hour", "sender_name": "Label Promo"}
    with FakeTextGen(api_keys=(KEY,), reply=_personal) as server:
        draft_id = _generate(world, server, "ann@radio.example", context)
    approve_draft(world.warehouse, draft_id, "maria", now=world.now)
    report = world.engine().run_pass()
    assert report.sent == 2
    sent = world.sent()
    ann = sent["ann@radio.example"]
    url = url_for(contact_id("ann@radio.example"), "c1")
    assert str(ann["Subject"]) == "A note for Ann about Blue Hour"
    expected = "Hi Ann,\nI wrote this one just for Radio Été." + ENGINE_FOOTER.replace("{{ unsubscribe_url }}", url)
    assert body_of(ann) == expected
    assert body_of(sent["cy@radio.example"]).startswith("Hi Cy,\n\nBlue Hour is out Friday.")  # the template
    assert load_draft(world.warehouse, draft_id).status == "sent"
    row = world.warehouse.query(
        "SELECT subject, body_sha256, template_id, template_version FROM outreach.outbound_messages "
        "WHERE prospect_id = ?",
        [pid("ann@radio.example")],
    ).row(0, named=True)
    assert row == {
        "subject": "A note for Ann about Blue Hour",
        "body_sha256": body_sha256(expected),
        "template_id": "t1",
        "template_version": 1,
    }


def test_a_pending_draft_defers_the_send_until_approved(world: World) -> None:
    world.campaign([PEOPLE[0], PEOPLE[2]])
    context = {"first_name": "Ann", "company": "Radio Été", "track": "Blue Hour", "sender_name": "Label Promo"}
    with FakeTextGen(api_keys=(KEY,), reply=_personal) as server:
        draft_id = _generate(world, server, "ann@radio.example", context)
    engine = world.engine()
    report = engine.run_pass()
    assert report.sent == 1 and report.deferred == Counter({"draft_not_approved": 1}) and not report.skipped
    assert sorted(world.sent()) == ["cy@radio.example"]
    assert world.prospect("ann@radio.example")["status"] == "active"
    claims = "SELECT count(*) FROM outreach.send_attempts WHERE prospect_id = ?"
    assert world.warehouse.scalar(claims, [pid("ann@radio.example")]) == 0
    assert engine.run_pass().deferred == Counter({"draft_not_approved": 1})  # still waiting for a person

    approve_draft(world.warehouse, draft_id, "maria", now=world.now)
    world.now += timedelta(minutes=1)
    assert engine.run_pass().sent == 1
    assert str(world.sent()["ann@radio.example"]["Subject"]) == "A note for Ann about Blue Hour"
    assert load_draft(world.warehouse, draft_id).status == "sent"
    assert engine.run_pass().sent == 0
    assert set(world.server.sent_count_by_message_id().values()) == {1}


@pytest.mark.parametrize("engine_kind", ["duckdb", "postgres"])
def test_an_older_templates_table_gets_the_new_columns(
    engine_kind: str, request: pytest.FixtureRequest, tmp_path
) -> None:
    if engine_kind == "duckdb":
        url = f"duckdb:///{tmp_path}/w.duckdb"
    else:
        url = request.getfixturevalue("postgres_server").create_database("outreach_templates_migration")
    warehouse = Warehouse(url)
    with warehouse.connect() as conn:  # the table as it was before templates were Jinja2
        conn.execute("CREATE SCHEMA IF NOT EXISTS outreach")
        conn.execute(
            "CREATE TABLE outreach.templates (template_id TEXT NOT NULL, version BIGINT NOT NULL, "
            "org_id TEXT NOT NULL, subject TEXT, body TEXT, created_at TIMESTAMP, PRIMARY KEY (template_id, version))"
        )
        conn.execute("INSERT INTO outreach.templates VALUES ('old', 1, ?, 'Hi $name', 'About $track.', ?)", [ORG, T0])
    setup.ensure_tables(warehouse)
    new = {"syntax", "forbidden_phrases", "max_subject_chars", "max_body_chars", "footer"}
    columns = set(warehouse.query("SELECT * FROM outreach.templates").columns)
    assert new <= columns
    row = warehouse.query("SELECT * FROM outreach.templates").row(0, named=True)
    assert all(row[c] is None for c in new)
    assert template_from_row(row).footer == "engine" and template_from_row(row).subject == "Hi {{ name }}"
    if engine_kind == "postgres":  # the checks hold for new rows of the old table
        with pytest.raises(Exception, match="templates_syntax_allowed"), warehouse.connect() as conn:
            conn.execute(
                "INSERT INTO outreach.templates (template_id, version, org_id, syntax) VALUES ('x', 1, ?, 'mustache')",
                [ORG],
            )


def test_composing_ahead_shows_the_problem_before_the_send_refuses_it(world: World) -> None:
    world.campaign(PEOPLE)
    [step] = compose_pending(world.warehouse, now=world.now)
    assert (step.campaign_id, step.step_no, step.template, step.pending, step.ready) == ("c1", 1, "t1 v1", 3, 2)
    assert step.problems == Counter({"missing_variable:company": 1})
    [example] = step.examples
    assert example.startswith("bob@radio.example: ") and "'company'" in example
    assert step.sample_subject in ("Blue Hour for Radio Été", "Blue Hour for Cy FM")
    assert step.line() == "c1 step 1 (t1 v1): 3 to send, 2 ready; refused: 1 missing_variable:company"
    assert world.warehouse.scalar("SELECT count(*) FROM outreach.drafts") == 0  # a check stores nothing
    assert world.engine().run_pass().sent == 2
    assert compose_pending(world.warehouse, now=world.now) == []  # two sent, bob failed at send time: none left


def test_composing_ahead_generates_one_draft_per_prospect_only_when_generation_is_on(world: World) -> None:
    world.campaign([PEOPLE[0], PEOPLE[2]])
    with pytest.raises(GenerationDisabled):
        compose_pending(world.warehouse, generate=[("c1", 1)], now=world.now)
    with FakeTextGen(api_keys=(KEY,), reply=_personal) as server:
        settings = GenerationSettings(enabled=True, api_key=KEY, base_url=server.url)
        [step] = compose_pending(world.warehouse, generation=settings, generate=[("c1", 1)], now=world.now)
        assert (step.drafts_generated, step.drafts_failed_checks, step.drafts_awaiting_approval) == (2, 0, 2)
        [again] = compose_pending(world.warehouse, generation=settings, generate=[("c1", 1)], now=world.now)
        assert (again.drafts_generated, again.drafts_awaiting_approval) == (0, 2)  # asked once per prospect
    assert "drafts generated 0 (0 failed checks), awaiting approval 2" in again.line()
    report = world.engine().run_pass()
    assert report.sent == 0 and report.deferred == Counter({"draft_not_approved": 2})  # a person decides first


def test_backbeat_outreach_compose_prints_each_step_and_fails_on_a_refusal(
    world: World, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from backbeat.cli import main

    world.campaign(PEOPLE)
    monkeypatch.setenv("BACKBEAT_WAREHOUSE_URL", str(world.warehouse.url))
    monkeypatch.setenv("BACKBEAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BACKBEAT_TEXTGEN_ENABLED", raising=False)
    result = CliRunner().invoke(main, ["outreach", "compose"])
    assert result.exit_code == 1, result.output
    assert "c1 step 1 (t1 v1): 3 to send, 2 ready; refused: 1 missing_variable:company" in result.output
    assert "  bob@radio.example: " in result.output
    off = CliRunner().invoke(main, ["outreach", "compose", "--generate", "c1:1"])
    assert off.exit_code == 1 and "text generation is off" in off.output
    bad = CliRunner().invoke(main, ["outreach", "compose", "--generate", "c1"])
    assert bad.exit_code == 2 and "is not CAMPAIGN:STEP" in bad.output
