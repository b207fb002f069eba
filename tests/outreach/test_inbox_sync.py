"""Inbox sync against the local Gmail stand-in through the real client, on DuckDB (and PostgreSQL for the re-sync
test): replies, hard and soft bounces, out-of-office, unsubscribe emails, re-syncs without duplicates, expired
history, a checkpoint that only moves once the outcomes are stored, and the loop with the real send engine."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest

import backbeat.outreach.inbox_sync as inbox_sync
from backbeat.demo.standins.gmail_server import (
    GmailServer,
    auto_reply_to,
    delivery_status_notification,
    reply_to,
    unsubscribe_email_to,
)
from backbeat.outreach import campaigns as setup
from backbeat.outreach import ids
from backbeat.outreach.inbox_sync import SyncResult, sync_mailbox
from backbeat.outreach.messages import build_message
from backbeat.outreach.pacing import PacingConfig
from backbeat.outreach.sender import SendEngine, SenderConfig
from backbeat.outreach.stops import stop_reason
from backbeat.outreach.store import insert_row
from backbeat.outreach.suppression import suppression_for
from backbeat.outreach.tables import (
    CAMPAIGNS,
    MAILBOX_CHECKPOINTS,
    MAILBOXES,
    ORG_CONTACTS,
    ORGANISATIONS,
    OUTBOUND_MESSAGES,
    OUTCOMES,
    OUTREACH_TABLES,
    PROSPECTS,
    SEND_ATTEMPTS,
    SUPPRESSIONS,
    THREADS,
)
from backbeat.outreach.unsubscribe import unsubscribe_url
from integrations.gmail import GmailClient, GmailEndpoint
from integrations.resilience import CircuitBreaker, RetryPolicy
from integrations.retry import Backoff
from integrations.warehouse import Warehouse

ORG = "org-1"
CAMPAIGN = "camp-1"
MAILBOX = "promo@label.test"
KEY = "a-test-unsubscribe-key-of-32-bytes!"
PEOPLE = {
    "anna": "anna@radio-one.test",
    "bob": "bob@nowhere.test",  # hard bounce
    "eve": "eve@indie-fm.test",  # soft bounce
    "cara": "cara@club.test",
}


@dataclass
class Rig:
    """A Gmail stand-in serving the mailbox, its client, a warehouse, and the messages the campaign sent."""

    server: GmailServer
    client: GmailClient
    warehouse: Warehouse
    sent: dict[str, Message] = field(default_factory=dict)
    prospects: dict[str, str] = field(default_factory=dict)

    def sync(self) -> SyncResult:
        return sync_mailbox(self.warehouse, self.client, MAILBOX, unsubscribe_key=KEY)

    def outcomes(self) -> list[tuple[str, str | None, str | None]]:
        rows = self.warehouse.query(f"SELECT kind, prospect_id, email FROM {OUTCOMES.qualified_name} ORDER BY kind")
        return [tuple(r) for r in rows.rows()]

    def checkpoint(self) -> str | None:
        return self.warehouse.scalar(
            f"SELECT history_id FROM {MAILBOX_CHECKPOINTS.qualified_name} WHERE mailbox_id = ?", [MAILBOX]
        )

    def stop(self, who: str) -> str | None:
        with self.warehouse.connect() as conn:
            return stop_reason(conn, self.prospects[who], MAILBOX, datetime(2030, 1, 1))


def _seed(warehouse: Warehouse, now: datetime) -> dict[str, str]:
    warehouse.ensure(*OUTREACH_TABLES)
    prospects = {}
    with warehouse.connect() as conn:
        insert_row(conn, ORGANISATIONS, {"org_id": ORG, "name": "Label", "daily_cap": 500, "created_at": now})
        insert_row(
            conn,
            MAILBOXES,
            {"mailbox_id": MAILBOX, "org_id": ORG, "address": MAILBOX, "status": "ok", "updated_at": now},
        )
        insert_row(conn, CAMPAIGNS, {"campaign_id": CAMPAIGN, "org_id": ORG, "name": "Night Drive", "status": "active"})
        for who, address in PEOPLE.items():
            contact = ids.contact_id(address)
            prospect = ids.prospect_id(CAMPAIGN, contact)
            prospects[who] = prospect
            insert_row(
                conn,
                ORG_CONTACTS,
                {"org_id": ORG, "contact_id": contact, "email": address, "consent": True, "provenance": "import"},
            )
            insert_row(
                conn,
                PROSPECTS,
                {
                    "prospect_id": prospect,
                    "org_id": ORG,
                    "campaign_id": CAMPAIGN,
                    "contact_id": contact,
                    "mailbox_id": MAILBOX,
                    "status": "active",
                    "enrolled_at": now,
                },
            )
    return prospects


def _send_step_one(rig: Rig, who: str, now: datetime) -> None:
    """Send step 1 to `who` through the real client and record it as the send engine does."""
    address = PEOPLE[who]
    prospect = rig.prospects[who]
    key = ids.idempotency_key(MAILBOX, CAMPAIGN, prospect, 1)
    message_id = ids.message_id(key, "label.test")
    url = unsubscribe_url("https://u.label.test", KEY, ORG)(ids.contact_id(address), CAMPAIGN)
    email = build_message(
        sender=MAILBOX,
        recipient=address,
        subject="New single: Night Drive",
        body=f"Hello {who}, have a listen.",
        message_id=message_id,
        unsubscribe_url=url,
        date=now,
    )
    sent = rig.client.send(email.raw)
    base = {
        "idempotency_key": key,
        "org_id": ORG,
        "mailbox_id": MAILBOX,
        "campaign_id": CAMPAIGN,
        "prospect_id": prospect,
        "step_no": 1,
        "message_id": message_id,
        "occurred_at": now,
    }
    with rig.warehouse.connect() as conn:
        insert_row(
            conn,
            OUTBOUND_MESSAGES,
            {k: v for k, v in base.items() if k not in ("occurred_at",)}
            | {"subject": email.subject, "body_sha256": email.body_sha256, "rendered_at": now},
        )
        insert_row(conn, SEND_ATTEMPTS, base | {"attempt_no": 1, "event": "intent", "lease_until": now})
        insert_row(
            conn,
            SEND_ATTEMPTS,
            base | {"attempt_no": 1, "event": "sent", "gmail_message_id": sent.id, "gmail_thread_id": sent.thread_id},
        )
        insert_row(
            conn,
            THREADS,
            {
                "prospect_id": prospect,
                "mailbox_id": MAILBOX,
                "org_id": ORG,
                "campaign_id": CAMPAIGN,
                "gmail_thread_id": sent.thread_id,
                "root_message_id": message_id,
                "created_at": now,
            },
        )
    rig.sent[who] = rig.server.message(MAILBOX, sent.id).message


@pytest.fixture
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    """DuckDB unless a test asks for `postgres` (`indirect` parametrization)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    if getattr(request, "param", "duckdb") == "postgres":
        url = request.getfixturevalue("postgres_server").create_database("outreach_inbox_sync")
    else:
        url = f"duckdb:///{tmp_path}/w.duckdb"
    with GmailServer([MAILBOX], max_page=4) as server:
        server.bounce_addresses.add(PEOPLE["bob"])
        server.soft_bounce_addresses.add(PEOPLE["eve"])
        client = GmailClient(
            MAILBOX,
            server.token_for(MAILBOX),
            client_id=server.client_id,
            client_secret=server.client_secret,
            endpoint=GmailEndpoint(api_endpoint=server.url, token_uri=server.token_uri),
            policy=RetryPolicy(max_attempts=2, backoff=Backoff(base=0.01, maximum=0.02), rng=random.Random(1)),
            breaker=CircuitBreaker("gmail-inbox-sync-test", failure_threshold=50, cooldown=30),
            timeout=5.0,
        )
        warehouse = Warehouse(url)
        built = Rig(server, client, warehouse, prospects=_seed(warehouse, now))
        yield built


