"""The shared resilience layer on its own: taxonomy, retry policy, breaker, bucket, encrypted token store."""

import email.utils
import logging
import random
import stat
import threading
import time

import pytest
import requests
from spotipy.exceptions import SpotifyException, SpotifyOauthError

from backbeat.demo.standins import ManualClock
from integrations.resilience import (
    AuthExpired,
    CallStats,
    CircuitBreaker,
    CircuitOpen,
    MalformedPayload,
    NotFound,
    PermanentError,
    RateLimited,
    RetryPolicy,
    SecretStoreError,
    State,
    TokenBucket,
    TokenStore,
    Transient,
    classify,
    parse_retry_after,
)
from integrations.resilience.payload import Payload
from integrations.resilience.secrets import RedactingFilter, redact
from integrations.retry import Backoff


def response(status: int, headers: dict[str, str] | None = None, body: bytes = b"{}") -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r.headers.update(headers or {})
    r._content = body
    return r


# ---- taxonomy -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "kind"),
    [
        (429, {"Retry-After": "7"}, RateLimited),
        (503, {"Retry-After": "3"}, RateLimited),
        (503, {}, Transient),
        (500, {}, Transient),
        (502, {}, Transient),
        (408, {}, Transient),
        (401, {}, AuthExpired),
        (404, {}, NotFound),
        (400, {}, PermanentError),
        (403, {}, PermanentError),
    ],
)
def test_statuses_map_onto_the_taxonomy(status: int, headers: dict[str, str], kind: type) -> None:
    error = classify(response(status, headers, b'{"error": {"status": 1, "message": "why"}}'), service="svc")
    assert type(error) is kind and error.status == status and error.service == "svc"
    assert "why" in str(error)
    assert classify(response(200)) is None


