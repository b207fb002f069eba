"""The DataForSEO-style SERP client against a local server speaking the v3 live organic API: the task envelope,
task-level error codes, cost, 429 with Retry-After, 5xx backoff, refused credentials and malformed bodies."""

import json
import random
from collections.abc import Iterator
from decimal import Decimal

import pytest

from backbeat.demo.standins._http import FaultPlan
from backbeat.demo.standins.clock import ManualClock
from backbeat.demo.standins.serp_server import LOCATIONS, FakeSerp, expected_organic
from integrations.resilience import (
    CircuitBreaker,
    MalformedPayload,
    PermanentError,
    RateLimited,
    RetryPolicy,
    TokenBucket,
)
from integrations.serp import (
    SerpAuthFailed,
    SerpClient,
    SerpPaymentRequired,
    SerpTaskError,
    parse_live_response,
)

LONDON = "London,England,United Kingdom"


@pytest.fixture
def server() -> Iterator[FakeSerp]:
    with FakeSerp("login", "secret-pass", FaultPlan()) as fake:
        yield fake


def client_for(server: FakeSerp, sleeps: list[float], password: str = "secret-pass", **policy: int) -> SerpClient:
    return SerpClient(
        "login",
        password,
        base_url=server.url,
        policy=RetryPolicy(sleep=sleeps.append, rng=random.Random(1), **policy),
        breaker=CircuitBreaker("serp"),
        bucket=TokenBucket(1000, 100, clock=ManualClock().now, sleep=lambda s: None),  # Retry-After holds it
        timeout=5,
    )


def test_organic_results_parsed_from_the_envelope(server: FakeSerp) -> None:
    client = client_for(server, [])
    result = client.organic_live("indie radio london", location_name=LONDON, language_code="en", depth=12)

    expected = expected_organic("indie radio london", LOCATIONS[LONDON], "en", 12)
    assert [(i.rank_absolute, i.domain, i.url, i.title) for i in result.items] == [
        (e.rank_absolute, e.domain, e.url, e.title) for e in expected
    ]
    assert all(i.domain != "ads.example" for i in result.items)  # the paid item and PAA block are dropped
    assert [i.rank_group for i in result.items] == list(range(1, 13))
    assert result.location_code == LOCATIONS[LONDON] and result.language_code == "en"
    assert result.cost == Decimal("0.004")  # 12 results = 2 SERPs of 10
    assert client.spent_usd == server.spent_usd == Decimal("0.004")
    assert len(result.task_id) == 36


def test_same_query_same_results_and_location_code(server: FakeSerp) -> None:
    client = client_for(server, [])
    a = client.organic_live("Radio Pluggers", location_code=2826, depth=5)
    b = client.organic_live("radio   pluggers", location_code=2826, depth=5)  # whitespace collapsed before sending
    assert [i.url for i in a.items] == [i.url for i in b.items] and len(a.items) == 5
    assert a.task_id != b.task_id


def test_no_search_results_is_an_empty_result(server: FakeSerp) -> None:
    server.task_errors["zzqx"] = (40102, "No Search Results.")
    result = client_for(server, []).organic_live("zzqx", location_code=2840)
    assert result.items == () and result.cost == 0


@pytest.mark.parametrize(
    ("setup", "kwargs", "error", "code"),
    [
        (lambda s: None, {"location_name": "Atlantis"}, SerpTaskError, 40501),
        (lambda s: None, {"location_code": 2826, "language_code": "xx"}, SerpTaskError, 40501),
        (lambda s: s.task_errors.update({"kw": (40200, "Payment Required.")}), {"location_code": 2826}, None, 40200),
        (lambda s: setattr(s, "balance_usd", Decimal("0.001")), {"location_code": 2826}, None, 40210),
    ],
    ids=["invalid-location", "invalid-language", "payment-required", "insufficient-funds"],
)
def test_task_error_codes_raise_at_once(server: FakeSerp, setup, kwargs, error, code) -> None:
    setup(server)
    client = client_for(server, [])
    with pytest.raises(error or SerpPaymentRequired) as caught:
        client.organic_live("kw", **kwargs)
    assert caught.value.code == code and str(code) in str(caught.value)
    assert server.count("organic_live") == 1  # never retried: asking again fails the same way
    assert server.spent_usd == 0 and client.spent_usd == 0


