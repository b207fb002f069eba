"""Figures a person reads about outreach: per campaign (prospects waiting, stopped by reason, the funnel per step,
sends after a stop) and per mailbox (sent today, health). Read-only; `backbeat outreach campaign status`, the
Dagster metadata and the demo summary print them.

"Sends after a stop" is the check of the second promise: a `sent` whose claim (`intent`) came after a stop signal
for that person was recorded (a reply, hard bounce, complaint, unsubscribe or acceptance/rejection of this
prospect; a hard bounce, complaint or unsubscribe of the address anywhere in the organisation; a suppression of
the address or its domain). It must always be 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backbeat.outreach.clock import utcnow as _now
from backbeat.outreach.mailboxes import MailboxHealth, mailbox_health
from backbeat.outreach.tables import OUTREACH_TABLES
from integrations.warehouse import Warehouse

FUNNEL_KINDS = ("replied", "bounced_hard", "bounced_soft", "auto_reply", "unsubscribed", "complained")
_PROSPECT_STOPS = "('replied', 'bounced_hard', 'complained', 'unsubscribed', 'accepted', 'rejected')"
_CONTACT_STOPS = "('bounced_hard', 'complained', 'unsubscribed')"

SENDS_AFTER_STOP_SQL = f"""
WITH sent AS (
    SELECT a.idempotency_key, a.org_id, a.campaign_id, a.prospect_id, c.email,
           (SELECT min(i.occurred_at) FROM outreach.send_attempts i WHERE i.idempotency_key = a.idempotency_key
            AND i.attempt_no = a.attempt_no AND i.event = 'intent') AS claimed_at
    FROM outreach.send_attempts a
    JOIN outreach.prospects p ON p.prospect_id = a.prospect_id
    LEFT JOIN outreach.org_contacts c ON c.org_id = p.org_id AND c.contact_id = p.contact_id
    WHERE a.event = 'sent' AND (a.recovered IS NULL OR NOT a.recovered) AND a.campaign_id = ?
)
SELECT count(*) FROM sent s WHERE
    EXISTS (SELECT 1 FROM outreach.outcomes o WHERE o.org_id = s.org_id AND o.recorded_at < s.claimed_at AND (
        (o.prospect_id = s.prospect_id AND o.kind IN {_PROSPECT_STOPS})
        OR (o.email = s.email AND o.kind IN {_CONTACT_STOPS})))
    OR EXISTS (SELECT 1 FROM outreach.suppressions x WHERE x.org_id = s.org_id AND x.created_at < s.claimed_at AND (
        (x.kind = 'email' AND x.value = s.email)
        OR (x.kind = 'domain' AND (s.email LIKE '%@' || x.value OR s.email LIKE '%.' || x.value))))
"""

WAITING_SQL = f"""
SELECT count(*) FROM outreach.prospects p
LEFT JOIN outreach.org_contacts c ON c.org_id = p.org_id AND c.contact_id = p.contact_id
WHERE p.campaign_id = ? AND p.status = 'active'
AND coalesce((SELECT max(a.step_no) FROM outreach.send_attempts a WHERE a.prospect_id = p.prospect_id
              AND a.event = 'sent'), 0) < ?
AND NOT EXISTS (SELECT 1 FROM outreach.outcomes o WHERE o.prospect_id = p.prospect_id AND o.kind IN {_PROSPECT_STOPS})
AND NOT EXISTS (SELECT 1 FROM outreach.suppressions x WHERE x.org_id = p.org_id AND x.kind = 'email'
                AND x.value = c.email)
