"""Stop rules, evaluated centrally right before a send: the pure rules, then the same rules read from a real
warehouse (DuckDB and PostgreSQL) as replies, bounces, unsubscribes, suppressions and pauses arrive."""

from datetime import date, datetime, timedelta

import pytest

from backbeat.outreach import campaigns as setup
from backbeat.outreach.ids import outcome_id, suppression_id
from backbeat.outreach.stops import StopFacts, evaluate, stop_reason
from backbeat.outreach.store import insert_row
from backbeat.outreach.tables import OUTCOMES, SUPPRESSIONS
from integrations.warehouse import Warehouse

NOW = datetime(2026, 12, 7, 10, 0)
ORG = "org1"
MAILBOX = "promo@label.example"


def facts(**kwargs) -> StopFacts:
    base = dict(
        prospect_status="active",
        campaign_status="active",
        email="ann@radio.example",
        consent=True,
        prospect_outcomes=frozenset(),
        contact_outcomes=frozenset(),
        suppressions=frozenset(),
        mailbox_status="ok",
        mailbox_paused_until=None,
    )
    return StopFacts(**{**base, **kwargs})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        ({"prospect_status": "stopped"}, "prospect_stopped"),
        ({"prospect_status": None}, "prospect_unknown"),
        ({"prospect_outcomes": frozenset({"replied"})}, "replied"),
        ({"prospect_outcomes": frozenset({"bounced_hard"})}, "bounced"),
        ({"prospect_outcomes": frozenset({"complained"})}, "complained"),
        ({"prospect_outcomes": frozenset({"unsubscribed"})}, "unsubscribed"),
        ({"prospect_outcomes": frozenset({"accepted"})}, "accepted"),
        ({"prospect_outcomes": frozenset({"auto_reply", "bounced_soft"})}, None),
        ({"contact_outcomes": frozenset({"unsubscribed"})}, "unsubscribed"),
        ({"contact_outcomes": frozenset({"replied"})}, None),  # a reply in another campaign
        ({"suppressions": frozenset({("email", "ann@radio.example")})}, "suppressed_email"),
        ({"suppressions": frozenset({("domain", "radio.example")})}, "suppressed_domain"),
        ({"consent": False}, "no_consent"),
        ({"email": None}, "no_contact"),
        ({"campaign_status": "paused"}, "campaign_paused"),
        ({"campaign_status": "stopped"}, "campaign_stopped"),
        ({"mailbox_status": "auth_required"}, "mailbox_auth_required"),
        ({"mailbox_status": "degraded"}, None),
        ({"mailbox_status": None}, "mailbox_unknown"),
        ({"mailbox_paused_until": NOW + timedelta(minutes=1)}, "mailbox_paused"),
        ({"mailbox_paused_until": NOW}, None),
    ],
)
def test_rules(change: dict, reason: str | None) -> None:
    assert evaluate(facts(**change), NOW) == reason


def test_person_rules_win_over_temporary_ones() -> None:
    both = facts(prospect_outcomes=frozenset({"replied"}), campaign_status="paused", mailbox_status="auth_required")
    assert evaluate(both, NOW) == "replied"


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path) -> Warehouse:
    if request.param == "duckdb":
        wh = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    else:
        wh = Warehouse(request.getfixturevalue("postgres_server").create_database("outreach_stops"))
    setup.ensure_tables(wh)
    setup.add_organisation(wh, ORG, "Label", now=NOW)
    setup.add_mailbox(wh, ORG, MAILBOX, now=NOW, created_on=date(2020, 1, 1))
    setup.add_template(wh, ORG, "t1", "Hi", "Body", now=NOW)
    setup.create_campaign(
        wh, ORG, "c1", name="Single", mailbox_ids=[MAILBOX], steps=[setup.Step(0, "t1")], now=NOW, actor="test"
    )
    setup.create_campaign(
        wh, ORG, "c2", name="Album", mailbox_ids=[MAILBOX], steps=[setup.Step(0, "t1")], now=NOW, actor="test"
    )
    people = [
        {"email": "ann@radio.example", "name": "Ann", "consent": True},
        {"email": "bob@mail.fm.example", "name": "Bob", "consent": True},
        {"email": "cy@radio.example", "name": "Cy", "consent": False},
    ]
    setup.add_contacts(wh, ORG, people, provenance="import", now=NOW)
    return wh


def _reason(wh: Warehouse, campaign: str, email: str) -> str | None:
    from backbeat.outreach.ids import contact_id, prospect_id

    pid = prospect_id(campaign, contact_id(email))
    with wh.connect() as conn:
        return stop_reason(conn, pid, MAILBOX, NOW)


def _outcome(wh: Warehouse, kind: str, campaign: str, email: str) -> None:
    from backbeat.outreach.ids import contact_id, prospect_id

    with wh.connect() as conn:
        insert_row(
            conn,
            OUTCOMES,
            {
                "outcome_id": outcome_id(kind, f"{campaign}:{email}"),
                "org_id": ORG,
                "kind": kind,
                "campaign_id": campaign,
                "prospect_id": prospect_id(campaign, contact_id(email)),
                "email": email,
                "recorded_at": NOW,
            },
        )