@pytest.fixture
def campaign(rig: Rig) -> Rig:
    """Step 1 sent to everyone; the DSNs for bob (5.1.1) and eve (4.2.2) are already in the mailbox."""
    now = datetime.now(UTC).replace(tzinfo=None)
    for who in PEOPLE:
        _send_step_one(rig, who, now)
    return rig


def test_a_mailbox_without_checkpoint_or_sends_starts_from_its_profile(rig: Rig) -> None:
    result = rig.sync()
    assert (result.messages_seen, result.resynced, result.outcomes) == (0, False, {})
    assert rig.checkpoint() == rig.server.history_id(MAILBOX)
    assert result.units_spent == 1  # getProfile only


def test_first_sync_after_sends_reads_the_bounces_already_there(campaign: Rig) -> None:
    result = campaign.sync()
    assert result.resynced  # no checkpoint yet: listed since the first send
    assert result.outcomes == {"bounced_hard": 1, "bounced_soft": 1}
    assert campaign.checkpoint() == campaign.server.history_id(MAILBOX)


def test_reply_becomes_a_replied_outcome_that_stops_the_prospect(campaign: Rig) -> None:
    campaign.sync()
    campaign.server.deliver(MAILBOX, reply_to(campaign.sent["anna"], PEOPLE["anna"], "Love it, adding it Friday."))
    before = campaign.server.units_spent(MAILBOX)
    result = campaign.sync()
    assert (result.messages_seen, result.outcomes, result.resynced) == (1, {"replied": 1}, False)
    assert result.units_spent == 2 + 5 == campaign.server.units_spent(MAILBOX) - before  # history + metadata
    assert ("replied", campaign.prospects["anna"], PEOPLE["anna"]) in campaign.outcomes()
    assert campaign.stop("anna") == "replied"
    assert result.as_metadata()["outcomes_replied"] == 1
    assert campaign.stop("cara") is None


