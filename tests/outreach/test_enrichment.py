"""Enrichment against the Hunter-style stand-in on a real DuckDB: budget, cache, errors, contacts, consent."""

import threading
from datetime import datetime, timedelta

import pytest

from backbeat.demo.standins import FaultPlan, ManualClock
from backbeat.demo.standins.emailfinder_server import FakeEmailFinder
from backbeat.outreach.campaigns import add_contacts
from backbeat.outreach.enrichment import (
    EnrichmentSettings,
    EnrichmentTarget,
    credits_available,
    credits_spent,
    enrich_candidates,
    ensure_tables,
    expire_reservations,
    grant_vendor_consent,
    targets_from_candidates,
)
from integrations.emailfinder import OPERATIONS, EmailFinderClient
from integrations.resilience import CircuitBreaker, RetryPolicy, TokenBucket
from integrations.warehouse import Warehouse

NOW = datetime(2026, 12, 5, 8, 0)
ORG = "org-a"


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    return Warehouse(f"duckdb:///{tmp_path}/w.duckdb")


def make_client(server: FakeEmailFinder) -> EmailFinderClient:
    clock = ManualClock()
    return EmailFinderClient(
        "test-key",
        base_url=server.api_url,
        policy=RetryPolicy(sleep=clock.sleep),
        breaker=CircuitBreaker("emailfinder-test"),
        buckets={op: TokenBucket(1000.0, clock=clock.now, sleep=clock.sleep) for op in OPERATIONS},
    )


def targets(n: int, prefix: str = "station") -> list[EnrichmentTarget]:
    return [EnrichmentTarget(f"cand-{prefix}{i}", f"{prefix}{i}.fm", company=f"Radio {i}") for i in range(n)]


def ledger_total(warehouse: Warehouse) -> float:
    return float(warehouse.scalar("SELECT COALESCE(SUM(credits), 0) FROM outreach.credit_ledger"))


def test_found_people_become_vendor_contacts_without_consent_and_existing_contacts_are_kept(warehouse):
    ensure_tables(warehouse)
    add_contacts(
        warehouse, ORG, [{"email": "info@kexp.org", "consent": True}], provenance="import", now=NOW, source="f:2"
    )
    with FakeEmailFinder(credits=None) as server:
        report = enrich_candidates(
            warehouse,
            make_client(server),
            ORG,
            [EnrichmentTarget("cand-kexp", "WWW.KEXP.org.", company="KEXP"), *targets(3)],
            settings=EnrichmentSettings(monthly_credits=100, max_emails_per_domain=10),
            now=NOW,
        )
        people = {p["value"]: p for p in server.people("kexp.org")}
    assert report.status == "completed" and report.targets_done == 4
    found = warehouse.query("SELECT * FROM outreach.candidate_emails WHERE candidate_id = 'cand-kexp'")
    assert set(found["email"]) == set(people)
    for row in found.iter_rows(named=True):
        expected = {"valid": "deliverable", "invalid": "undeliverable"}[people[row["email"]]["verification"]["status"]]
        assert row["verification"] == expected and row["confidence"] == people[row["email"]]["confidence"]
    contacts = warehouse.query("SELECT * FROM outreach.org_contacts WHERE email LIKE '%@kexp.org'")
    by_email = {r["email"]: r for r in contacts.iter_rows(named=True)}
    assert by_email["info@kexp.org"]["provenance"] == "import" and by_email["info@kexp.org"]["consent"] is True
    vendor = {e for e, r in by_email.items() if r["provenance"] == "vendor"}
    assert vendor == {e for e, p in people.items() if p["type"] == "personal" and p["confidence"] >= 50} - {
        e for e, p in people.items() if p["verification"]["status"] == "invalid"
    }
    assert all(by_email[e]["consent"] is False and by_email[e]["company"] == "KEXP" for e in vendor)
    assert grant_vendor_consent(warehouse, ORG, vendor, actor="cli:ana", basis="legitimate interest", now=NOW) == len(
        vendor
    )
    assert warehouse.scalar("SELECT COUNT(*) FROM outreach.activity WHERE action = 'consent'") == len(vendor)


