"""The Gmail client through the real google-api-python-client against the local Gmail stand-in: send and
look-up, paging, 429/403/5xx, the 500 after storing, token refresh and revocation, history and resync,
metadata, DSNs, and quota units."""

import logging
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from backbeat.demo.standins.gmail_server import GmailServer, reply_to
from integrations.gmail import (
    AuthRequired,
    DailyLimitExceeded,
    GmailClient,
    GmailEndpoint,
    GmailUnavailable,
    HistoryExpired,
    MessageNotFound,
    QuotaMeter,
    RateLimited,
    SendOutcomeUnknown,
)
from integrations.resilience import CircuitBreaker, RetryPolicy
from integrations.retry import Backoff

PROMO = "promo@label.test"
OTHER = "second@label.test"


@dataclass
class Rig:
    """A Gmail stand-in and clients whose policy records its waits instead of sleeping."""

    server: GmailServer
    sleeps: list[float] = field(default_factory=list)
    refreshed: list[dict[str, Any]] = field(default_factory=list)

    def client(self, mailbox: str = PROMO, token: dict[str, Any] | None = None, **kwargs: Any) -> GmailClient:
        policy = RetryPolicy(
            max_attempts=4,
            backoff=Backoff(base=0.5, factor=2.0, maximum=4.0),
            sleep=self.sleeps.append,
            rng=random.Random(1),
        )
        return GmailClient(
            mailbox,
            token if token is not None else self.server.token_for(mailbox),
            client_id=self.server.client_id,
            client_secret=self.server.client_secret,
            endpoint=GmailEndpoint(api_endpoint=self.server.url, token_uri=self.server.token_uri),
            on_refresh=self.refreshed.append,
            policy=policy,
            breaker=CircuitBreaker("gmail-test", failure_threshold=50, cooldown=30),
            **{"timeout": 5.0, **kwargs},
        )


@pytest.fixture
def rig() -> Iterator[Rig]:
    with GmailServer([PROMO, OTHER], max_page=3) as server:
        yield Rig(server)


def outreach_email(n: int, to: str = "dj@radio.test", sender: str = PROMO) -> tuple[bytes, str]:
    message = EmailMessage()
    message["From"] = f"Promo Team <{sender}>"
    message["To"] = to
    message["Subject"] = f"New single for your show ({n})"
    message_id = f"<step1.prospect{n}.abc123@outreach.label.test>"
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = "<https://u.label.test/u/tok>, <mailto:unsubscribe@label.test?subject=unsubscribe>"
    message.set_content(f"Hello {n}, have a listen.")
    return message.as_bytes(), message_id


def test_send_then_find_rfc822_round_trip(rig: Rig) -> None:
    client = rig.client()
    raw, message_id = outreach_email(1)
    sent = client.send(raw)
    assert client.find_rfc822(message_id) == sent
    assert client.find_rfc822(message_id.strip("<>")) == sent  # with or without angle brackets
    assert client.find_rfc822("<never-sent@outreach.label.test>") is None
    [stored] = rig.server.sent(PROMO)
    assert stored["Message-ID"] == message_id and stored["To"] == "dj@radio.test"
    follow_up = client.send(outreach_email(2)[0], thread_id=sent.thread_id)
    assert follow_up.thread_id == sent.thread_id and follow_up.id != sent.id
    assert rig.server.sent_count_by_message_id()[message_id] == 1


def test_list_since_follows_every_page(rig: Rig) -> None:
    start = datetime(2026, 11, 1, 12, 0)
    ids = [rig.server.deliver(PROMO, outreach_email(n)[0], received=start + timedelta(hours=n)) for n in range(8)]
    client = rig.client()
    found = client.list_since(start + timedelta(hours=2))
    assert found == list(reversed(ids[2:]))  # newest first, 6 ids over pages of 3
    assert rig.server.count("list") == 2  # 6 ids in pages of 3
    assert client.list_since(start + timedelta(hours=9)) == []


def test_429_waits_retry_after_then_succeeds(rig: Rig) -> None:
    rig.server.fail_next("send", 2, 429, reason="userRateLimitExceeded", retry_after=7)
    client = rig.client()
    sent = client.send(outreach_email(1)[0])
    assert rig.sleeps == [7.0, 7.0]
    assert sent.id and rig.server.count("send") == 3
    assert len(rig.server.sent(PROMO)) == 1