def test_hard_bounce_is_bounced_hard_and_suppresses_the_address(campaign: Rig) -> None:
    result = campaign.sync()
    assert result.suppressions_added == 1
    assert ("bounced_hard", campaign.prospects["bob"], PEOPLE["bob"]) in campaign.outcomes()
    suppression = suppression_for(campaign.warehouse, ORG, PEOPLE["bob"])
    assert suppression is not None and (suppression.reason, suppression.source) == ("bounce", "dsn")
    assert campaign.stop("bob") == "bounced"
    detail = campaign.warehouse.scalar(f"SELECT detail FROM {OUTCOMES.qualified_name} WHERE kind = 'bounced_hard'")
    assert "status 5.1.1" in detail


def test_soft_bounce_is_recorded_without_suppression_or_stop(campaign: Rig) -> None:
    campaign.sync()
    assert ("bounced_soft", campaign.prospects["eve"], PEOPLE["eve"]) in campaign.outcomes()
    assert suppression_for(campaign.warehouse, ORG, PEOPLE["eve"]) is None
    assert campaign.stop("eve") is None


def test_out_of_office_is_an_auto_reply_not_a_stop(campaign: Rig) -> None:
    campaign.sync()
    campaign.server.deliver(MAILBOX, auto_reply_to(campaign.sent["cara"], PEOPLE["cara"]))
    result = campaign.sync()
    assert result.outcomes == {"auto_reply": 1}
    assert result.signals == {"auto_reply": 1}
    assert campaign.stop("cara") is None


def test_unsubscribe_email_with_its_token_suppresses_the_contact_it_names(campaign: Rig) -> None:
    campaign.sync()
    # Anna answers the mailto from her home address; the mailto address (unsubscribe+TOKEN@label.test) reaches
    # the sending mailbox as an alias would.
    campaign.server.deliver(MAILBOX, unsubscribe_email_to(campaign.sent["anna"], "anna@home.test"))
    result = campaign.sync()
    assert result.signals == {"unsubscribe": 1}
    assert result.outcomes == {"unsubscribed": 1}
    suppression = suppression_for(campaign.warehouse, ORG, PEOPLE["anna"])
    assert suppression is not None and (suppression.reason, suppression.source) == ("unsubscribe", "unsubscribe_email")
    assert suppression_for(campaign.warehouse, ORG, "anna@home.test") is None
    assert campaign.stop("anna") == "unsubscribed"


