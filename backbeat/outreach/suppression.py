"""Suppressions: addresses and domains an organisation must never email again, and the check before a send.

Rows go to `outreach.suppressions` (append-only) with an audit row in `outreach.activity`, both declared in
`backbeat.outreach.tables`. A target is an address (`person@example.com`) or a domain (`example.com` or
`@example.com`); both are normalised first: trimmed, lower-cased, the domain in its IDNA ASCII form
(`Bücher.example` → `xn--bcher-kva.example`, UTS #46 mapping as mail clients do).

Idempotent: suppressing a target again for a reason it already has writes nothing; another reason appends a row
(the history says it bounced, then unsubscribed) and the target stays one effective suppression. The row id is
a hash of organisation, kind, value, reason and source and the insert is `ON CONFLICT DO NOTHING`, so two
racing writers of the same request append one row; racing writers from two sources may append two, which every
read treats as one.

`is_suppressed` matches the address itself, its domain and every parent domain (suppressing `example.com` covers
`mail.example.com`), in clear or hashed: a purge replaces an organisation's suppressions by `sha256:` hashes of
the normalised value salted with the org id (`address_hash`), so a purged person is still never emailed again
while their address is gone. Any other check of the table must match those hashes too.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import idna
import polars as pl

from backbeat.outreach.clock import utcnow as _now
from backbeat.outreach.ids import outcome_id, suppression_id
from backbeat.outreach.store import insert_row
from backbeat.outreach.tables import (
    ACTIVITY,
    ORG_CONTACTS,
    OUTCOMES,
    PROSPECTS,
    SEND_ATTEMPTS,
    SUPPRESSION_KINDS,
    SUPPRESSION_REASONS,
    SUPPRESSIONS,
)

REASONS = SUPPRESSION_REASONS
KINDS = SUPPRESSION_KINDS
HASH_PREFIX = "sha256:"


class Queryable(Protocol):
    """A `Warehouse` or an open `WarehouseConnection`: both answer `query(sql, params)`."""

    def query(self, sql: str, params: Sequence[Any] = (), schema: Any = None) -> pl.DataFrame: ...


@dataclass(frozen=True)
class Target:
    """A normalised suppression target: `kind` is `email` or `domain`, `value` the normalised text."""

    kind: str
    value: str


@dataclass(frozen=True)
class Suppression:
    """The suppression that matched an address (the earliest row for its target)."""

    org_id: str
    kind: str
    value: str
    reason: str
    source: str | None
    created_at: datetime


def normalise_domain(domain: str) -> str:
    """`domain` trimmed, lower-cased, without a trailing dot, in IDNA ASCII; ValueError when it is not one."""
    text = domain.strip().strip(".").lower()
    if not text or any(ch.isspace() for ch in text) or "@" in text:
        raise ValueError(f"not a domain: {domain!r}")
    try:
        ascii_domain = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise ValueError(f"not a domain: {domain!r}") from None
    if "." not in ascii_domain:
        raise ValueError(f"not a domain: {domain!r}")
    return ascii_domain


def normalise_email(address: str) -> str:
    """`address` (optionally in `<...>`) trimmed and lower-cased with an IDNA domain; ValueError if malformed."""
    text = address.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or any(ch.isspace() for ch in local):
        raise ValueError(f"not an email address: {address!r}")
    return f"{local.lower()}@{normalise_domain(domain)}"


def parse_target(target: str) -> Target:
    """An address (has a local part) or a domain (`example.com`, `@example.com`), normalised."""
    text = target.strip()
    if "@" in text.lstrip("@"):
        return Target("email", normalise_email(text))
    return Target("domain", normalise_domain(text.lstrip("@")))


def address_hash(org_id: str, value: str) -> str:
    """`sha256:<hex>` of a normalised address or domain salted with the org id: what a purge leaves of it."""
    return HASH_PREFIX + hashlib.sha256(f"{org_id}\x1f{value}".encode()).hexdigest()


def _parent_domains(domain: str) -> list[str]:
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _matches(db: Queryable, org_id: str, email: str) -> pl.DataFrame:
    address = normalise_email(email)
    domains = _parent_domains(address.rpartition("@")[2])
    email_values = [address, address_hash(org_id, address)]
    domain_values = domains + [address_hash(org_id, d) for d in domains]
    return db.query(
        f"SELECT org_id, kind, value, reason, source, created_at FROM {SUPPRESSIONS.qualified_name} "
        f"WHERE org_id = ? AND ((kind = 'email' AND value IN ({', '.join('?' * len(email_values))})) "
        f"OR (kind = 'domain' AND value IN ({', '.join('?' * len(domain_values))}))) "
        "ORDER BY created_at, reason",
        [org_id, *email_values, *domain_values],
    )


def suppression_for(db: Queryable, org_id: str, email: str) -> Suppression | None:
    """The suppression that stops `org_id` mailing `email` (address, domain or parent domain), or None.

    `db` is a `Warehouse` or a `WarehouseConnection` (the send path checks inside its own transaction); the
    table must exist. An address that cannot be parsed raises ValueError: never send to what we cannot check.
    """
    rows = _matches(db, org_id, email)
    return Suppression(**rows.row(0, named=True)) if rows.height else None


def matching_suppressions(db: Queryable, org_id: str, email: str) -> frozenset[tuple[str, str]]:
    """`(kind, value)` of every suppression matching `email`, hashed ones given back in clear.

    An address match comes back as `("email", email.strip().lower())` (how `org_contacts` stores it) and a
    domain match as `("domain", <the matching domain, IDNA ASCII>)`, whether the row holds the value or its
    purge hash: a drop-in for a stop rule that tests `("email", address) in ...` or any `domain` entry.
    """
    address = normalise_email(email)
    clear = {address_hash(org_id, address): address}
    clear |= {address_hash(org_id, d): d for d in _parent_domains(address.rpartition("@")[2])}
    found = set()
    for kind, value in _matches(db, org_id, email).select("kind", "value").iter_rows():
        value = clear.get(value, value)
        found.add((kind, email.strip().lower() if kind == "email" else value))
    return frozenset(found)


def is_suppressed(db: Queryable, org_id: str, email: str) -> bool:
    """True when `org_id` must not email `email`: the address, its domain or a parent domain is suppressed."""
    return suppression_for(db, org_id, email) is not None


def effective_suppressions(db: Queryable, org_id: str) -> pl.DataFrame:
    """One row per suppressed target of `org_id` (kind, value, first reason, its source and time), oldest first."""
    rows = db.query(
        f"SELECT kind, value, reason, source, created_at FROM {SUPPRESSIONS.qualified_name} "
        "WHERE org_id = ? ORDER BY created_at, reason",
        [org_id],
    )
    return rows.unique(subset=["kind", "value"], keep="first", maintain_order=True)


def record_activity(
    conn: Any,
    org_id: str,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    event_id: str | None = None,
) -> None:
    """Append one audit row to `outreach.activity` in the open transaction `conn` (never a token or a body)."""
    insert_row(
        conn,
        ACTIVITY,
        {
            "event_id": event_id or uuid.uuid4().hex,
            "org_id": org_id,
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "detail": json.dumps(detail or {}, sort_keys=True, default=str),
            "occurred_at": at or _now(),
        },
        ignore_conflict=True,
    )


def suppress_in(
    conn: Any,
    org_id: str,
    target: str,
    reason: str,
    *,
    source: str,
    actor: str = "system",
    campaign_id: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Suppress `target` for `org_id` inside the open transaction `conn`; True when a row was appended.

    `source` says where the request came from (`one_click`, `unsubscribe_email`, `dsn`, `cli`, ...), `actor`
    who acted. The audit row names the target by its hash, never the address itself.
    """
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {REASONS}, not {reason!r}")
    parsed = parse_target(target)
    hashed = address_hash(org_id, parsed.value)
    already = conn.scalar(
        f"SELECT count(*) FROM {SUPPRESSIONS.qualified_name} "
        "WHERE org_id = ? AND kind = ? AND value IN (?, ?) AND reason = ?",
        [org_id, parsed.kind, parsed.value, hashed, reason],
    )
    if already:
        return False
    when = at or _now()
    row_id = suppression_id(org_id, parsed.kind, parsed.value, reason, source)
    insert_row(
        conn,
        SUPPRESSIONS,
        {
            "suppression_id": row_id,
            "org_id": org_id,
            "kind": parsed.kind,
            "value": parsed.value,
            "reason": reason,
            "source": source,
            "campaign_id": campaign_id,
            "actor": actor,
            "created_at": when,
        },
        ignore_conflict=True,
    )
    record_activity(
        conn,
        org_id,
        actor=actor,
        action="suppress",
        subject_type=parsed.kind,
        subject_id=hashed,
        detail={"reason": reason, "source": source, "campaign_id": campaign_id},
        at=when,
        event_id=f"suppress:{row_id}",
    )
    return True


