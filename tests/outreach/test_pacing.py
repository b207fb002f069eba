"""Pacing: warm-up and seasoned daily caps (never above 2,000), organisation and domain caps, spacing over
the send window, the Gmail quota per minute, pauses, and send windows in local time."""

from datetime import date, datetime, timedelta

import pytest

from backbeat.outreach import pacing
from backbeat.outreach.pacing import Limits, PacingConfig, SendWindow, Usage, check, mailbox_daily_cap, spacing

NOW = datetime(2026, 12, 7, 10, 0)  # a Monday
TODAY = NOW.date()


def usage(**kwargs) -> Usage:
    base = dict(
        mailbox_24h=0,
        mailbox_oldest=None,
        org_24h=0,
        org_oldest=None,
        domain_24h=0,
        domain_oldest=None,
        last_claim_at=None,
        units_last_minute=0,
        oldest_in_minute=None,
    )
    return Usage(**{**base, **kwargs})


def limits(**kwargs) -> Limits:
    base = dict(mailbox_cap=40, org_cap=None, domain_cap=None, paused_until=None, window=SendWindow())
    return Limits(**{**base, **kwargs})


def test_daily_cap_by_age_configured_and_google_ceiling() -> None:
    config = PacingConfig()
    assert mailbox_daily_cap(TODAY - timedelta(days=30), None, TODAY, config) == 40
    assert mailbox_daily_cap(TODAY - timedelta(days=364), None, TODAY, config) == 40
    assert mailbox_daily_cap(TODAY - timedelta(days=365), None, TODAY, config) == 100
    assert mailbox_daily_cap(None, None, TODAY, config) == 40  # unknown age: treated as new
    assert mailbox_daily_cap(date(2020, 1, 1), 250, TODAY, config) == 250
    assert mailbox_daily_cap(date(2020, 1, 1), 5000, TODAY, config) == 2000
    custom = PacingConfig(warmup_daily_cap=20, seasoned_daily_cap=500)
    assert mailbox_daily_cap(TODAY, None, TODAY, custom) == 20
    assert mailbox_daily_cap(date(2020, 1, 1), None, TODAY, custom) == 500
    with pytest.raises(ValueError):
        PacingConfig(seasoned_daily_cap=2001)


def test_mailbox_cap_counts_a_rolling_24_hours() -> None:
    oldest = NOW - timedelta(hours=20)
    verdict = check(limits(mailbox_cap=40), usage(mailbox_24h=40, mailbox_oldest=oldest), NOW)
    assert (verdict.allowed, verdict.reason, verdict.scope) == (False, "mailbox_cap", "mailbox")
    assert verdict.not_before == oldest + timedelta(hours=24)  # when the oldest send leaves the window
    assert check(limits(mailbox_cap=40), usage(mailbox_24h=39, mailbox_oldest=oldest), NOW).allowed


def test_organisation_and_domain_caps() -> None:
    verdict = check(limits(org_cap=100), usage(org_24h=100, org_oldest=NOW - timedelta(hours=1)), NOW)
    assert (verdict.allowed, verdict.reason, verdict.scope) == (False, "org_cap", "org")
    assert verdict.not_before == NOW + timedelta(hours=23)
    verdict = check(limits(domain_cap=3), usage(domain_24h=3, domain_oldest=NOW - timedelta(hours=2)), NOW)
    assert (verdict.allowed, verdict.reason) == (False, "domain_cap")
    assert check(limits(domain_cap=3), usage(domain_24h=2), NOW).allowed
    assert check(limits(domain_cap=None), usage(domain_24h=10_000), NOW).allowed


def test_sends_are_spread_over_the_window() -> None:
    window = SendWindow(start_minute=9 * 60, end_minute=17 * 60)  # 8 h
    assert spacing(window, 40) == timedelta(minutes=12)
    last = NOW - timedelta(minutes=5)
    verdict = check(limits(window=window), usage(mailbox_24h=1, last_claim_at=last), NOW)
    assert (verdict.allowed, verdict.reason) == (False, "spacing")
    assert verdict.not_before == last + timedelta(minutes=12)
    assert check(limits(window=window), usage(last_claim_at=NOW - timedelta(minutes=12)), NOW).allowed
    # without spreading, only the caps apply
    assert check(limits(window=window, spread=False), usage(last_claim_at=last), NOW).allowed


def test_gmail_quota_per_user_minute() -> None:
    full = usage(units_last_minute=15_000 - 99, oldest_in_minute=NOW - timedelta(seconds=50))
    verdict = check(limits(spread=False), full, NOW, cost_units=pacing.SEND_UNITS)
    assert (verdict.allowed, verdict.reason) == (False, "quota")
    assert verdict.not_before == NOW + timedelta(seconds=10)
    assert check(limits(spread=False), usage(units_last_minute=14_900), NOW).allowed


def test_a_paused_mailbox_waits_until_its_pause_ends() -> None:
    until = NOW + timedelta(hours=3)
    verdict = check(limits(paused_until=until), usage(), NOW)
    assert (verdict.allowed, verdict.reason, verdict.not_before) == (False, "mailbox_paused", until)
    assert check(limits(paused_until=until), usage(), until).allowed


def test_send_window_in_local_time_and_weekdays() -> None:
    window = SendWindow(start_minute=9 * 60, end_minute=17 * 60, days="12345", tz="America/New_York")
    # Monday 10:00 UTC is 05:00 in New York: opens at 09:00 EST = 14:00 UTC
    assert window.next_open(NOW) == datetime(2026, 12, 7, 14, 0)
    assert window.next_open(datetime(2026, 12, 7, 15, 0)) == datetime(2026, 12, 7, 15, 0)
    # Friday 22:30 UTC (17:30 in New York) → Monday 09:00 New York
    assert window.next_open(datetime(2026, 12, 11, 22, 30)) == datetime(2026, 12, 14, 14, 0)
    with pytest.raises(ValueError):
        SendWindow(days="").next_open(NOW)