def test_unsubscribe_email_without_a_usable_token_suppresses_its_sender(campaign: Rig) -> None:
    campaign.sync()
    campaign.server.deliver(MAILBOX, unsubscribe_email_to(campaign.sent["cara"], PEOPLE["cara"]))
    result = sync_mailbox(campaign.warehouse, campaign.client, MAILBOX, unsubscribe_key="another-key-32-bytes-long!!!!")
    assert result.outcomes == {"unsubscribed": 1}
    suppression = suppression_for(campaign.warehouse, ORG, PEOPLE["cara"])
    assert suppression is not None and suppression.reason == "unsubscribe"
    assert ("unsubscribed", campaign.prospects["cara"], PEOPLE["cara"]) in campaign.outcomes()
    assert campaign.stop("cara") == "unsubscribed"


@pytest.mark.parametrize("rig", ["duckdb", "postgres"], indirect=True)
def test_resyncing_the_same_history_adds_nothing(campaign: Rig) -> None:
    first_checkpoint = campaign.sync().history_id
    campaign.server.deliver(MAILBOX, reply_to(campaign.sent["anna"], PEOPLE["anna"], "Yes!"))
    campaign.server.deliver(MAILBOX, auto_reply_to(campaign.sent["cara"], PEOPLE["cara"]))
    assert campaign.sync().outcomes == {"auto_reply": 1, "replied": 1}
    stored = (campaign.outcomes(), campaign.warehouse.read(SUPPRESSIONS).height)
    with campaign.warehouse.connect() as conn:  # as if the last sync's checkpoint had never been written
        conn.execute(f"UPDATE {MAILBOX_CHECKPOINTS.qualified_name} SET history_id = ?", [first_checkpoint])
    again = campaign.sync()
    assert again.messages_seen == 2 and again.outcomes == {} and again.suppressions_added == 0
    assert (campaign.outcomes(), campaign.warehouse.read(SUPPRESSIONS).height) == stored
    # and from no checkpoint at all (a full listing since the first send): still nothing new
    with campaign.warehouse.connect() as conn:
        conn.execute(f"DELETE FROM {MAILBOX_CHECKPOINTS.qualified_name}")
    assert campaign.sync().outcomes == {}
    assert len(campaign.outcomes()) == 4


def test_expired_history_resyncs_fully_and_finds_the_messages(campaign: Rig) -> None:
    campaign.sync()
    campaign.server.deliver(MAILBOX, reply_to(campaign.sent["cara"], PEOPLE["cara"], "Send the WAV please."))
    campaign.server.expire_history(MAILBOX)
    result = campaign.sync()
    assert result.resynced
    assert result.outcomes == {"replied": 1}  # the bounces seen before are not counted again
    assert campaign.checkpoint() == campaign.server.history_id(MAILBOX)
    resynced_at = campaign.warehouse.scalar(f"SELECT last_full_sync_at FROM {MAILBOX_CHECKPOINTS.qualified_name}")
    assert resynced_at is not None
    campaign.server.deliver(MAILBOX, reply_to(campaign.sent["anna"], PEOPLE["anna"], "Me too."))
    after = campaign.sync()
    assert (after.resynced, after.outcomes) == (False, {"replied": 1})  # history works again from the new id