def test_rate_limit_task_code_is_waited_out_then_gives_up(server: FakeSerp) -> None:
    server.task_errors["kw"] = (40202, "Rate-limit per minute is exceeded.")
    sleeps: list[float] = []
    with pytest.raises(RateLimited):
        client_for(server, sleeps, max_rate_limited=2).organic_live("kw", location_code=2826)
    assert sleeps == [60.0, 60.0] and server.count("organic_live") == 3


def test_http_429_honours_retry_after(server: FakeSerp) -> None:
    server.plan.fail_next("organic_live", 2, 429, retry_after=3)
    sleeps: list[float] = []
    client = client_for(server, sleeps)
    result = client.organic_live("kw", location_code=2826, depth=3)
    assert len(result.items) == 3
    assert sleeps == [3.0, 3.0]
    assert server.count("organic_live", 429) == 2 and server.count("organic_live", 200) == 1
    assert sum(client.stats.attempts.values()) == 3


def test_http_5xx_backs_off_and_recovers(server: FakeSerp) -> None:
    server.plan.fail_next("organic_live", 2, 500)
    sleeps: list[float] = []
    result = client_for(server, sleeps).organic_live("kw", location_code=2826, depth=1)
    assert len(result.items) == 1 and len(sleeps) == 2 and all(s > 0 for s in sleeps)


def test_refused_credentials_fail_at_once_without_leaking_them(server: FakeSerp) -> None:
    client = client_for(server, [], password="wrong-pass")
    with pytest.raises(SerpAuthFailed) as caught:
        client.organic_live("kw", location_code=2826)
    assert caught.value.status == 401 and caught.value.code == 40100
    assert server.count("organic_live", 401) == 1
    assert "wrong-pass" not in str(caught.value) + repr(client)


def test_malformed_body_names_the_field(server: FakeSerp) -> None:
    body = json.dumps({"version": "x", "status_code": 20000, "cost": 0, "tasks": [{"id": "t1", "status_code": "ok"}]})
    server.plan.fail_next("organic_live", 1, 200, body=body)
    with pytest.raises(MalformedPayload) as caught:
        client_for(server, []).organic_live("kw", location_code=2826)
    assert caught.value.field == "tasks[0].status_code" and caught.value.entity_id == "kw"


def test_bad_requests_are_refused_before_spending(server: FakeSerp) -> None:
    client = client_for(server, [])
    with pytest.raises(PermanentError, match="exactly one of location_code and location_name"):
        client.organic_live("kw", location_code=2826, location_name=LONDON)
    with pytest.raises(PermanentError, match="depth"):
        client.organic_live("kw", location_code=2826, depth=0)
    assert server.count() == 0


def test_envelope_level_error_and_billable_task_error() -> None:
    envelope = {"version": "v", "status_code": 40000, "status_message": "You can set only one task at a time."}
    with pytest.raises(SerpTaskError, match="40000"):
        parse_live_response({**envelope, "cost": 0, "tasks": []}, "kw")
    funds = {
        "status_code": 20000,
        "cost": 0.002,
        "tasks": [{"id": "t", "status_code": 40210, "status_message": "Insufficient funds.", "cost": 0.002}],
    }
    with pytest.raises(SerpPaymentRequired) as caught:
        parse_live_response(funds, "kw")
    assert caught.value.cost == Decimal("0.002")


def test_resource_hands_out_a_working_client(server: FakeSerp) -> None:
    from integrations.serp import SerpResource

    resource = SerpResource(login="login", password="secret-pass", base_url=server.url)
    assert len(resource.client().organic_live("kw", location_code=2840, depth=2).items) == 2
    env = {"DATAFORSEO_URL": server.url}
    assert set(SerpResource.from_env(env).model_fields_set) == {"login", "password", "base_url"}
