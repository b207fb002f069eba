"""Alert thresholds and channel settings, read from `BACKBEAT_ALERT_*` environment variables.

Only the command line and the Dagster resource call `from_env`; the engine gets the objects passed in.
Secrets (the SMTP password, the webhook URL, which is a credential for Slack) are never in a repr or a log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta

PREFIX = "BACKBEAT_ALERT_"
SMTP_URL_ENV = "BACKBEAT_ALERT_SMTP_URL"
SMTP_USER_ENV = "BACKBEAT_ALERT_SMTP_USER"
SMTP_PASSWORD_ENV = "BACKBEAT_ALERT_SMTP_PASSWORD"
EMAIL_FROM_ENV = "BACKBEAT_ALERT_EMAIL_FROM"
EMAIL_TO_ENV = "BACKBEAT_ALERT_EMAIL_TO"
WEBHOOK_URL_ENV = "BACKBEAT_ALERT_WEBHOOK_URL"
GMAIL_MAILBOX_ENV = "BACKBEAT_ALERT_GMAIL_MAILBOX"
DEFAULT_FROM = "backbeat-alerts@localhost"


@dataclass(frozen=True)
class Thresholds:
    """When a rule fires and how incidents behave; each field is `BACKBEAT_ALERT_<FIELD>` in upper case."""

    silent_minutes: float = 15.0  # a station with no audio (or a capture gap) for longer
    no_match_hours: float = 24.0  # a captured station with no match for this long
    api_failure_rate: float = 0.25  # share of failed calls to one service ...
    api_window_minutes: float = 15.0  # ... over this window ...
    api_min_calls: int = 4  # ... counted only with at least this many calls
    queue_depth: int = 100  # album queue, outreach send queue
    disk_percent: float = 80.0  # data directory's file system
    event_lookback_hours: float = 48.0  # dispute steps and payouts newer than this are told
    resolve_minutes: float = 5.0  # a condition must stay clear this long before it recovers
    dedup_minutes: float = 60.0  # at most one alert per rule and subject in this window
    max_messages: int = 20  # per channel and evaluation; the rest go out as one digest

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Thresholds:
        """Defaults overridden by every `BACKBEAT_ALERT_<FIELD>` that is set; a bad number names its variable."""
        env = os.environ if environ is None else environ
        values: dict[str, float | int] = {}
        for f in fields(cls):
            name = PREFIX + f.name.upper()
            raw = (env.get(name) or "").strip()
            if not raw:
                continue
            try:
                values[f.name] = int(float(raw)) if f.type == "int" else float(raw)
            except ValueError:
                raise ValueError(f"${name} must be a number") from None
        return cls(**values)  # type: ignore[arg-type]

    @property
    def resolve_after(self) -> timedelta:
        return timedelta(minutes=self.resolve_minutes)

    @property
    def dedup_window(self) -> timedelta:
        return timedelta(minutes=self.dedup_minutes)

    @property
    def event_lookback(self) -> timedelta:
        return timedelta(hours=self.event_lookback_hours)


@dataclass(frozen=True)
class ChannelSettings:
    """Which channels are on: SMTP when a URL and recipients are set, the webhook when its URL is set, Gmail
    when a mailbox and recipients are set (its OAuth client and token store are outreach's settings)."""

    smtp_url: str = field(default="", repr=False)  # may carry user:password
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    email_from: str = DEFAULT_FROM
    email_to: tuple[str, ...] = ()
    webhook_url: str = field(default="", repr=False)
    gmail_mailbox: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ChannelSettings:
        env = os.environ if environ is None else environ
        return cls(
            smtp_url=env.get(SMTP_URL_ENV, "").strip(),
            smtp_user=env.get(SMTP_USER_ENV, "").strip(),
            smtp_password=env.get(SMTP_PASSWORD_ENV, ""),
            email_from=env.get(EMAIL_FROM_ENV, "").strip() or DEFAULT_FROM,
            email_to=split_addresses(env.get(EMAIL_TO_ENV, "")),
            webhook_url=env.get(WEBHOOK_URL_ENV, "").strip(),
            gmail_mailbox=env.get(GMAIL_MAILBOX_ENV, "").strip(),
        )

    def enabled(self) -> list[str]:
        """Names of the channels these settings turn on."""
        names = []
        if self.smtp_url and self.email_to:
            names.append("smtp")
        if self.webhook_url:
            names.append("webhook")
        if self.gmail_mailbox and self.email_to:
            names.append("gmail")
        return names


def split_addresses(text: str) -> tuple[str, ...]:
    """`a@x, b@y;c@z` → ("a@x", "b@y", "c@z")."""
    return tuple(a.strip() for a in text.replace(";", ",").split(",") if a.strip())