def _suppress(wh: Warehouse, kind: str, value: str) -> None:
    with wh.connect() as conn:
        insert_row(
            conn,
            SUPPRESSIONS,
            {
                "suppression_id": suppression_id(ORG, kind, value, "manual", "test"),
                "org_id": ORG,
                "kind": kind,
                "value": value,
                "reason": "manual",
                "source": "test",
                "created_at": NOW,
            },
        )


def test_rules_read_from_the_warehouse(warehouse: Warehouse) -> None:
    wh = warehouse
    ids = {
        r["email"]: r["contact_id"] for r in wh.query("SELECT email, contact_id FROM outreach.org_contacts").to_dicts()
    }
    assert _reason(wh, "c1", "ann@radio.example") == "prospect_unknown"
    for campaign in ("c1", "c2"):
        setup.enrol(wh, campaign, sorted(ids.values()), now=NOW)
    assert _reason(wh, "c1", "ann@radio.example") is None
    assert _reason(wh, "c1", "cy@radio.example") == "no_consent"

    _outcome(wh, "auto_reply", "c1", "ann@radio.example")
    assert _reason(wh, "c1", "ann@radio.example") is None
    _outcome(wh, "replied", "c1", "ann@radio.example")
    assert _reason(wh, "c1", "ann@radio.example") == "replied"
    assert _reason(wh, "c2", "ann@radio.example") is None  # a reply stops only its own campaign

    _outcome(wh, "unsubscribed", "c1", "bob@mail.fm.example")
    assert _reason(wh, "c2", "bob@mail.fm.example") == "unsubscribed"  # an unsubscribe stops every campaign

    _suppress(wh, "domain", "radio.example")
    assert _reason(wh, "c2", "ann@radio.example") == "suppressed_domain"
    _suppress(wh, "email", "ann@radio.example")
    assert _reason(wh, "c2", "ann@radio.example") == "suppressed_email"

    setup.set_campaign_status(wh, "c2", "paused", now=NOW, actor="test")
    with wh.connect() as conn:
        conn.execute("UPDATE outreach.prospects SET status = 'active'")  # only the campaign rule is left for bob
    setup.stop_prospect(
        wh, wh.scalar("SELECT prospect_id FROM outreach.prospects WHERE campaign_id = 'c1' LIMIT 1"), now=NOW, actor="t"
    )
    with wh.connect() as conn:
        conn.execute("UPDATE outreach.mailboxes SET status = 'auth_required'")
    assert _reason(wh, "c2", "cy@radio.example") == "suppressed_domain"
    activity = wh.query("SELECT action FROM outreach.activity ORDER BY occurred_at")["action"].to_list()
    assert {"create", "paused", "stop"} <= set(activity)


def test_mailbox_rules_read_from_the_warehouse(warehouse: Warehouse) -> None:
    wh = warehouse
    cid = wh.scalar("SELECT contact_id FROM outreach.org_contacts WHERE email = 'bob@mail.fm.example'")
    setup.enrol(wh, "c1", [cid], now=NOW)
    assert _reason(wh, "c1", "bob@mail.fm.example") is None
    with wh.connect() as conn:
        conn.execute("UPDATE outreach.mailboxes SET paused_until = ?", [NOW + timedelta(hours=1)])
    assert _reason(wh, "c1", "bob@mail.fm.example") == "mailbox_paused"
    with wh.connect() as conn:
        conn.execute("UPDATE outreach.mailboxes SET status = 'auth_required'")
    assert _reason(wh, "c1", "bob@mail.fm.example") == "mailbox_auth_required"
    setup.set_campaign_status(wh, "c1", "stopped", now=NOW, actor="test")
    assert _reason(wh, "c1", "bob@mail.fm.example") == "campaign_stopped"
    _suppress(wh, "domain", "fm.example")  # a parent domain covers mail.fm.example
    assert _reason(wh, "c1", "bob@mail.fm.example") == "suppressed_domain"


def test_the_stop_rule_matches_suppressions_as_every_writer_stores_them(warehouse: Warehouse) -> None:
    """An IDN domain suppressed in its Unicode form, and an address a purge left only as a hash, still stop."""
    from backbeat.outreach.suppression import address_hash, suppress

    wh = warehouse
    setup.add_contacts(
        wh,
        ORG,
        [
            {"email": "dee@xn--bcher-kva.example", "name": "Dee", "consent": True},
            {"email": "eve@returning.example", "name": "Eve", "consent": True},
        ],
        provenance="import",
        now=NOW,
    )
    ids = wh.query("SELECT contact_id FROM outreach.org_contacts")["contact_id"].to_list()
    setup.enrol(wh, "c1", sorted(ids), now=NOW)
    assert _reason(wh, "c1", "dee@xn--bcher-kva.example") is None
    assert _reason(wh, "c1", "eve@returning.example") is None

    suppress(wh, ORG, "bücher.example", "manual", source="test", at=NOW)
    assert _reason(wh, "c1", "dee@xn--bcher-kva.example") == "suppressed_domain"
    _suppress(wh, "email", address_hash(ORG, "eve@returning.example"))  # what a purge keeps of an opt-out
    assert _reason(wh, "c1", "eve@returning.example") == "suppressed_email"
