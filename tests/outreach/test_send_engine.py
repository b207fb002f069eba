"""The send engine in process, through the real Gmail client against the local Gmail stand-in: follow-ups in
the thread, never to a suppressed or replied person, caps and spacing never exceeded, and each Gmail failure
(429, 403 dailyLimitExceeded, invalid_grant, a 500 after storing, a 400) handled as the issue says."""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import count

import pytest

from backbeat.demo.standins.gmail_server import GmailServer
from backbeat.outreach import campaigns as setup
from backbeat.outreach.ids import contact_id, outcome_id, prospect_id, suppression_id
from backbeat.outreach.pacing import PacingConfig, SendWindow
from backbeat.outreach.sender import SendEngine, SenderConfig, mailbox_figures
from backbeat.outreach.store import insert_row
from backbeat.outreach.tables import OUTCOMES, SUPPRESSIONS
from integrations.gmail import GmailClient, GmailEndpoint
from integrations.resilience import CircuitBreaker, RetryPolicy
from integrations.warehouse import Warehouse

T0 = datetime(2026, 12, 7, 10, 0)  # a Monday
ORG = "label"
A = "promo@label.example"
B = "team@label.example"
_breakers = count()


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    server: GmailServer
    warehouse: Warehouse
    clock: Clock = field(default_factory=Clock)
    tokens: dict[str, dict] = field(default_factory=dict)

    def client(self, mailbox: str) -> GmailClient:
        return GmailClient(
            mailbox,
            self.tokens[mailbox],
            client_id=self.server.client_id,
            client_secret=self.server.client_secret,
            endpoint=GmailEndpoint(api_endpoint=self.server.url, token_uri=self.server.token_uri),
            policy=RetryPolicy(max_attempts=2, max_rate_limited=1, sleep=lambda s: None),
            breaker=CircuitBreaker(f"gmail-engine-{next(_breakers)}", failure_threshold=50, cooldown=30),
            timeout=5.0,
        )

    def engine(self, **pacing: object) -> SendEngine:
        config = SenderConfig(pacing=PacingConfig(**{"spread": False, **pacing}), lease=timedelta(minutes=5))
        return SendEngine(
            self.warehouse,
            self.client,
            lambda contact, campaign: f"https://u.label.example/u/{contact}.{campaign}",
            config=config,
            clock=self.clock,
        )

    def campaign(
        self,
        emails: list[str],
        *,
        mailboxes: tuple[str, ...] = (A, B),
        steps: int = 2,
        window: SendWindow | None = None,
        org_cap: int | None = None,
        domain_cap: int | None = None,
        mailbox_cap: int | None = None,
    ) -> list[str]:
        wh, now = self.warehouse, self.clock.now
        setup.ensure_tables(wh)
        setup.add_organisation(wh, ORG, "Label", now=now, daily_cap=org_cap, domain_daily_cap=domain_cap)
        for m in mailboxes:
            self.tokens[m] = self.server.token_for(m)  # what `mailbox connect` stored
            setup.add_mailbox(wh, ORG, m, now=now, display_name="Label Promo", created_on=date(2020, 1, 1),
                              daily_cap=mailbox_cap)  # fmt: skip
        setup.add_template(wh, ORG, "t1", "New single: $track", "Hi $first_name,\n$track is out.\n", now=now)
        setup.add_template(wh, ORG, "t2", "ignored for follow-ups", "Hi $first_name, any thoughts?\n", now=now)
        sequence = [setup.Step(0, "t1", 1, window), setup.Step(48, "t2", 1, window)][:steps]
        setup.create_campaign(wh, ORG, "c1", name="Single", mailbox_ids=list(mailboxes), steps=sequence, now=now,
                              track_title="Blue Hour")  # fmt: skip
        people = [{"email": e, "name": f"{e.split('@')[0].title()} Doe", "consent": True} for e in emails]
        ids = setup.add_contacts(wh, ORG, people, provenance="import", now=now)
        return setup.enrol(wh, "c1", ids, now=now)

    def sent_to(self) -> Counter[str]:
        """Recipients of every message the stand-in stored, from every mailbox."""
        return Counter(str(m["To"]).split("<")[-1].rstrip(">") for box in (A, B) for m in self.server.sent(box))

    def events(self, event: str) -> list[dict]:
        return self.warehouse.query(
            "SELECT * FROM outreach.send_attempts WHERE event = ? ORDER BY occurred_at", [event]
        ).to_dicts()


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    with GmailServer([A, B]) as server:
        yield World(server, Warehouse(f"duckdb:///{tmp_path}/w.duckdb"))


