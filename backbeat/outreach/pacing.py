"""Pacing: how many sends a mailbox, an organisation and a recipient domain may make, and when the next may go.

Limits are counted from `outreach.send_attempts` over a rolling 24 h (claims that were released do not count),
so every process sees the same figures and a crash loses nothing. `check` is pure: the sender loads `Usage`
inside the transaction that claims a send (serialised per organisation), so two racing runs cannot both take
the last slot.

- Daily cap per mailbox: the configured cap, else 40 for a mailbox under a year old (warm-up) and 100 after;
  never above Google's 2,000.
- Caps per organisation and, optionally, per recipient domain (`organisations.daily_cap`, `domain_daily_cap`).
- Spread: a mailbox's next send is no sooner than its last plus (the step's send window) / (its daily cap), so
  the day's sends are spread over the window rather than burst (the "next-allowed time" per mailbox).
- Gmail quota per mailbox: a send costs 100 units, a lookup 5, within 15,000 units per user per minute.
- A mailbox paused after 403 dailyLimitExceeded sends nothing before `paused_until`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from backbeat.outreach.tables import GOOGLE_DAILY_SEND_LIMIT

DAY = timedelta(hours=24)
MINUTE = timedelta(minutes=1)
# Google's figures, as in integrations/gmail/quota.py (not imported: the package would load the Gmail client).
SEND_UNITS = 100
LOOKUP_UNITS = 5  # `find_rfc822`: one messages.list by Message-ID
QUOTA_UNITS_PER_USER_MINUTE = 15_000


@dataclass(frozen=True)
class PacingConfig:
    """Tunable limits; the defaults follow Google's guidance for cold outreach from real mailboxes."""

    warmup_daily_cap: int = 40
    seasoned_daily_cap: int = 100
    warmup_days: int = 365
    domain_daily_cap: int | None = None  # overrides the organisation's when set
    spread: bool = True
    quota_units_per_minute: int = QUOTA_UNITS_PER_USER_MINUTE
    daily_limit_pause: timedelta = DAY  # pause after 403 dailyLimitExceeded

    def __post_init__(self) -> None:
        for cap in (self.warmup_daily_cap, self.seasoned_daily_cap):
            if not 0 <= cap <= GOOGLE_DAILY_SEND_LIMIT:
                raise ValueError(f"a daily cap must be within 0..{GOOGLE_DAILY_SEND_LIMIT}, got {cap}")


@dataclass(frozen=True)
class SendWindow:
    """When a step may be sent: minutes after local midnight [start, end), on ISO weekdays `days`, in `tz`."""

    start_minute: int = 0
    end_minute: int = 1440
    days: str = "1234567"
    tz: str = "UTC"

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.end_minute - self.start_minute)

    def next_open(self, at: datetime) -> datetime:
        """The first instant ≥ `at` (naive UTC) inside the window, as naive UTC."""
        zone = ZoneInfo(self.tz)
        local = at.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            if str(day.isoweekday()) not in self.days:
                continue
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            start = midnight + timedelta(minutes=self.start_minute)
            end = midnight + timedelta(minutes=self.end_minute)
            if local < end:
                opens = max(local, start)
                return opens.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
        raise ValueError(f"send window {self} never opens")


def mailbox_daily_cap(created_on: date | None, configured: int | None, today: date, config: PacingConfig) -> int:
    """The mailbox's sends per rolling 24 h: its configured cap, else the warm-up or seasoned default; ≤ 2,000.

    A mailbox of unknown age is treated as new.
    """
    if configured is not None:
        cap = configured
    elif created_on is not None and (today - created_on).days >= config.warmup_days:
        cap = config.seasoned_daily_cap
    else:
        cap = config.warmup_daily_cap
    return max(0, min(cap, GOOGLE_DAILY_SEND_LIMIT))


def spacing(window: SendWindow, daily_cap: int) -> timedelta:
    """The gap between two sends of a mailbox so its cap is spread over the window."""
    return window.length / daily_cap if daily_cap > 0 else DAY


@dataclass(frozen=True)
class Limits:
    """The caps that apply to one send."""

    mailbox_cap: int
    org_cap: int | None
    domain_cap: int | None
    paused_until: datetime | None
    window: SendWindow
    spread: bool = True
    quota_units_per_minute: int = QUOTA_UNITS_PER_USER_MINUTE


@dataclass(frozen=True)
class Usage:
    """What was already used, from send_attempts (rolling 24 h, last minute)."""

    mailbox_24h: int
    mailbox_oldest: datetime | None  # oldest counted claim in the 24 h window
    org_24h: int
    org_oldest: datetime | None
    domain_24h: int
    domain_oldest: datetime | None
    last_claim_at: datetime | None  # the mailbox's latest claim
    units_last_minute: int
    oldest_in_minute: datetime | None


@dataclass(frozen=True)
class Verdict:
    """Whether a send may go now; if not, why, which scope is blocked and from when it may be tried again."""

    allowed: bool
    reason: str | None = None
    scope: str | None = None  # mailbox, org or domain
    not_before: datetime | None = None


ALLOWED = Verdict(True)


def check(limits: Limits, usage: Usage, now: datetime, cost_units: int = SEND_UNITS) -> Verdict:
    """The verdict for one more send at `now` (naive UTC); the first limit hit wins."""
    if limits.paused_until is not None and now < limits.paused_until:
        return Verdict(False, "mailbox_paused", "mailbox", limits.paused_until)
    if usage.mailbox_24h >= limits.mailbox_cap:
        return Verdict(False, "mailbox_cap", "mailbox", _freed(usage.mailbox_oldest, now))
    if limits.org_cap is not None and usage.org_24h >= limits.org_cap:
        return Verdict(False, "org_cap", "org", _freed(usage.org_oldest, now))
    if limits.domain_cap is not None and usage.domain_24h >= limits.domain_cap:
        return Verdict(False, "domain_cap", "domain", _freed(usage.domain_oldest, now))
    if usage.units_last_minute + cost_units > limits.quota_units_per_minute:
        freed = (usage.oldest_in_minute or now) + MINUTE
        return Verdict(False, "quota", "mailbox", max(freed, now + timedelta(seconds=1)))
    if limits.spread and usage.last_claim_at is not None:
        next_allowed = usage.last_claim_at + spacing(limits.window, limits.mailbox_cap)
        if now < next_allowed:
            return Verdict(False, "spacing", "mailbox", next_allowed)
    return ALLOWED


def _freed(oldest: datetime | None, now: datetime) -> datetime:
    """When a slot frees in a rolling 24 h window whose oldest counted send is `oldest`."""
    return (oldest + DAY) if oldest is not None and oldest + DAY > now else now + MINUTE
