"""The outreach domain's clock: now as naive UTC (the warehouse's convention), shifted when a demo asks.

Every outreach module asks this one function for "now", so a send, its campaign, its follow-up's due time,
suppressions, retention and figures all read the same instant. `BACKBEAT_OUTREACH_CLOCK_OFFSET_DAYS` shifts it
by whole or fractional days: the demo sets it (negative) so its campaign is sent before the airplay day its
generated radio covers, which is what lets the airplay-conversion mart show a station playing the track after
the email. Production leaves it unset; a value that is not a number is refused, naming the variable.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

CLOCK_OFFSET_ENV = "BACKBEAT_OUTREACH_CLOCK_OFFSET_DAYS"


def clock_offset() -> timedelta:
    """The shift `BACKBEAT_OUTREACH_CLOCK_OFFSET_DAYS` asks for (zero when unset)."""
    raw = os.environ.get(CLOCK_OFFSET_ENV, "").strip()
    if not raw:
        return timedelta(0)
    try:
        return timedelta(days=float(raw))
    except ValueError:
        raise ValueError(f"{CLOCK_OFFSET_ENV} must be a number of days, got {raw!r}") from None


def utcnow() -> datetime:
    """Now as naive UTC, shifted by `clock_offset()`."""
    return datetime.now(UTC).replace(tzinfo=None) + clock_offset()