def test_429_without_header_reads_gmails_retry_after_text_and_gives_up_when_too_long(rig: Rig) -> None:
    later = (datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    rig.server.fail_next("send", 1, 429, message=f"User-rate limit exceeded.  Retry after {later}")
    with pytest.raises(RateLimited) as caught:
        rig.client().send(outreach_email(1)[0])
    assert caught.value.retry_after > 19 * 3600 and caught.value.reason == "rateLimitExceeded"
    assert rig.sleeps == [] and rig.server.sent(PROMO) == []


def test_403_daily_limit_is_raised_at_once(rig: Rig) -> None:
    rig.server.fail_next("send", 1, 403, reason="dailyLimitExceeded")
    with pytest.raises(DailyLimitExceeded) as caught:
        rig.client().send(outreach_email(1)[0])
    assert caught.value.reason == "dailyLimitExceeded" and caught.value.mailbox == PROMO
    assert rig.server.count("send") == 1 and rig.sleeps == []


def test_5xx_on_reads_is_retried_then_gmail_unavailable(rig: Rig) -> None:
    client = rig.client()
    rig.server.fail_next("history", 2, 503)
    assert client.history(rig.server.history_id(PROMO)).added_message_ids == []
    assert len(rig.sleeps) == 2
    rig.server.fail_next("get", 10, 500)
    with pytest.raises(GmailUnavailable) as caught:
        client.metadata("18c0000000000001")
    assert caught.value.reason == "backendError" and caught.value.attempts == 4
    assert rig.server.count("get") == 4


def test_500_after_storing_is_send_outcome_unknown_and_findable(rig: Rig) -> None:
    rig.server.fail_next("send_after_store", 1, 500)
    client = rig.client()
    raw, message_id = outreach_email(1)
    with pytest.raises(SendOutcomeUnknown) as caught:
        client.send(raw)
    assert caught.value.status == 500 and rig.server.count("send") == 1  # never re-sent by the client
    found = client.find_rfc822(message_id)
    assert found is not None and rig.server.sent_count_by_message_id()[message_id] == 1


def test_5xx_before_storing_is_also_unknown_to_the_client(rig: Rig) -> None:
    rig.server.fail_next("send", 1, 503)
    client = rig.client()
    raw, message_id = outreach_email(1)
    with pytest.raises(SendOutcomeUnknown):
        client.send(raw)
    assert client.find_rfc822(message_id) is None  # the look-up tells the engine it is safe to send


def test_send_to_a_closed_port_is_unavailable_not_unknown(rig: Rig) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = {"refresh_token": "1//unused", "access_token": "ya29.unused", "expiry": None}
    client = GmailClient(
        PROMO,
        token,
        client_id="id",
        client_secret="secret",
        endpoint=GmailEndpoint(api_endpoint=f"http://127.0.0.1:{port}", token_uri=rig.server.token_uri),
        policy=RetryPolicy(sleep=rig.sleeps.append),
        breaker=CircuitBreaker("gmail-closed", failure_threshold=50),
    )
    with pytest.raises(GmailUnavailable) as caught:
        client.send(outreach_email(1)[0])
    assert caught.value.reason == "connect" and rig.sleeps == []  # certainly not sent, not retried


def test_expired_access_token_is_refreshed_and_never_logged(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    refresh_token = rig.server.issue_refresh_token(PROMO)
    stale = {"refresh_token": refresh_token, "access_token": "ya29.stale-token-value", "expiry": None}
    client = rig.client(token=stale)
    sent = client.send(outreach_email(1)[0])  # 401 → refresh → send once
    assert sent.id and rig.server.count("send", 401) == 1 and len(rig.server.sent(PROMO)) == 1
    assert len(rig.refreshed) == 1
    new_token = rig.refreshed[0]
    assert new_token["refresh_token"] == refresh_token
    assert new_token["access_token"] in rig.server.issued_access_tokens and new_token["expiry"]
    rig.server.expire_access_tokens(PROMO)  # expires mid-session
    assert client.profile()[0] == PROMO
    assert len(rig.refreshed) == 2
    secrets = [refresh_token, "ya29.stale-token-value", *[t["access_token"] for t in rig.refreshed]]
    text = caplog.text + repr(client) + repr(client.credentials)
    assert all(secret not in text for secret in secrets)


def test_revoked_grant_is_auth_required_without_tokens_in_the_error(rig: Rig) -> None:
    token = rig.server.token_for(PROMO)
    client = rig.client(token=token)
    client.profile()
    rig.server.revoke(PROMO)
    with pytest.raises(AuthRequired) as caught:
        client.send(outreach_email(1)[0])
    error = caught.value
    assert error.reason == "invalid_grant" and error.mailbox == PROMO
    assert rig.server.sent(PROMO) == []
    text = str(error) + repr(error) + repr(error.args)
    assert token["refresh_token"] not in text
    assert all(t not in text for t in rig.refreshed[0].values() if t)


def test_401_again_after_a_refresh_is_auth_required(rig: Rig) -> None:
    rig.server.faults.refuse_tokens = True
    with pytest.raises(AuthRequired) as caught:
        rig.client().profile()
    assert caught.value.reason == "authError" and caught.value.status == 401
    assert rig.server.count("profile", 401) == 2 and rig.server.refreshes[PROMO] == 2  # initial + one refresh


def test_history_pages_and_expiry(rig: Rig) -> None:
    client = rig.client()
    _, checkpoint = client.profile()
    ids = [rig.server.deliver(PROMO, outreach_email(n)[0]) for n in range(7)]
    page = client.history(checkpoint)
    assert page.added_message_ids == ids
    assert page.history_id == rig.server.history_id(PROMO) and int(page.history_id) > int(checkpoint)
    assert rig.server.count("history") == 3  # 7 records in pages of 3
    assert client.history(page.history_id).added_message_ids == []
    rig.server.expire_history(PROMO)
    with pytest.raises(HistoryExpired) as caught:
        client.history(checkpoint)
    assert caught.value.status == 404 and rig.sleeps == []
    assert client.history(rig.server.history_id(PROMO)).added_message_ids == []


def test_metadata_headers_are_lower_cased_and_dates_naive_utc(rig: Rig) -> None:
    client = rig.client()
    sent_raw, message_id = outreach_email(1)
    client.send(sent_raw)
    [sent] = rig.server.sent(PROMO)
    reply_id = rig.server.deliver(PROMO, reply_to(sent, "dj@radio.test", "Love it, adding it Friday."))
    meta = client.metadata(reply_id)
    assert meta.headers["in-reply-to"] == message_id and meta.headers["from"] == "dj@radio.test"
    assert meta.headers["subject"].startswith("Re: New single")
    assert all(name == name.lower() for name in meta.headers)
    assert meta.label_ids == ("INBOX",) and meta.thread_id == client.find_rfc822(message_id).thread_id  # type: ignore[union-attr]
    assert meta.internal_date.tzinfo is None and abs(
        meta.internal_date - datetime.now(UTC).replace(tzinfo=None)
    ) < timedelta(minutes=1)
    with pytest.raises(MessageNotFound):
        client.metadata("ffffffffffffffff")


def test_bounce_address_puts_a_dsn_in_the_senders_history(rig: Rig) -> None:
    rig.server.bounce_addresses.add("gone@radio.test")
    client = rig.client()
    _, checkpoint = client.profile()
    sent = client.send(outreach_email(1, to="gone@radio.test")[0])
    page = client.history(checkpoint)
    assert page.added_message_ids[0] == sent.id and len(page.added_message_ids) == 2
    dsn_id = page.added_message_ids[1]
    meta = client.metadata(dsn_id)
    assert meta.headers["from"].endswith("<mailer-daemon@googlemail.com>")
    assert meta.headers["x-failed-recipients"] == "gone@radio.test"
    assert meta.headers["content-type"].startswith("multipart/report")
    assert meta.thread_id == sent.thread_id
    raw = client.raw(dsn_id)
    assert b"message/delivery-status" in raw and b"Status: 5.1.1" in raw and b"Action: failed" in raw


def test_quota_units_are_counted_per_call(rig: Rig) -> None:
    meter = QuotaMeter()
    client = rig.client(quota=meter)
    sent = client.send(outreach_email(1)[0])  # 100
    client.metadata(sent.id)  # 5
    client.find_rfc822("<x@y>")  # 5
    client.history(rig.server.history_id(PROMO))  # 2
    client.profile()  # 1
    assert client.units_spent == 113 and meter.total(PROMO) == 113 and meter.last_minute(PROMO) == 113
    assert rig.server.units_spent(PROMO) == 113
    rig.server.fail_next("get", 1, 503)
    client.raw(sent.id)  # retried: both attempts cost units
    assert client.units_spent == 123


def test_quota_meter_waits_when_a_minute_is_full() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    meter = QuotaMeter(250, clock=lambda: now[0], sleep=sleep)
    meter.spend("a", 100)
    now[0] = 10.0
    meter.spend("a", 100)
    meter.spend("b", 100)  # another mailbox has its own minute
    assert waits == []
    meter.spend("a", 100)  # 300 > 250: waits until the first spend leaves the window at t=60
    assert waits == [50.0] and meter.last_minute("a") == 200 and meter.total("a") == 300


def test_raw_send_body_is_base64url_of_the_message(rig: Rig) -> None:
    client = rig.client()
    raw, _ = outreach_email(1)
    sent = client.send(raw)
    assert client.raw(sent.id) == raw


def test_timeout_after_the_request_left_is_send_outcome_unknown(rig: Rig) -> None:
    client = rig.client(timeout=0.3)
    client.profile()
    rig.server.latency = (0.8, 0.8)  # the server stores the message, then answers too late
    raw, message_id = outreach_email(1)
    with pytest.raises(SendOutcomeUnknown) as caught:
        client.send(raw)
    assert caught.value.reason == "network" and rig.server.count("send") == 1
    rig.server.latency = (0.0, 0.0)
    assert rig.client().find_rfc822(message_id) is not None


def test_one_client_shared_by_threads_refreshes_once_and_sends_each_once(rig: Rig) -> None:
    client = rig.client()
    errors: list[BaseException] = []

    def worker(base: int) -> None:
        try:
            for n in range(base, base + 5):
                client.send(outreach_email(n)[0])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k * 10,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and rig.server.refreshes[PROMO] == 1 and len(rig.refreshed) == 1
    counts = rig.server.sent_count_by_message_id()
    assert len(counts) == 30 and set(counts.values()) == {1}
    assert client.units_spent == 30 * 100