def test_the_budget_is_never_exceeded_even_when_the_batch_would_pass_it(warehouse):
    settings = EnrichmentSettings(monthly_credits=7.5, block_credits=4)
    with FakeEmailFinder(credits=None) as server:
        report = enrich_candidates(warehouse, make_client(server), ORG, targets(40), settings=settings, now=NOW)
        assert report.status == "budget_exhausted" and report.targets_left > 0
        assert ledger_total(warehouse) == server.credits_used == report.credits_spent <= 7.5
        assert warehouse.scalar("SELECT COUNT(*) FROM outreach.credit_reservations") == 0
        calls = server.count()
        later = enrich_candidates(
            warehouse, make_client(server), ORG, targets(5, "other"), settings=settings, now=NOW + timedelta(days=3)
        )
        assert later.status == "budget_exhausted" and server.count() == calls  # no call that would pass it
        next_month = enrich_candidates(
            warehouse, make_client(server), ORG, targets(2, "other"), settings=settings, now=datetime(2027, 1, 2)
        )
        assert next_month.status == "completed" and next_month.credits_spent > 0
        assert credits_spent(warehouse, ORG, "2027-01") == server.credits_used - report.credits_spent


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_concurrent_runs_share_one_budget(engine, warehouse, request):
    if engine == "postgres":  # the production path: the advisory lock serialises reservations across processes
        warehouse = Warehouse(request.getfixturevalue("postgres_server").create_database("enrichment_budget"))
    settings = EnrichmentSettings(monthly_credits=6, block_credits=2)
    ensure_tables(warehouse)
    with FakeEmailFinder(credits=None) as server:
        reports, errors = [], []

        def run(prefix: str) -> None:
            try:
                client = make_client(server)
                reports.append(
                    enrich_candidates(warehouse, client, ORG, targets(15, prefix), settings=settings, now=NOW)
                )
            except BaseException as exc:  # surfaced below: a thread's exception would otherwise be lost
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(p,)) for p in ("north", "south")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(reports) == 2
        assert {r.status for r in reports} == {"budget_exhausted"}
        assert ledger_total(warehouse) == server.credits_used <= 6


def test_a_cached_answer_makes_no_http_call_until_it_expires(warehouse):
    settings = EnrichmentSettings(monthly_credits=100, cache_ttl_days=30)
    with FakeEmailFinder(credits=None) as server:
        first = enrich_candidates(warehouse, make_client(server), ORG, targets(4), settings=settings, now=NOW)
        calls, spent = server.count(), server.credits_used
        again = enrich_candidates(warehouse, make_client(server), ORG, targets(4), settings=settings, now=NOW)
        assert server.count() == calls and server.credits_used == spent and ledger_total(warehouse) == spent
        assert sum(again.cache_hits.values()) == sum(first.calls.values()) and sum(again.calls.values()) == 0
        assert again.emails_found == first.emails_found
        stale = enrich_candidates(
            warehouse, make_client(server), ORG, targets(4), settings=settings, now=NOW + timedelta(days=31)
        )
        assert server.count() == 2 * calls and sum(stale.cache_hits.values()) == 0


def test_a_429_with_retry_after_is_retried_and_the_run_completes(warehouse):
    plan = FaultPlan()
    with FakeEmailFinder(credits=None, plan=plan) as server:
        plan.fail_next("domain-search", 2, 429, retry_after=1)
        plan.fail_next("email-verifier", 1, 403)
        client = make_client(server)
        report = enrich_candidates(
            warehouse, client, ORG, targets(3), settings=EnrichmentSettings(monthly_credits=50), now=NOW
        )
        assert report.status == "completed" and report.targets_done == 3
        assert server.statuses()[429] == 2 and server.statuses()[403] == 1 and client.stats.slept == 3.0
        assert ledger_total(warehouse) == server.credits_used


def test_an_exhausted_plan_stops_cleanly_and_keeps_what_was_found(warehouse):
    with FakeEmailFinder(credits=3) as server:
        report = enrich_candidates(
            warehouse, make_client(server), ORG, targets(10), settings=EnrichmentSettings(monthly_credits=100), now=NOW
        )
        assert report.status == "plan_exhausted" and "usage limit" in report.stop_reason
        assert 0 < report.targets_done < 10 and report.targets_left == 10 - report.targets_done
        assert ledger_total(warehouse) == server.credits_used == 3
        assert warehouse.scalar("SELECT COUNT(*) FROM outreach.candidate_emails") == report.emails_found > 0
        assert warehouse.scalar("SELECT COUNT(*) FROM outreach.credit_reservations") == 0


