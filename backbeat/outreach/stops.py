"""Stop rules: the one place that decides whether a prospect may be emailed now, evaluated right before a send.

`stop_reason(conn, prospect_id, mailbox_id, now)` reads the facts inside the caller's transaction (the same one
that claims the send) and returns a reason or None. The rules, first match wins:

1. the prospect is no longer `active` (replied, bounced, unsubscribed, complained, stopped by hand, failed,
   completed) → `prospect_<status>`;
2. an outcome for this prospect: replied, bounced_hard, complained, unsubscribed, accepted, rejected → that
   signal (`bounced` for bounced_hard); or, for the same address anywhere in the organisation, a hard bounce, a
   complaint or an unsubscribe;
3. a suppression of the address (`suppressed_email`) or of its domain or a parent domain (`suppressed_domain`);
4. no consent (`no_consent`), or the contact is gone from `org_contacts` (`no_contact`);
5. the campaign is not `active` (`campaign_paused`, `campaign_stopped`, ...);
6. the mailbox needs re-authorisation (`mailbox_auth_required`) or is paused after a daily-limit error
   (`mailbox_paused`), or is unknown (`mailbox_unknown`).

Reasons of rules 1-4 are about the person: the sender records them on the prospect (`PROSPECT_STATUS_FOR`) and
in the activity log. Rules 5-6 are temporary: nothing changes, the step waits. Auto-replies and soft bounces do
not stop a sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backbeat.outreach.suppression import matching_suppressions
from integrations.warehouse import WarehouseConnection

PROSPECT_STOP_OUTCOMES = {
    "replied": "replied",
    "bounced_hard": "bounced",
    "complained": "complained",
    "unsubscribed": "unsubscribed",
    "accepted": "accepted",
    "rejected": "rejected",
}
"""Outcomes of this prospect that end its sequence, and the stop reason each gives."""
CONTACT_STOP_OUTCOMES = {"bounced_hard": "bounced", "complained": "complained", "unsubscribed": "unsubscribed"}
"""Outcomes for the same address in any campaign of the organisation that end every sequence to it."""

PROSPECT_STATUS_FOR = {
    "replied": "replied",
    "bounced": "bounced",
    "complained": "complained",
    "unsubscribed": "unsubscribed",
    "accepted": "stopped",
    "rejected": "stopped",
    "suppressed_email": "stopped",
    "suppressed_domain": "stopped",
    "no_consent": "stopped",
    "no_contact": "stopped",
}
"""Stop reasons about the person, and the prospect status the sender records for each."""


@dataclass(frozen=True)
class StopFacts:
    """Everything the rules look at for one prospect and mailbox."""

    prospect_status: str | None
    campaign_status: str | None
    email: str | None
    consent: bool | None
    prospect_outcomes: frozenset[str]
    contact_outcomes: frozenset[str]
    suppressions: frozenset[tuple[str, str]]  # (kind, value) matching the address or one of its domains
    mailbox_status: str | None
    mailbox_paused_until: datetime | None


def evaluate(facts: StopFacts, now: datetime) -> str | None:
    """The stop reason for these facts at `now`, or None when the send may go."""
    if facts.prospect_status is None:
        return "prospect_unknown"
    if facts.prospect_status != "active":
        return f"prospect_{facts.prospect_status}"
    for kind, reason in PROSPECT_STOP_OUTCOMES.items():
        if kind in facts.prospect_outcomes:
            return reason
    for kind, reason in CONTACT_STOP_OUTCOMES.items():
        if kind in facts.contact_outcomes:
            return reason
    if facts.email is None:
        return "no_contact"
    if ("email", facts.email) in facts.suppressions:
        return "suppressed_email"
    if any(kind == "domain" for kind, _ in facts.suppressions):
        return "suppressed_domain"
    if not facts.consent:
        return "no_consent"
    if facts.campaign_status != "active":
        return f"campaign_{facts.campaign_status or 'unknown'}"
    if facts.mailbox_status is None:
        return "mailbox_unknown"
    if facts.mailbox_status == "auth_required":
        return "mailbox_auth_required"
    if facts.mailbox_paused_until is not None and now < facts.mailbox_paused_until:
        return "mailbox_paused"
    return None


def load_facts(conn: WarehouseConnection, prospect_id: str, mailbox_id: str) -> StopFacts:
    """Read the facts for `prospect_id` sent from `mailbox_id` in the caller's transaction."""
    prospect = conn.query(
        "SELECT p.status AS prospect_status, p.org_id, p.campaign_id, k.status AS campaign_status, c.email, "
        "c.consent FROM outreach.prospects p "
        "LEFT JOIN outreach.campaigns k ON k.campaign_id = p.campaign_id "
        "LEFT JOIN outreach.org_contacts c ON c.org_id = p.org_id AND c.contact_id = p.contact_id "
        "WHERE p.prospect_id = ?",
        [prospect_id],
    )
    mailbox = conn.query("SELECT status, paused_until FROM outreach.mailboxes WHERE mailbox_id = ?", [mailbox_id])
    mailbox_status, paused_until = mailbox.row(0) if mailbox.height else (None, None)
    if not prospect.height:
        return StopFacts(None, None, None, None, frozenset(), frozenset(), frozenset(), mailbox_status, paused_until)
    row = prospect.row(0, named=True)
    email = row["email"]
    outcomes = conn.query(
        "SELECT DISTINCT kind, prospect_id = ? AS mine FROM outreach.outcomes "
        "WHERE org_id = ? AND (prospect_id = ? OR email = ?)",
        [prospect_id, row["org_id"], prospect_id, email],
    )
    prospect_outcomes = {k for k, mine in outcomes.iter_rows() if mine}
    contact_outcomes = set(outcomes["kind"].to_list()) if email is not None else set()
    suppressions: frozenset[tuple[str, str]] = frozenset()
    if email is not None:
        try:
            # One matching rule for every writer: clear, IDNA and hashed (purged) addresses and parent domains.
            suppressions = matching_suppressions(conn, row["org_id"], email)
        except ValueError:  # an address that cannot be normalised is never emailed
            suppressions = frozenset({("email", email)})
    return StopFacts(
        prospect_status=row["prospect_status"],
        campaign_status=row["campaign_status"],
        email=email,
        consent=row["consent"],
        prospect_outcomes=frozenset(prospect_outcomes),
        contact_outcomes=frozenset(contact_outcomes),
        suppressions=suppressions,
        mailbox_status=mailbox_status,
        mailbox_paused_until=paused_until,
    )


def stop_reason(conn: WarehouseConnection, prospect_id: str, mailbox_id: str, now: datetime) -> str | None:
    """The reason `prospect_id` must not be emailed from `mailbox_id` at `now` (naive UTC), or None."""
    return evaluate(load_facts(conn, prospect_id, mailbox_id), now)