def test_library_exceptions_map_onto_the_taxonomy() -> None:
    limited = classify(SpotifyException(429, -1, "url:\n API rate limit exceeded", headers={"Retry-After": "12"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 12.0
    assert isinstance(classify(SpotifyException(401, -1, "url:\n The access token expired")), AuthExpired)
    assert isinstance(classify(SpotifyException(404, -1, "url:\n Resource not found")), NotFound)
    assert isinstance(classify(requests.ConnectionError("refused")), Transient)
    assert isinstance(classify(requests.Timeout("slow")), Transient)
    assert classify(KeyError("a bug")) is None  # not ours: must propagate untouched

    def oauth_error(status: int) -> SpotifyOauthError:
        try:
            try:
                raise requests.HTTPError(response=response(status))
            except requests.HTTPError:
                raise SpotifyOauthError("error: x", error="invalid_client") from None
        except SpotifyOauthError as exc:
            exc.__context__ = requests.HTTPError(response=response(status))
            return exc

    assert isinstance(classify(oauth_error(503)), Transient)  # the token endpoint was down: retry
    refused = classify(oauth_error(400))
    assert type(refused) is PermanentError and "invalid_client" in str(refused)  # bad credentials: never retry


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) == 1.0 and parse_retry_after("soon") == 1.0
    now = time.time()
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)


def test_payload_errors_name_entity_and_field_path() -> None:
    doc = {"id": "a1", "tracks": {"items": [{"id": "t1", "duration_ms": 1}, {"id": "t2", "duration_ms": "x"}]}}
    p = Payload(doc, service="spotify", entity="album", entity_id="a1")
    items = p.obj("tracks").objects("items")  # type: ignore[union-attr]
    assert items[0].integer("duration_ms") == 1
    with pytest.raises(MalformedPayload) as caught:
        items[1].integer("duration_ms")
    assert caught.value.entity_id == "a1" and caught.value.field == "tracks.items[1].duration_ms"
    assert caught.value.reason == (
        "spotify: album a1: field 'tracks.items[1].duration_ms' is str 'x', expected an integer"
    )
    with pytest.raises(MalformedPayload, match="field 'name' is missing"):
        p.text("name")
    with pytest.raises(MalformedPayload, match="not JSON"):
        Payload(None, service="s", entity="e", entity_id="1")


# ---- retry policy -------------------------------------------------------------------------------------------


class Script:
    """A callable that raises the scripted errors in turn, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(sleeps: list[float], **kwargs: object) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps.append, rng=random.Random(1), **kwargs)  # type: ignore[arg-type]


def test_rate_limit_waits_exactly_retry_after() -> None:
    sleeps: list[float] = []
    fn = Script(RateLimited("slow down", retry_after=7.0), RateLimited("slow down", retry_after=2.5))
    assert policy(sleeps).run(fn) == "ok"
    assert sleeps == [7.0, 2.5] and fn.calls == 3


def test_rate_limit_holds_every_caller_of_the_credential() -> None:
    clock = ManualClock()
    bucket = TokenBucket(100, 5, clock=clock.now, sleep=clock.sleep)
    with pytest.raises(RateLimited):
        policy([], max_rate_limited=0).run(Script(RateLimited("slow down", retry_after=7.0)), bucket=bucket)
    assert bucket.acquire() == pytest.approx(7.0)  # another worker sharing the bucket waits too
    assert bucket.acquire() == pytest.approx(0.01)  # then the steady rate, no burst into the limit


def test_retry_after_beyond_the_cap_fails_at_once() -> None:
    sleeps: list[float] = []
    with pytest.raises(RateLimited):
        policy(sleeps, max_retry_after=60).run(Script(RateLimited("go away", retry_after=3600)))
    assert sleeps == []


def test_transient_failures_back_off_exponentially_with_jitter_then_succeed() -> None:
    sleeps: list[float] = []
    fn = Script(Transient("503"), Transient("503"), Transient("503"))
    backoff = Backoff(base=1.0, factor=2.0, maximum=60.0)
    assert policy(sleeps, backoff=backoff).run(fn) == "ok"
    assert fn.calls == 4 and len(sleeps) == 3
    for attempt, slept in enumerate(sleeps):
        assert backoff.step(attempt) / 2 <= slept <= backoff.step(attempt)


def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    sleeps: list[float] = []
    fn = Script(*[Transient(f"HTTP 503 #{i}", status=503) for i in range(10)])
    stats = CallStats()
    with pytest.raises(Transient, match="#3") as caught:
        policy(sleeps, max_attempts=4).run(fn, stats=stats, label="x")
    assert fn.calls == 4 and len(sleeps) == 3 and caught.value.attempts == 4
    assert stats.attempts["x"] == 4 and stats.retries == 3 and stats.outcomes["transient"] == 4


def test_auth_expired_refreshes_once_then_fails_fast() -> None:
    sleeps: list[float] = []
    refreshes: list[int] = []
    fn = Script(AuthExpired("401"))
    assert policy(sleeps).run(fn, refresh=lambda: refreshes.append(1)) == "ok"
    assert fn.calls == 2 and refreshes == [1] and sleeps == []

    refreshes.clear()
    fn = Script(AuthExpired("401"), AuthExpired("401 again"), AuthExpired("never reached"))
    with pytest.raises(AuthExpired, match="again"):
        policy(sleeps).run(fn, refresh=lambda: refreshes.append(1))
    assert fn.calls == 2 and refreshes == [1] and sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        NotFound("404"),
        PermanentError("400"),
        MalformedPayload(service="s", entity="track", entity_id="t1", field="duration_ms", problem="is missing"),
    ],
)
def test_permanent_errors_are_not_retried(error: Exception) -> None:
    sleeps: list[float] = []
    fn = Script(error)
    with pytest.raises(type(error)):
        policy(sleeps).run(fn)
    assert fn.calls == 1 and sleeps == []


def test_programming_errors_propagate_untouched() -> None:
    fn = Script(KeyError("bug"))
    with pytest.raises(KeyError):
        policy([]).run(fn)
    assert fn.calls == 1


# ---- circuit breaker ----------------------------------------------------------------------------------------


def test_breaker_opens_after_threshold_and_half_opens_after_cooldown() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("svc", failure_threshold=3, cooldown=10.0, clock=clock.now)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    breaker.before_call()
    breaker.record_success()  # a success resets the count of consecutive failures
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpen) as caught:
        breaker.before_call()
    assert caught.value.retry_in == pytest.approx(10.0)

    clock.advance(10.0)
    assert breaker.state is State.HALF_OPEN
    breaker.before_call()  # the one trial call
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # nobody else while it is in flight
    breaker.record_failure()
    assert breaker.state is State.OPEN and breaker.times_opened == 2  # failed trial: open for another cool-down

    clock.advance(10.0)
    breaker.before_call()
    breaker.record_success()
    assert breaker.state is State.CLOSED
    breaker.before_call()


def test_policy_feeds_the_breaker_and_fails_fast_when_open() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("svc", failure_threshold=3, cooldown=30.0, clock=clock.now)
    fn = Script(*[Transient("503")] * 10)
    with pytest.raises(Transient):
        policy([], max_attempts=3).run(fn, breaker=breaker)
    calls = fn.calls
    with pytest.raises(CircuitOpen):
        policy([], max_attempts=3).run(fn, breaker=breaker)
    assert fn.calls == calls  # the open circuit did not let the call through


def test_breaker_is_thread_safe() -> None:
    breaker = CircuitBreaker("svc", failure_threshold=1000, cooldown=1.0)

    def hammer() -> None:
        for _ in range(250):
            breaker.before_call()
            breaker.record_failure()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert breaker.state is State.OPEN and breaker.times_opened == 1


# ---- token bucket -------------------------------------------------------------------------------------------


def test_bucket_allows_a_burst_then_the_steady_rate() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=2.0, capacity=3, clock=clock.now, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(7)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == pytest.approx([0.5, 0.5, 0.5, 0.5])
    assert not bucket.try_acquire()
    clock.advance(10)  # idle: the bucket refills, but only up to its capacity
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]


def test_bucket_gives_each_of_many_threads_its_own_slot() -> None:
    clock = ManualClock()  # never advanced: each wait is exactly how far ahead its slot was reserved
    bucket = TokenBucket(rate=200.0, capacity=1, clock=clock.now, sleep=lambda _: None)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(10):
            wait = bucket.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == pytest.approx([n / 200 for n in range(40)]) and bucket.acquired == 40


def test_bucket_limits_many_threads_to_its_rate() -> None:
    # On the real clock, as a lower bound only: a busy machine makes this slower, never faster.
    bucket = TokenBucket(rate=200.0, capacity=1)
    start = time.monotonic()

    def take() -> None:
        for _ in range(10):
            bucket.acquire()

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - start >= 39 / 200 * 0.95 and bucket.acquired == 40


# ---- secrets ------------------------------------------------------------------------------------------------


def test_token_store_round_trips_encrypted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = TokenStore.generate_key()
    store = TokenStore(tmp_path / "tokens", key)
    token = {"access_token": "BQ-very-secret-token-value", "expires_at": 1_900_000_000, "token_type": "Bearer"}
    path = store.save("spotify-abc", token)
    raw = path.read_bytes()
    assert b"very-secret" not in raw and b"access_token" not in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert TokenStore(tmp_path / "tokens", key).load("spotify-abc") == token
    assert "very-secret" not in repr(store) and key not in repr(store)

    with pytest.raises(SecretStoreError, match="cannot be decrypted") as caught:
        TokenStore(tmp_path / "tokens", TokenStore.generate_key()).load("spotify-abc")
    assert "very-secret" not in str(caught.value)
    with pytest.raises(SecretStoreError, match="not a Fernet key"):
        TokenStore(tmp_path, "not-a-key")
    store.delete("spotify-abc")
    assert store.load("spotify-abc") is None
    with pytest.raises(ValueError):
        store.path("../escape")


def test_credentials_are_redacted_from_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    assert redact("Headers: {'Authorization': 'Bearer BQabc.def-123'}") == "Headers: {'Authorization': 'Bearer ***'}"
    assert "c2VjcmV0" not in redact("Authorization: Basic c2VjcmV0OnBhc3M=")
    assert redact('{"access_token": "BQxyz", "expires_in": 3600}') == '{"access_token": "***", "expires_in": 3600}'
    logger = logging.getLogger("test_resilience.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.debug("Sending GET with Headers: %s", {"Authorization": "Bearer BQsecret42"})
    assert "BQsecret42" not in caplog.text and "Bearer ***" in caplog.text