def emails(n: int, domain: str = "radio.example") -> list[str]:
    return [f"dj{i}@{domain}" for i in range(n)]


def assert_exactly_once(world: World) -> None:
    counts = world.server.sent_count_by_message_id()
    assert counts and set(counts.values()) == {1}, counts


@pytest.fixture(params=["duckdb", "postgres"])
def any_world(request: pytest.FixtureRequest, tmp_path) -> Iterator[World]:
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path}/w.duckdb"
    else:
        url = request.getfixturevalue("postgres_server").create_database("outreach_engine")
    with GmailServer([A, B]) as server:
        yield World(server, Warehouse(url))


def test_a_sequence_goes_out_once_and_follow_ups_stay_in_the_thread(any_world: World) -> None:
    world = any_world
    world.campaign(emails(4))
    engine = world.engine()
    first = engine.run_pass()
    assert first.sent == 4
    assert engine.run_pass().sent == 0  # step 2 waits 48 h
    world.clock.advance(47 * 3600)
    assert engine.run_pass().sent == 0
    world.clock.advance(3600)
    assert engine.run_pass().sent == 4
    assert engine.run_pass().sent == 0
    assert_exactly_once(world)
    assert world.sent_to() == Counter({e: 2 for e in emails(4)})

    for box in (A, B):
        stored = world.server.messages(box)
        sent = [m for m in stored if "SENT" in m.label_ids]
        assert len(sent) == 4  # prospects are spread over both mailboxes
        by_to = {}
        for m in sent:
            by_to.setdefault(str(m.message["To"]), []).append(m)
        for first_msg, follow_up in by_to.values():
            assert follow_up.thread_id == first_msg.thread_id
            assert follow_up.message["In-Reply-To"] == first_msg.message_id
            assert follow_up.message["References"] == first_msg.message_id
            assert str(follow_up.message["Subject"]) == "Re: New single: Blue Hour"
            assert follow_up.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            parsed = email.message_from_bytes(first_msg.raw, policy=email.policy.default)
            assert "Blue Hour is out." in parsed.get_content()
    statuses = world.warehouse.query("SELECT status, count(*) AS n FROM outreach.prospects GROUP BY status")
    assert statuses.to_dicts() == [{"status": "completed", "n": 4}]
    assert world.warehouse.scalar("SELECT count(*) FROM outreach.activity WHERE action = 'send'") == 8
    assert world.warehouse.scalar("SELECT count(*) FROM outreach.threads") == 4
    rows = world.warehouse.query("SELECT message_id, body_sha256 FROM outreach.outbound_messages")
    assert rows.height == 8 and rows["body_sha256"].str.len_chars().to_list() == [64] * 8


def test_never_to_a_suppressed_address_or_domain_nor_after_a_reply(world: World) -> None:
    people = ["ann@radio.example", "bob@blocked.example", "cy@radio.example", "dee@radio.example"]
    world.campaign(people)
    with world.warehouse.connect() as conn:
        for kind, value in (("email", "ann@radio.example"), ("domain", "blocked.example")):
            insert_row(conn, SUPPRESSIONS, {"suppression_id": suppression_id(ORG, kind, value, "manual", "t"),
                       "org_id": ORG, "kind": kind, "value": value, "reason": "manual", "source": "cli",
                       "created_at": T0})  # fmt: skip
    engine = world.engine()
    report = engine.run_pass()
    assert report.sent == 2 and report.skipped == Counter({"suppressed_email": 1, "suppressed_domain": 1})
    # cy replies; the inbox sync records it as an outcome
    with world.warehouse.connect() as conn:
        insert_row(conn, OUTCOMES, {"outcome_id": outcome_id("replied", "gm-1"), "org_id": ORG, "kind": "replied",
                   "campaign_id": "c1", "prospect_id": prospect_id("c1", contact_id("cy@radio.example")),
                   "email": "cy@radio.example", "recorded_at": T0})  # fmt: skip
    world.clock.advance(49 * 3600)
    report = engine.run_pass()
    assert report.sent == 1 and report.skipped == Counter({"replied": 1})
    assert world.sent_to() == Counter({"cy@radio.example": 1, "dee@radio.example": 2})
    statuses = dict(world.warehouse.query("SELECT p.status, c.email FROM outreach.prospects p JOIN "
                    "outreach.org_contacts c USING (contact_id)").select("email", "status").iter_rows())  # fmt: skip
    assert statuses == {
        "ann@radio.example": "stopped",
        "bob@blocked.example": "stopped",
        "cy@radio.example": "replied",
        "dee@radio.example": "completed",
    }
    skips = world.warehouse.query("SELECT detail FROM outreach.activity WHERE action = 'skip'")["detail"].to_list()
    assert sorted('"reason": "' + r + '"' in "".join(skips) for r in ("replied", "suppressed_email")) == [True, True]
    assert engine.run_pass().skipped == Counter()  # stops are recorded once


