"""Deterministic ids of the outreach model: the same inputs always give the same id, in any process.

The idempotency key names the one message a step may send (mailbox × campaign × prospect × step); its
Message-ID is derived from it, so every attempt of a key sends the same Message-ID and a crashed run's message
can be found in the mailbox (`rfc822msgid:`) before anything is sent again.
"""

from __future__ import annotations

import hashlib


def _digest(*parts: str, length: int) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


def normalise_email(email: str) -> str:
    """The address as outreach stores it: stripped and lower-cased."""
    return email.strip().lower()


def domain_of(email: str) -> str:
    """The lower-cased domain of an address (`a@Example.com` → `example.com`)."""
    address = normalise_email(email)
    if "@" not in address:
        raise ValueError(f"not an email address: {email!r}")
    return address.rsplit("@", 1)[1]


def contact_id(email: str) -> str:
    """The contact id the `outreach/contacts` asset uses: sha1 of the lower-cased email, 12 hex digits."""
    return hashlib.sha1(normalise_email(email).encode()).hexdigest()[:12]


def prospect_id(campaign_id: str, contact: str) -> str:
    """One prospect per campaign and contact."""
    return "p-" + _digest(campaign_id, contact, length=16)


def idempotency_key(mailbox_id: str, campaign_id: str, prospect: str, step_no: int) -> str:
    """`mailbox|campaign|prospect|step`: the key of the one message this step may send this person."""
    for part in (mailbox_id, campaign_id, prospect):
        if "|" in part:
            raise ValueError(f"'|' is not allowed in an id: {part!r}")
    return f"{mailbox_id}|{campaign_id}|{prospect}|{int(step_no)}"


def message_id(key: str, sender_domain: str) -> str:
    """The RFC 5322 Message-ID (without angle brackets) of the key's message: `bb.<hash>@<sender domain>`."""
    return f"bb.{_digest(key, length=32)}@{sender_domain.lower()}"


def outcome_id(kind: str, source: str) -> str:
    """An outcome's id from its kind and what showed it (a Gmail message id, a token...): re-syncs add nothing."""
    return "o-" + _digest(kind, source, length=24)


def suppression_id(org_id: str, kind: str, value: str, reason: str, source: str) -> str:
    """A suppression's id: the same entry recorded twice is one row."""
    return "s-" + _digest(org_id, kind, value.lower(), reason, source, length=24)
