"""Alerts as a JSON POST to a webhook, in the shape Slack's incoming webhooks take (`text` plus Block Kit
`blocks`); Mattermost, Rocket.Chat, Teams workflows and most chat tools accept the same body, and any HTTP
receiver can read it.

The URL often is the secret (a Slack webhook URL is a credential): it never appears in a repr, a log line or
an error, only its host. A 429 (or 503 with Retry-After) waits exactly Retry-After, a 5xx or a network error
backs off and retries, through `integrations.resilience.RetryPolicy`; any other 4xx fails at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlparse

import requests

from integrations.notify.channel import Notification, NotifyError
from integrations.resilience import IntegrationError, RetryPolicy, classify

SERVICE = "webhook"
TRANSPORT_LOGGER = "urllib3.connectionpool"  # logs each request's path at DEBUG


class _SecretPathFilter(logging.Filter):
    """Replaces the path and query of every registered webhook URL with `/***` in transport log lines."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.lock = threading.Lock()

    def add(self, secret: str) -> None:
        with self.lock:
            self.secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = message
        for secret in sorted(self.secrets, key=len, reverse=True):
            cleaned = cleaned.replace(secret, "/***")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_redaction = _SecretPathFilter()
logging.getLogger(TRANSPORT_LOGGER).addFilter(_redaction)

EMOJI = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


def slack_body(notification: Notification) -> dict[str, Any]:
    """`{"text": fallback, "blocks": [header, section, fields?, context]}` for one notification."""
    icon = ":white_check_mark:" if notification.kind == "recovered" else EMOJI.get(notification.severity, "")
    title = f"{icon} {notification.subject}".strip()
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": notification.text[:3000] or " "}},
    ]
    if notification.facts:
        fields = [{"type": "mrkdwn", "text": f"*{name}*\n{value}"[:2000]} for name, value in notification.facts[:10]]
        blocks.append({"type": "section", "fields": fields})
    context = f"{notification.kind} · {notification.severity}" + (
        f" · `{notification.key}`" if notification.key else ""
    )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return {"text": f"{title}\n{notification.plain()}", "blocks": blocks}


class WebhookChannel:
    """POSTs `slack_body(notification)` as JSON to `url`."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        parts = urlparse(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a webhook URL must be http(s)://host/...")
        self._url = url
        self.host = parts.hostname
        secret = parts.path + (f"?{parts.query}" if parts.query else "")
        if secret.strip("/"):
            _redaction.add(secret)
        self.policy = policy or RetryPolicy(max_attempts=4)
        self.session = session or requests.Session()
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"WebhookChannel(host={self.host!r})"

    def send(self, notification: Notification) -> None:
        """POST the body; `NotifyError` when the receiver refused it or kept failing."""
        body = slack_body(notification)
        try:
            self.policy.run(lambda: self._post(body), service=f"{SERVICE}:{self.host}", label="post")
        except IntegrationError as exc:
            raise NotifyError(str(exc), channel=self.name, retryable=exc.retryable) from None

    def _post(self, body: dict[str, Any]) -> None:
        try:
            response = self.session.post(self._url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            # the exception text holds the URL: keep only its type
            error = classify(exc, service=f"{SERVICE}:{self.host}")
            if error is None:
                raise NotifyError(type(exc).__name__, channel=self.name) from None
            raise error from None
        error = classify(response, service=f"{SERVICE}:{self.host}")
        if error is not None:
            raise error