"""
"""Active prospects with a step left and no stop signal recorded yet."""

STOPPED_SQL = f"""
SELECT reason, count(*) AS n FROM (
    SELECT CASE
        WHEN p.status NOT IN ('active', 'completed') THEN coalesce(p.status_reason, p.status)
        WHEN EXISTS (SELECT 1 FROM outreach.outcomes o WHERE o.prospect_id = p.prospect_id
                     AND o.kind IN {_PROSPECT_STOPS}) THEN
            (SELECT min(CASE o.kind WHEN 'bounced_hard' THEN 'bounced' ELSE o.kind END) FROM outreach.outcomes o
             WHERE o.prospect_id = p.prospect_id AND o.kind IN {_PROSPECT_STOPS})
        WHEN EXISTS (SELECT 1 FROM outreach.suppressions x WHERE x.org_id = p.org_id AND x.kind = 'email'
                     AND x.value = c.email) THEN 'suppressed_email'
        ELSE NULL END AS reason
    FROM outreach.prospects p
    LEFT JOIN outreach.org_contacts c ON c.org_id = p.org_id AND c.contact_id = p.contact_id
    WHERE p.campaign_id = ?
) r WHERE reason IS NOT NULL GROUP BY reason ORDER BY reason
"""


@dataclass(frozen=True)
class StepFunnel:
    """One step of a campaign: people it was sent to, and what came back (outcomes naming the step)."""

    step_no: int
    sent: int
    outcomes: dict[str, int]

    @property
    def delivered(self) -> int:
        """Sent minus hard bounces (Gmail cannot tell more)."""
        return self.sent - self.outcomes.get("bounced_hard", 0)


@dataclass(frozen=True)
class CampaignFigures:
    """A campaign at a glance."""

    campaign_id: str
    org_id: str
    name: str
    status: str
    track_title: str | None
    prospects: int
    by_status: dict[str, int]
    waiting: int
    stopped: dict[str, int]
    sent_today: dict[str, int]
    funnel: list[StepFunnel]
    sends_after_stop: int
    mailboxes: list[MailboxHealth]

    def lines(self) -> list[str]:
        """What `backbeat outreach campaign status` prints."""
        out = [
            f"campaign {self.campaign_id} ({self.name}) [{self.org_id}]: {self.status}, promoting "
            f"{self.track_title or '-'}; {self.prospects} prospects: "
            + (", ".join(f"{n} {s}" for s, n in self.by_status.items()) or "none"),
            f"  waiting for a next step: {self.waiting}",
            "  stopped by reason: " + (", ".join(f"{r} {n}" for r, n in self.stopped.items()) or "none"),
            "  sent today (UTC) per mailbox: " + (", ".join(f"{m} {n}" for m, n in self.sent_today.items()) or "none"),
        ]
        for step in self.funnel:
            signals = ", ".join(f"{k} {n}" for k, n in step.outcomes.items() if n) or "no replies yet"
            out.append(f"  step {step.step_no}: sent {step.sent}, delivered {step.delivered}; {signals}")
        out.append(f"  sent after a stop: {self.sends_after_stop} (must be 0)")
        out += [f"  mailbox {m.line()}" for m in self.mailboxes]
        return out


def campaign_ids(warehouse: Warehouse, org_id: str | None = None) -> list[str]:
    """Every campaign id (of an organisation), oldest first."""
    warehouse.ensure(*OUTREACH_TABLES)
    where, params = (" WHERE org_id = ?", [org_id]) if org_id else ("", [])
    return warehouse.query(
        f"SELECT campaign_id FROM outreach.campaigns{where} ORDER BY created_at, campaign_id", params
    )["campaign_id"].to_list()


def campaign_figures(warehouse: Warehouse, campaign_id: str, *, now: datetime | None = None) -> CampaignFigures:
    """The figures of one campaign at `now` (naive UTC); KeyError when there is no such campaign."""
    when = now or _now()
    warehouse.ensure(*OUTREACH_TABLES)
    with warehouse.connect() as conn:
        head = conn.query(
            "SELECT org_id, name, status, track_title FROM outreach.campaigns WHERE campaign_id = ?", [campaign_id]
        )
        if not head.height:
            raise KeyError(f"no campaign {campaign_id!r}")
        campaign = head.row(0, named=True)
        by_status = dict(
            conn.query(
                "SELECT status, count(*) FROM outreach.prospects WHERE campaign_id = ? GROUP BY status ORDER BY status",
                [campaign_id],
            ).iter_rows()
        )
        steps = int(
            conn.scalar("SELECT count(*) FROM outreach.sequence_steps WHERE campaign_id = ?", [campaign_id]) or 0
        )
        stopped = {r: int(n) for r, n in conn.query(STOPPED_SQL, [campaign_id]).iter_rows()}
        waiting = int(conn.scalar(WAITING_SQL, [campaign_id, steps]) or 0)
        midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
        sent_today = dict(
            conn.query(
                "SELECT mailbox_id, count(DISTINCT idempotency_key) FROM outreach.send_attempts "
                "WHERE campaign_id = ? AND event = 'sent' AND occurred_at >= ? GROUP BY mailbox_id ORDER BY mailbox_id",
                [campaign_id, midnight],
            ).iter_rows()
        )
        sent = dict(
            conn.query(
                "SELECT step_no, count(DISTINCT prospect_id) FROM outreach.send_attempts "
                "WHERE campaign_id = ? AND event = 'sent' GROUP BY step_no",
                [campaign_id],
            ).iter_rows()
        )
        outcomes: dict[int, dict[str, int]] = {}
        for step_no, kind, n in conn.query(
            "SELECT coalesce(step_no, 1), kind, count(DISTINCT coalesce(prospect_id, email)) FROM outreach.outcomes "
            "WHERE campaign_id = ? GROUP BY coalesce(step_no, 1), kind",
            [campaign_id],
        ).iter_rows():
            outcomes.setdefault(int(step_no), {})[kind] = int(n)
        after_stop = int(conn.scalar(SENDS_AFTER_STOP_SQL, [campaign_id]) or 0)
        mailbox_ids = conn.query(
            "SELECT mailbox_id FROM outreach.campaign_mailboxes WHERE campaign_id = ?", [campaign_id]
        )["mailbox_id"].to_list()
    funnel = [
        StepFunnel(n, int(sent.get(n, 0)), {k: outcomes.get(n, {}).get(k, 0) for k in FUNNEL_KINDS})
        for n in range(1, steps + 1)
    ]
    health = [m for m in mailbox_health(warehouse, org_id=campaign["org_id"], now=when) if m.mailbox_id in mailbox_ids]
    return CampaignFigures(
        campaign_id=campaign_id,
        org_id=campaign["org_id"],
        name=campaign["name"] or campaign_id,
        status=campaign["status"],
        track_title=campaign["track_title"],
        prospects=sum(by_status.values()),
        by_status={str(k): int(v) for k, v in by_status.items()},
        waiting=waiting,
        stopped=stopped,
        sent_today={str(k): int(v) for k, v in sent_today.items()},
        funnel=funnel,
        sends_after_stop=after_stop,
        mailboxes=health,
    )


def summary_lines(warehouse: Warehouse, *, now: datetime | None = None) -> list[str]:
    """Per campaign, the funnel and the stop check in two lines (the demo summary); none without campaigns.

    Reads only: the caller guards against a warehouse without the outreach tables."""
    when = now or _now()
    lines = []
    ids = warehouse.query("SELECT campaign_id FROM outreach.campaigns ORDER BY created_at, campaign_id")
    for (cid,) in ids.iter_rows():
        f = campaign_figures(warehouse, cid, now=when)
        steps = "; ".join(
            f"step {s.step_no} sent {s.sent}, delivered {s.delivered}, replied {s.outcomes['replied']}, "
            f"bounced {s.outcomes['bounced_hard']}, unsubscribed {s.outcomes['unsubscribed']}, "
            f"complained {s.outcomes['complained']}"
            for s in f.funnel
        )
        lines.append(f"outreach {cid} ({f.status}, {f.prospects} prospects from {len(f.mailboxes)} mailboxes): {steps}")
        stopped = ", ".join(f"{n} {r}" for r, n in f.stopped.items()) or "nobody"
        lines.append(
            f"outreach {cid} stops: {stopped}; sent after a stop: {f.sends_after_stop} (must be 0); "
            f"mailboxes: " + ", ".join(f"{m.mailbox_id} {m.status}" for m in f.mailboxes)
        )
    return lines
