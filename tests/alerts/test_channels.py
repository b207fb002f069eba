"""The notification channels against real local receivers: an SMTP server (aiosmtpd, with STARTTLS and login),
a JSON webhook (429 with Retry-After, 5xx, 4xx), and the Gmail stand-in through the outreach client."""

from __future__ import annotations

import logging

import pytest

from backbeat.demo.standins.gmail_server import GmailServer
from integrations.gmail import GmailClient, GmailEndpoint
from integrations.notify import GmailChannel, Notification, NotifyError, SmtpChannel, SmtpSettings, WebhookChannel
from integrations.resilience import RetryPolicy

from .conftest import free_port

ALERT = Notification(
    "Station fip is silent for 22 min",
    "Station fip is silent for 22 min (rule station_silent).",
    severity="critical",
    key="station_silent|fip|20261205T100000",
    facts=(("station", "fip"), ("last audio", "2026-12-05 09:38 UTC")),
)


def no_wait_policy(waits: list[float]) -> RetryPolicy:
    return RetryPolicy(max_attempts=3, sleep=waits.append)


def test_smtp_url_settings_keep_the_password_out_of_the_repr() -> None:
    s = SmtpSettings.from_url("smtp://ops%40label.example:p%40ss%3Aw0rd@mail.example:587")
    assert (s.host, s.port, s.tls, s.username, s.password) == (
        "mail.example",
        587,
        "starttls",
        "ops@label.example",
        "p@ss:w0rd",
    )
    assert "p@ss" not in repr(s)
    assert SmtpSettings.from_url("smtps://mail.example").port == 465
    assert SmtpSettings.from_url("smtp://mail.example?starttls=1").tls == "starttls"
    assert SmtpSettings.from_url("smtp://mail.example", username="u", password="pw").password == "pw"
    with pytest.raises(ValueError):
        SmtpSettings.from_url("http://mail.example")


def test_smtp_channel_delivers_over_starttls_with_login(smtp_server) -> None:
    server = smtp_server(tls=True, user="alerts", password="s3cret;pw")
    settings = SmtpSettings.from_url(
        f"smtp://127.0.0.1:{server.port}?starttls=1", username="alerts", password="s3cret;pw"
    )
    channel = SmtpChannel(
        settings, "alerts@label.example", ["ops@label.example", "cto@label.example"], ssl_context=server.client_tls
    )
    channel.send(ALERT)
    assert server.logins == [("alerts", "s3cret;pw")]
    (message,) = server.inbox.messages
    assert message["Subject"] == "[CRITICAL] Station fip is silent for 22 min"
    assert message["X-Backbeat-Alert"] == "opened; station_silent|fip|20261205T100000"
    assert "last audio: 2026-12-05 09:38 UTC" in message.get_content()
    assert server.inbox.envelopes == [("alerts@label.example", ["ops@label.example", "cto@label.example"])]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_channel_refused_login_fails_at_once_without_the_password(smtp_server) -> None:
    server = smtp_server(user="alerts", password="right")
    waits: list[float] = []
    settings = SmtpSettings.from_url(f"smtp://127.0.0.1:{server.port}", username="alerts", password="wrong-pw")
    channel = SmtpChannel(settings, "a@label.example", ["ops@label.example"], policy=no_wait_policy(waits))
    with pytest.raises(NotifyError) as caught:
        channel.send(ALERT)
    assert "login refused (535)" in str(caught.value) and "wrong-pw" not in str(caught.value)
    # smtplib tries PLAIN, then LOGIN, on one connection; the policy does not try again
    assert set(server.logins) == {("alerts", "wrong-pw")} and waits == [] and server.inbox.messages == []


def test_smtp_channel_retries_a_server_that_is_down_then_gives_up() -> None:
    waits: list[float] = []
    settings = SmtpSettings.from_url(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    channel = SmtpChannel(settings, "a@label.example", ["ops@label.example"], policy=no_wait_policy(waits))
    with pytest.raises(NotifyError) as caught:
        channel.send(ALERT)
    assert caught.value.retryable and "ConnectionRefusedError" in str(caught.value) and len(waits) == 2


def test_webhook_posts_a_slack_compatible_body(webhook) -> None:
    WebhookChannel(webhook.url).send(ALERT)
    (body,) = webhook.bodies
    assert body["text"].startswith(":rotating_light: Station fip is silent for 22 min")
    header, section, fields, context = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": ":rotating_light: Station fip is silent for 22 min", "emoji": True},
    }
    assert section["text"]["text"] == ALERT.text
    assert fields["fields"][0] == {"type": "mrkdwn", "text": "*station*\nfip"}
    assert "station_silent|fip" in context["elements"][0]["text"]


def test_webhook_waits_retry_after_on_429_and_backs_off_on_5xx(webhook) -> None:
    webhook.script = [(429, {"Retry-After": "7"}), (503, {}), (200, {})]
    waits: list[float] = []
    WebhookChannel(webhook.url, policy=RetryPolicy(max_attempts=4, sleep=waits.append)).send(ALERT)
    assert webhook.statuses == [429, 503, 200] and len(webhook.bodies) == 3
    assert waits[0] == 7.0 and 0 < waits[1] <= 1.0


def test_webhook_gives_up_without_naming_the_secret_url(webhook, caplog) -> None:
    webhook.script = [(500, {})] * 3 + [(404, {})]
    waits: list[float] = []
    channel = WebhookChannel(webhook.url, policy=RetryPolicy(max_attempts=3, sleep=waits.append))
    with caplog.at_level(logging.DEBUG), pytest.raises(NotifyError) as caught:
        channel.send(ALERT)
    assert webhook.statuses == [500, 500, 500] and len(waits) == 2 and caught.value.retryable
    with pytest.raises(NotifyError) as refused:
        channel.send(ALERT)  # 404: not retried
    assert webhook.statuses[-1] == 404 and not refused.value.retryable
    text = " ".join([str(caught.value), str(refused.value), repr(channel), caplog.text])
    assert "secret-part" not in text and "127.0.0.1" in str(caught.value)


def test_gmail_channel_sends_through_the_outreach_mailbox_client() -> None:
    box = "alerts@label.example"
    with GmailServer([box]) as server:
        endpoint = GmailEndpoint(api_endpoint=server.url, token_uri=server.token_uri)

        def client() -> GmailClient:
            return GmailClient(
                box,
                server.token_for(box),
                client_id=server.client_id,
                client_secret=server.client_secret,
                endpoint=endpoint,
            )

        GmailChannel(box, ["ops@label.example"], client).send(ALERT)
        (sent,) = server.sent(box)
    assert sent["Subject"] == "[CRITICAL] Station fip is silent for 22 min"
    assert sent["From"] == box and sent["To"] == "ops@label.example"