def suppress(
    warehouse: Any,
    org_id: str,
    target: str,
    reason: str,
    *,
    source: str,
    actor: str = "system",
    campaign_id: str | None = None,
    at: datetime | None = None,
) -> bool:
    """`suppress_in` in its own transaction on `warehouse` (the tables are created if missing)."""
    with warehouse.connect() as conn:
        for t in (SUPPRESSIONS, ACTIVITY):
            conn.ensure(t)
        return suppress_in(conn, org_id, target, reason, source=source, actor=actor, campaign_id=campaign_id, at=at)


@dataclass(frozen=True)
class UnsubscribeResult:
    """What honouring an unsubscribe did: `known` is False when the contact is not (or no longer) on file."""

    known: bool
    newly_suppressed: bool


def honour_unsubscribe(
    warehouse: Any,
    org_id: str,
    contact_id: str,
    campaign_id: str,
    *,
    source: str,
    actor: str = "unsubscribe",
    at: datetime | None = None,
) -> UnsubscribeResult:
    """Record that a contact unsubscribed: a suppression of their address and an `unsubscribed` outcome.

    One transaction, so the very next send sees it. The outcome's id is a hash of organisation, campaign and
    contact: a second request (a second click, the mailto after the click) adds nothing. The outcome names the
    prospect and the last step sent to it when they exist, for the funnel. A contact no longer on file (purged)
    records nothing: `known=False`.
    """
    when = at or _now()
    with warehouse.connect() as conn:
        for t in (ORG_CONTACTS, PROSPECTS, SEND_ATTEMPTS, OUTCOMES, SUPPRESSIONS, ACTIVITY):
            conn.ensure(t)
        email = conn.scalar(
            f"SELECT email FROM {ORG_CONTACTS.qualified_name} WHERE org_id = ? AND contact_id = ?",
            [org_id, contact_id],
        )
        if email is None:
            return UnsubscribeResult(known=False, newly_suppressed=False)
        address = normalise_email(email)
        new = suppress_in(
            conn, org_id, address, "unsubscribe", source=source, actor=actor, campaign_id=campaign_id, at=when
        )
        prospect = conn.query(
            f"SELECT p.prospect_id, (SELECT max(a.step_no) FROM {SEND_ATTEMPTS.qualified_name} a "
            "WHERE a.prospect_id = p.prospect_id AND a.event = 'sent') AS step_no "
            f"FROM {PROSPECTS.qualified_name} p WHERE p.org_id = ? AND p.campaign_id = ? AND p.contact_id = ?",
            [org_id, campaign_id, contact_id],
        )
        first = prospect.row(0, named=True) if prospect.height else {"prospect_id": None, "step_no": None}
        insert_row(
            conn,
            OUTCOMES,
            {
                "outcome_id": outcome_id("unsubscribed", f"token|{org_id}|{campaign_id}|{contact_id}"),
                "org_id": org_id,
                "kind": "unsubscribed",
                "campaign_id": campaign_id,
                "prospect_id": first["prospect_id"],
                "contact_id": contact_id,
                "email": address,
                "step_no": first["step_no"],
                "detail": source,
                "occurred_at": when,
                "recorded_at": when,
            },
            ignore_conflict=True,
        )
        return UnsubscribeResult(known=True, newly_suppressed=new)