def test_checkpoint_is_not_advanced_when_storing_fails(campaign: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("warehouse went away")

    campaign.sync()
    before = campaign.checkpoint()
    campaign.server.deliver(MAILBOX, reply_to(campaign.sent["anna"], PEOPLE["anna"], "Count me in."))
    campaign.server.deliver(MAILBOX, delivery_status_notification(campaign.sent["cara"], PEOPLE["cara"]))
    monkeypatch.setattr(inbox_sync, "suppress_in", broken)
    with pytest.raises(RuntimeError, match="warehouse went away"):
        campaign.sync()
    assert campaign.checkpoint() == before
    assert ("replied", campaign.prospects["anna"], PEOPLE["anna"]) not in campaign.outcomes()  # rolled back
    monkeypatch.undo()
    result = campaign.sync()
    assert result.outcomes == {"bounced_hard": 1, "replied": 1}
    assert campaign.checkpoint() == campaign.server.history_id(MAILBOX)
    assert campaign.stop("cara") == "bounced"


def test_with_the_send_engine_no_follow_up_goes_after_a_reply_or_a_bounce(tmp_path: Path) -> None:
    """The loop end to end: the engine sends step 1, Gmail bounces one address, one person replies, one is out of
    office; the sync records it; 49 h later step 2 reaches only those who may still be emailed."""
    clock = {"now": datetime(2026, 12, 7, 10, 0)}
    people = ["ann@radio.test", "bob@gone.test", "cy@club.test", "dee@radio.test"]
    warehouse = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    with GmailServer([MAILBOX], now=lambda: clock["now"].replace(tzinfo=UTC).timestamp()) as server:
        server.bounce_addresses.add("bob@gone.test")
        token = server.token_for(MAILBOX)

        def client(mailbox: str) -> GmailClient:
            return GmailClient(
                mailbox,
                token,
                client_id=server.client_id,
                client_secret=server.client_secret,
                endpoint=GmailEndpoint(api_endpoint=server.url, token_uri=server.token_uri),
                policy=RetryPolicy(max_attempts=2, max_rate_limited=1, sleep=lambda s: None),
                breaker=CircuitBreaker("gmail-inbox-sync-e2e", failure_threshold=50, cooldown=30),
                timeout=5.0,
            )

        now = clock["now"]
        setup.ensure_tables(warehouse)
        setup.add_organisation(warehouse, ORG, "Label", now=now)
        setup.add_mailbox(warehouse, ORG, MAILBOX, now=now, created_on=date(2020, 1, 1))
        setup.add_template(warehouse, ORG, "t1", "New single: $track", "Hi $first_name,\n$track is out.\n", now=now)
        setup.add_template(warehouse, ORG, "t2", "-", "Hi $first_name, any thoughts?\n", now=now)
        setup.create_campaign(warehouse, ORG, CAMPAIGN, name="Single", mailbox_ids=[MAILBOX], now=now,
                              steps=[setup.Step(0, "t1"), setup.Step(48, "t2")], track_title="Blue Hour")  # fmt: skip
        contacts = setup.add_contacts(
            warehouse,
            ORG,
            [{"email": e, "name": e.title(), "consent": True} for e in people],
            provenance="import",
            now=now,
        )
        setup.enrol(warehouse, CAMPAIGN, contacts, now=now)
        engine = SendEngine(
            warehouse,
            client,
            lambda contact, campaign: f"https://u.label.test/u/{contact}.{campaign}",
            config=SenderConfig(pacing=PacingConfig(spread=False)),
            clock=lambda: clock["now"],
        )
        inbox = client(MAILBOX)
        assert sync_mailbox(warehouse, inbox, MAILBOX, now=now).messages_seen == 0  # the sensor's first tick

        assert engine.run_pass().sent == 4
        clock["now"] += timedelta(hours=2)
        sent = {str(m["To"]).split("<")[-1].rstrip(">"): m for m in server.sent(MAILBOX)}
        server.deliver(MAILBOX, reply_to(sent["ann@radio.test"], "ann@radio.test", "Yes, Friday show."))
        server.deliver(MAILBOX, auto_reply_to(sent["cy@club.test"], "cy@club.test"))
        result = sync_mailbox(warehouse, inbox, MAILBOX, now=clock["now"])
        assert result.outcomes == {"auto_reply": 1, "bounced_hard": 1, "replied": 1}
        assert result.skipped == 4  # our own four sends, known by Gmail id, never fetched

        clock["now"] += timedelta(hours=49)
        report = engine.run_pass()
        assert report.sent == 2 and report.skipped == Counter({"replied": 1, "bounced": 1})
        received = Counter(str(m["To"]).split("<")[-1].rstrip(">") for m in server.sent(MAILBOX))
        assert received == Counter({"ann@radio.test": 1, "bob@gone.test": 1, "cy@club.test": 2, "dee@radio.test": 2})