def test_caps_per_mailbox_and_organisation_over_a_rolling_day(world: World) -> None:
    world.campaign(emails(10), steps=1, org_cap=5, mailbox_cap=3)
    engine = world.engine()
    report = engine.run_pass()
    assert report.sent == 5
    assert {m: len(world.server.sent(m)) for m in (A, B)} in ({A: 3, B: 2}, {A: 2, B: 3})
    world.clock.advance(23 * 3600)
    assert engine.run_pass().sent == 0
    world.clock.advance(3600 + 1)
    assert engine.run_pass().sent == 5
    assert engine.run_pass().sent == 0
    assert_exactly_once(world)
    intents = world.events("intent")
    for row in intents:  # in every rolling 24 h window: ≤ 3 per mailbox, ≤ 5 in all
        window = [
            r for r in intents if row["occurred_at"] - timedelta(hours=24) < r["occurred_at"] <= row["occurred_at"]
        ]
        assert len(window) <= 5
        assert Counter(r["mailbox_id"] for r in window).most_common(1)[0][1] <= 3


def test_per_recipient_domain_throttle(world: World) -> None:
    world.campaign(emails(4, "bigradio.example") + emails(2, "small.example"), steps=1, domain_cap=2)
    assert world.engine().run_pass().sent == 4
    assert Counter(e.split("@")[1] for e in world.sent_to()) == Counter({"bigradio.example": 2, "small.example": 2})


def test_sends_are_spread_over_the_send_window(world: World) -> None:
    window = SendWindow(start_minute=10 * 60 + 30, end_minute=11 * 60 + 30)  # 10:30-11:30 UTC, every day
    world.campaign(emails(4), mailboxes=(A,), steps=1, window=window, mailbox_cap=4)
    world.clock.now = T0  # 10:00: the window is not open yet
    report = world.engine(spread=True).run(until=T0 + timedelta(hours=3), sleep=world.clock.advance)
    assert report.sent == 4
    times = [r["occurred_at"] for r in world.events("intent")]
    assert times == [T0 + timedelta(minutes=30 + 15 * i) for i in range(4)]  # 60 min / cap 4 = 15 min apart


def test_rate_limited_mailbox_waits_and_sends_once(world: World) -> None:
    world.campaign(emails(2), mailboxes=(A,), steps=1)
    world.server.fail_next("send", 2, 429, retry_after=0)
    engine = world.engine()
    report = engine.run_pass()
    assert report.sent == 0 and report.released == Counter({"rate_limited": 1})
    assert report.deferred["blocked"] == 1  # the mailbox's other send waits too
    world.clock.advance(2)
    assert engine.run_pass().sent == 2
    assert_exactly_once(world)
    assert [r["error_reason"] for r in world.events("released")] == ["rateLimitExceeded"]


def test_daily_limit_pauses_only_that_mailbox(world: World) -> None:
    world.campaign(emails(6), steps=1)
    world.server.fail_next("send", 1, 403, reason="dailyLimitExceeded")
    engine = world.engine()
    report = engine.run_pass()
    assert report.sent == 3 and report.released == Counter({"daily_limit": 1})
    paused = world.warehouse.query("SELECT mailbox_id, paused_until FROM outreach.mailboxes "
                                   "WHERE paused_until IS NOT NULL").to_dicts()  # fmt: skip
    assert len(paused) == 1 and paused[0]["paused_until"] == T0 + timedelta(hours=24)
    other = B if paused[0]["mailbox_id"] == A else A
    assert len(world.server.sent(other)) == 3 and len(world.server.sent(paused[0]["mailbox_id"])) == 0
    world.clock.advance(3600)
    assert engine.run_pass().sent == 0
    world.clock.advance(23 * 3600)
    assert engine.run_pass().sent == 3
    assert_exactly_once(world)


def test_invalid_grant_marks_the_mailbox_and_spares_the_others(world: World) -> None:
    world.campaign(emails(4), steps=1)
    world.server.revoke(A)
    report = world.engine().run_pass()
    assert report.sent == 2 and report.released == Counter({"auth_required": 1})
    assert len(world.server.sent(A)) == 0 and len(world.server.sent(B)) == 2
    status = world.warehouse.query("SELECT mailbox_id, status FROM outreach.mailboxes ORDER BY 1").rows()
    assert status == [(A, "auth_required"), (B, "ok")]
    assert world.warehouse.scalar("SELECT count(*) FROM outreach.activity WHERE action = 'auth_required'") == 1
    report = world.engine().run_pass()  # a later run: A's prospects wait, untouched
    assert report.sent == 0 and report.skipped == Counter({"mailbox_auth_required": 1})
    assert world.warehouse.scalar("SELECT count(*) FROM outreach.prospects WHERE status = 'active'") == 2