def test_a_claimed_address_is_never_stored_nor_asked_again(warehouse):
    with FakeEmailFinder(credits=None) as server:
        person = next(p for p in server.people("kexp.org") if p["type"] == "personal")
        server.claimed.add(person["value"])
        target = [
            EnrichmentTarget("cand-kexp", "kexp.org", first_name=person["first_name"], last_name=person["last_name"])
        ]
        settings = EnrichmentSettings(monthly_credits=10)
        report = enrich_candidates(warehouse, make_client(server), ORG, target, settings=settings, now=NOW)
        assert report.claimed == 1 and report.emails_found == 0
        enrich_candidates(warehouse, make_client(server), ORG, target, settings=settings, now=NOW + timedelta(days=400))
        assert server.count("email-finder") == 1 and server.statuses() == {451: 1}
    assert warehouse.scalar("SELECT COUNT(*) FROM outreach.org_contacts") == 0
    assert (
        warehouse.scalar(
            "SELECT COUNT(*) FROM outreach.enrichment_cache WHERE http_status = 451 AND expires_at IS NULL"
        )
        == 1
    )


def test_a_dead_runs_reservation_is_booked_as_spent_when_its_lease_ends(warehouse):
    settings = EnrichmentSettings(monthly_credits=10)
    ensure_tables(warehouse)
    with warehouse.connect() as conn:
        conn.execute(
            "INSERT INTO outreach.credit_reservations VALUES ('enrich-dead', ?, 'emailfinder', '2026-12', 4, ?, ?)",
            [ORG, NOW, NOW + timedelta(minutes=30)],
        )
    assert credits_available(warehouse, ORG, settings, now=NOW) == 6
    assert expire_reservations(warehouse, now=NOW + timedelta(minutes=10)) == 0
    assert expire_reservations(warehouse, now=NOW + timedelta(hours=1)) == 1
    assert credits_spent(warehouse, ORG, "2026-12") == 4 and credits_available(warehouse, ORG, settings, now=NOW) == 6


def test_targets_come_from_candidate_domains_not_yet_enriched(warehouse):
    ensure_tables(warehouse)
    with warehouse.connect() as conn:
        for cid, domain, page in (
            ("c1", "kexp.org", "https://kexp.org/a"),
            ("c2", "kexp.org", ""),
            ("c3", "wdr.de", ""),
        ):
            conn.execute(
                "INSERT INTO outreach.candidates (org_id, domain, page_url, candidate_id, title, provenance, "
                "discovered_at) VALUES (?, ?, ?, ?, ?, 'serp', ?)",
                [ORG, domain, page, cid, domain.upper(), NOW],
            )
    found = targets_from_candidates(warehouse, ORG)
    assert [(t.domain, t.company) for t in found] == [("kexp.org", "KEXP.ORG"), ("wdr.de", "WDR.DE")]
    with FakeEmailFinder(credits=None) as server:
        enrich_candidates(warehouse, make_client(server), ORG, found[:1], settings=EnrichmentSettings(10), now=NOW)
    assert [t.domain for t in targets_from_candidates(warehouse, ORG)] == ["wdr.de"]
    assert len(targets_from_candidates(warehouse, ORG, only_new=False)) == 2


def test_the_budget_goes_to_stations_first_then_to_the_best_search_ranks(warehouse: Warehouse) -> None:
    from backbeat.outreach.enrichment import targets_from_candidates
    from backbeat.outreach.prospecting_tables import CANDIDATES

    at = datetime(2026, 12, 1, 8, 0)
    rows = [  # (domain, candidate, provenance, rank, station)
        ("aardvark.example", "c1", "serp", 40, None),
        ("zebra-fm.example", "c2", "serp", 3, None),
        ("zebra-fm.example", "c3", "serp", 1, None),  # the domain's best rank counts
        ("radio-north.example", "c4", "serp", 9, None),
        ("radio-north.example", "c5", "stations", None, "radio-north"),  # the station's own candidate is the target
        ("lonely.example", "c6", "csv", None, None),  # no rank: after every ranked domain
    ]
    warehouse.replace(
        CANDIDATES,
        CANDIDATES.from_rows(
            [
                dict.fromkeys(CANDIDATES.column_names)
                | {
                    "org_id": ORG,
                    "domain": d,
                    "page_url": f"https://{d}/{c}",
                    "candidate_id": c,
                    "provenance": p,
                    "contact_method": "website",
                }
                | {"rank_absolute": r, "station_id": s, "discovery_id": "run", "discovered_at": at, "last_seen_at": at}
                for d, c, p, r, s in rows
            ]
        ),
    )
    targets = targets_from_candidates(warehouse, ORG)
    assert [(t.domain, t.candidate_id, t.station_id) for t in targets] == [
        ("radio-north.example", "c5", "radio-north"),
        ("zebra-fm.example", "c2", None),
        ("aardvark.example", "c1", None),
        ("lonely.example", "c6", None),
    ]
    assert [t.domain for t in targets_from_candidates(warehouse, ORG, limit=2)] == [
        "radio-north.example",
        "zebra-fm.example",
    ]
