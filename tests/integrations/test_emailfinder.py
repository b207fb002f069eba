"""The Hunter-style client against the local stand-in: documented shapes, credits, errors, throttling."""

import pytest

from backbeat.demo.standins import FaultPlan, ManualClock
from backbeat.demo.standins.emailfinder_server import FakeEmailFinder
from integrations.emailfinder import (
    OPERATIONS,
    ClaimedEmail,
    EmailFinderClient,
    InvalidRequest,
    UsageExhausted,
    max_credits,
)
from integrations.resilience import AuthExpired, CircuitBreaker, MalformedPayload, RetryPolicy, TokenBucket


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def make_client(server: FakeEmailFinder, clock: ManualClock, key: str = "test-key") -> EmailFinderClient:
    return EmailFinderClient(
        key,
        base_url=server.api_url,
        policy=RetryPolicy(sleep=clock.sleep),
        breaker=CircuitBreaker("emailfinder-test"),
        buckets={op: TokenBucket(1000.0, clock=clock.now, sleep=clock.sleep) for op in OPERATIONS},
    )


def test_the_three_calls_read_the_documented_shapes_and_cost_what_hunter_charges(clock):
    with FakeEmailFinder(credits=None) as server:
        client = make_client(server, clock)
        search = client.domain_search("kexp.org")
        assert [e.value for e in search.emails] == [p["value"] for p in server.people("kexp.org")]
        person = next(e for e in search.emails if e.type == "personal")
        assert 0 <= (person.confidence or -1) <= 100 and person.first_name and person.status in ("valid", "invalid")
        assert search.credits == 1.0 and server.credits_used == 1.0  # 1 credit per started 10 addresses

        found = client.email_finder("kexp.org", person.first_name, person.last_name)
        assert found.email == person.value and found.score == person.confidence and found.credits == 1.0
        missing = client.email_finder("kexp.org", "Nobody", "Here")
        assert missing.email is None and missing.credits == 0.0  # a failed lookup is free
        assert server.credits_used == 2.0

        verification = client.email_verifier(person.value)
        assert verification.status == person.status
        assert verification.result == {"valid": "deliverable", "invalid": "undeliverable"}[person.status]
        assert verification.accept_all is False and verification.webmail is False
        assert server.credits_used == 2.5  # a verification costs half a credit

        webmail = client.domain_search("gmail.com")
        assert webmail.webmail is True and webmail.emails == () and webmail.credits == 0.0
        assert client.email_verifier("someone@mailinator.com").disposable is True
        assert max_credits("domain_search", limit=25) == 3.0


def test_a_refused_key_fails_at_once_and_never_shows_the_key(clock):
    with FakeEmailFinder() as server:
        client = make_client(server, clock, key="secret-wrong-key")
        with pytest.raises(AuthExpired) as info:
            client.domain_search("kexp.org")
        assert "authentication_failed" in str(info.value) and info.value.status == 401
        assert "secret-wrong-key" not in str(info.value) and "secret-wrong-key" not in repr(client)
        assert server.count() == 1  # an API key cannot be refreshed: no retry
        assert all("api_key" not in r.path for r in server.records)


def test_throttles_403_and_429_with_retry_after_are_waited_out(clock):
    plan = FaultPlan()
    with FakeEmailFinder(plan=plan) as server:
        client = make_client(server, clock)
        plan.fail_next("domain-search", 1, 403)  # Hunter's rate limit: no Retry-After, its limits are per second
        plan.fail_next("domain-search", 1, 429, retry_after=2)
        search = client.domain_search("wdr.de")
        assert search.emails
        assert [w for w in clock.sleeps if w >= 0.5] == [1.0, 2.0] and client.stats.slept == 3.0
        assert server.statuses() == {403: 1, 429: 1, 200: 1}
        assert server.credits_used == 1.0  # errors are not charged


def test_the_standin_rate_rule_answers_403_and_the_client_retries_in_the_next_second(clock):
    with FakeEmailFinder(rate_per_second=2, clock=clock.now) as server:
        client = make_client(server, clock)
        for domain in ("a-radio.fm", "b-radio.fm", "c-radio.fm"):
            client.domain_search(domain)
        assert server.statuses() == {200: 3, 403: 1}
        assert [w for w in clock.sleeps if w >= 0.5] == [1.0] and client.stats.slept == 1.0


def test_an_exhausted_plan_is_usage_exhausted_and_not_retried(clock):
    with FakeEmailFinder(credits=0.5) as server:
        client = make_client(server, clock)
        client.email_verifier("info@kexp.org")
        with pytest.raises(UsageExhausted) as info:
            client.email_verifier("info@wdr.de")
        assert info.value.status == 429 and "usage limit" in str(info.value)
        assert server.count("email-verifier") == 2 and client.stats.slept == 0


def test_bad_parameters_claimed_addresses_and_pending_verifications(clock):
    plan = FaultPlan()
    with FakeEmailFinder(plan=plan, claimed={"info@kexp.org"}) as server:
        client = make_client(server, clock)
        with pytest.raises(InvalidRequest) as bad:
            client.domain_search("")
        assert "wrong_params" in str(bad.value)
        with pytest.raises(ClaimedEmail):
            client.email_verifier("info@kexp.org")
        assert "info@kexp.org" not in [e.value for e in client.domain_search("kexp.org").emails]
        plan.fail_next("email-verifier", 1, 202)  # still verifying: ask again, Hunter counts it once
        assert client.email_verifier("info@wdr.de").status in ("valid", "invalid", "accept_all")
        assert server.statuses()[202] == 1 and client.stats.retries == 1


def test_a_body_that_breaks_the_documented_shape_names_the_field(clock):
    plan = FaultPlan()
    with FakeEmailFinder(plan=plan) as server:
        client = make_client(server, clock)
        plan.fail_next("email-verifier", 1, 200, body='{"data": {"status": "maybe", "email": "x@y.org"}, "meta": {}}')
        with pytest.raises(MalformedPayload) as info:
            client.email_verifier("x@y.org")
        assert info.value.field == "data.status" and "maybe" in info.value.reason
        assert server.count() == 1