def test_a_500_after_gmail_stored_the_message_is_found_not_resent(world: World) -> None:
    world.campaign(emails(2), mailboxes=(A,), steps=1)
    world.server.fail_next("send_after_store", 1, 500)
    report = world.engine().run_pass()
    assert (report.sent, report.recovered, report.unknown) == (1, 1, 0)
    assert_exactly_once(world)
    assert len(world.server.sent(A)) == 2
    assert [r["recovered"] for r in world.events("sent")] == [True, False]
    assert [r["error_category"] for r in world.events("unknown")] == ["outcome_unknown"]


def test_a_rejected_message_fails_that_prospect_only(world: World) -> None:
    world.campaign(emails(2), mailboxes=(A,))
    world.server.fail_next("send", 1, 400)
    engine = world.engine()
    report = engine.run_pass()
    assert report.failed == 1 and report.sent == 1
    world.clock.advance(49 * 3600)
    assert engine.run_pass().sent == 1  # only the healthy prospect gets step 2
    assert world.warehouse.query("SELECT status FROM outreach.prospects ORDER BY status")["status"].to_list() == [
        "completed",
        "failed",
    ]


def test_a_lost_answer_keeps_the_claim_until_its_lease_ends_then_looks_up_before_sending(world: World) -> None:
    world.campaign(emails(1), mailboxes=(A,), steps=1)
    world.server.fail_next("send", 1, 503)  # refused before storing, but the client cannot know that
    engine = world.engine()
    report = engine.run_pass()
    assert (report.sent, report.unknown) == (0, 1) and len(world.server.sent(A)) == 0
    assert report.next_wake == T0 + timedelta(minutes=5)  # the lease
    assert engine.run_pass().deferred == Counter()  # not due while its claim is live
    world.clock.advance(5 * 60 + 1)
    report = engine.run_pass()
    assert report.sent == 1 and report.recovered == 0
    assert_exactly_once(world)
    events = [(r["attempt_no"], r["event"]) for r in world.events("intent") + world.events("sent")]
    assert sorted(events) == [(1, "intent"), (2, "intent"), (2, "sent")]


def test_a_live_claim_is_never_recovered_by_another_run(world: World) -> None:
    world.campaign(emails(1), mailboxes=(A,), steps=1)
    other = world.engine()
    seen = []

    def meanwhile(point: str, claim: object) -> None:
        if point == "after_intent":  # this run holds the claim and has not called Gmail yet
            seen.append(other.run_pass())

    engine = world.engine()
    engine.checkpoint = meanwhile
    assert engine.run_pass().sent == 1
    assert seen[0].sent == 0 and seen[0].recovered == 0
    assert_exactly_once(world)


def test_bodies_are_kept_only_under_a_retention_policy(world: World) -> None:
    world.campaign(emails(2), mailboxes=(A,), steps=1)
    engine = world.engine()
    engine.run_pass()
    assert world.warehouse.scalar("SELECT count(*) FROM outreach.message_bodies") == 0
    with world.warehouse.connect() as conn:
        conn.execute("UPDATE outreach.organisations SET body_retention_days = 30")
        conn.execute("UPDATE outreach.prospects SET status = 'active'")
        conn.execute("DELETE FROM outreach.send_attempts")
        conn.execute("DELETE FROM outreach.outbound_messages")
    engine.run_pass()
    bodies = world.warehouse.query("SELECT body, expires_at FROM outreach.message_bodies").to_dicts()
    assert len(bodies) == 2
    assert all(b["expires_at"] == T0 + timedelta(days=30) and "Blue Hour is out." in b["body"] for b in bodies)


def test_mailbox_figures(world: World) -> None:
    world.campaign(emails(3), steps=1)
    world.engine().run_pass()
    figures = {r["mailbox_id"]: r for r in mailbox_figures(world.warehouse, T0).to_dicts()}
    assert {m: f["sent_24h"] for m, f in figures.items()} in ({A: 2, B: 1}, {A: 1, B: 2})
    assert figures[A]["status"] == "ok"
    later = mailbox_figures(world.warehouse, T0 + timedelta(days=2))
    assert later["sent_24h"].to_list() == [0, 0] and later["sent_total"].sum() == 3
