"""Sending mailboxes: connect one (its OAuth refresh token encrypted at rest), read their health, mark one
`auth_required` when Google refuses its grant, and build the `GmailClient` that talks for it.

- `GmailSettings` says where Google lives and how tokens are kept. `GmailSettings.from_env()` reads
  `BACKBEAT_GMAIL_API_URL` / `BACKBEAT_GMAIL_TOKEN_URI` (default: Google; the demo and the tests point them at
  the local stand-in), `BACKBEAT_GMAIL_CLIENT_ID` / `BACKBEAT_GMAIL_CLIENT_SECRET` (the OAuth client),
  `BACKBEAT_SECRET_KEY` (the token store's Fernet key) and `BACKBEAT_GMAIL_TOKEN_DIR` (default
  `{data_dir}/secrets/gmail`). Only the command line and the Dagster resource call it; everything else gets a
  settings object passed in.
- Tokens live in `integrations.resilience.TokenStore` under `gmail-<address>` (`token_name`); the warehouse row
  (`outreach.mailboxes`) holds only the token's name. A refreshed access token is written back encrypted by the
  client's `on_refresh`. Neither a token nor the client secret is ever printed, logged or put in a repr.
- Health: `ok`, `degraded` (errors, still sending) or `auth_required` (Google refused the grant: `invalid_grant`,
  or 401 after a refresh). `mark_auth_required` pauses only that mailbox's sends (the stop rules read the
  status), appends an `auth_required` activity event and logs one alert line on the `backbeat.outreach.alerts`
  logger; `backbeat outreach mailbox connect` with a fresh token sets it back to `ok`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from backbeat.outreach.clock import utcnow as _now
from backbeat.outreach.pacing import PacingConfig, mailbox_daily_cap
from backbeat.outreach.store import log_activity
from backbeat.outreach.tables import (
    ACTIVITY,
    GOOGLE_DAILY_SEND_LIMIT,
    MAILBOX_STATUSES,
    MAILBOXES,
    ORGANISATIONS,
    PROVIDERS,
    SEND_ATTEMPTS,
)
from integrations.gmail import AuthRequired, GmailClient, GmailEndpoint, GmailError, QuotaMeter
from integrations.resilience import TokenStore
from integrations.resilience.secrets import SECRET_KEY_ENV
from integrations.warehouse import Warehouse, WarehouseConnection

alerts = logging.getLogger("backbeat.outreach.alerts")

API_URL_ENV = "BACKBEAT_GMAIL_API_URL"
TOKEN_URI_ENV = "BACKBEAT_GMAIL_TOKEN_URI"
CLIENT_ID_ENV = "BACKBEAT_GMAIL_CLIENT_ID"
CLIENT_SECRET_ENV = "BACKBEAT_GMAIL_CLIENT_SECRET"
TOKEN_DIR_ENV = "BACKBEAT_GMAIL_TOKEN_DIR"
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z0-9-]{2,}$")


class MailboxError(ValueError):
    """A mailbox that cannot be connected or used as asked; the message names the mailbox and what is wrong."""


@dataclass(frozen=True)
class GmailSettings:
    """Where Gmail and its token endpoint are, the OAuth client, and the encrypted token store."""

    token_dir: str
    secret_key: str = field(default="", repr=False)
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    api_endpoint: str = GmailEndpoint.api_endpoint
    token_uri: str = GmailEndpoint.token_uri
    timeout: float = 30.0

    @classmethod
    def from_env(cls, data_dir: str | Path, environ: Mapping[str, str] | None = None) -> GmailSettings:
        """The settings from the `BACKBEAT_GMAIL_*` variables and `BACKBEAT_SECRET_KEY` (see the module)."""
        env = os.environ if environ is None else environ
        return cls(
            token_dir=env.get(TOKEN_DIR_ENV) or str(default_token_dir(data_dir)),
            secret_key=env.get(SECRET_KEY_ENV, ""),
            client_id=env.get(CLIENT_ID_ENV, ""),
            client_secret=env.get(CLIENT_SECRET_ENV, ""),
            api_endpoint=env.get(API_URL_ENV) or GmailEndpoint.api_endpoint,
            token_uri=env.get(TOKEN_URI_ENV) or GmailEndpoint.token_uri,
        )

    @property
    def endpoint(self) -> GmailEndpoint:
        return GmailEndpoint(api_endpoint=self.api_endpoint, token_uri=self.token_uri)

    def missing(self) -> list[str]:
        """Names of the variables still needed to talk to Gmail (names only, never values)."""
        wanted = {SECRET_KEY_ENV: self.secret_key, CLIENT_ID_ENV: self.client_id, CLIENT_SECRET_ENV: self.client_secret}
        return [name for name, value in wanted.items() if not value]

    def token_store(self) -> TokenStore:
        """The encrypted store of mailbox tokens; MailboxError when no key is set."""
        if not self.secret_key:
            raise MailboxError(
                f"${SECRET_KEY_ENV} is not set: it holds the Fernet key mailbox tokens are encrypted with"
            )
        return TokenStore(self.token_dir, self.secret_key)


def default_token_dir(data_dir: str | Path) -> Path:
    """Where mailbox tokens live when `BACKBEAT_GMAIL_TOKEN_DIR` is not set."""
    return Path(data_dir) / "secrets" / "gmail"


def normalise_address(address: str) -> str:
    """The mailbox id: the address trimmed and lower-cased; MailboxError when it is not an address."""
    text = address.strip().lower()
    if not _ADDRESS.match(text):
        raise MailboxError(f"not an email address: {address!r}")
    return text


def token_name(mailbox_id: str) -> str:
    """The token store entry of a mailbox (`gmail-promo_at_label.example`)."""
    return "gmail-" + re.sub(r"[^A-Za-z0-9._-]", "_", normalise_address(mailbox_id).replace("@", "_at_"))


def ensure_tables(conn: WarehouseConnection) -> None:
    for t in (ORGANISATIONS, MAILBOXES, SEND_ATTEMPTS, ACTIVITY):
        conn.ensure(t)


def ensure_organisation(
    conn: WarehouseConnection,
    org_id: str,
    *,
    name: str | None = None,
    daily_cap: int | None = None,
    domain_daily_cap: int | None = None,
    body_retention_days: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Create the organisation when it does not exist (caps optional); True when it was created."""
    if not org_id.strip() or "|" in org_id:
        raise MailboxError(f"an organisation id must be non-empty and without '|': {org_id!r}")
    conn.ensure(ORGANISATIONS)
    if conn.scalar("SELECT count(*) FROM outreach.organisations WHERE org_id = ?", [org_id]):
        return False
    conn.execute(
        "INSERT INTO outreach.organisations (org_id, name, daily_cap, domain_daily_cap, body_retention_days, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [org_id, name or org_id, daily_cap, domain_daily_cap, body_retention_days, now or _now()],
    )
    return True


@dataclass(frozen=True)
class Mailbox:
    """One row of `outreach.mailboxes`."""

    mailbox_id: str
    org_id: str
    address: str
    display_name: str | None
    provider: str | None
    status: str
    status_reason: str | None
    created_on: date | None
    daily_cap: int | None
    paused_until: datetime | None
    token_name: str | None
    updated_at: datetime | None


def get_mailbox(db: Warehouse | WarehouseConnection, mailbox_id: str) -> Mailbox | None:
    """The mailbox's row, or None."""
    rows = db.query(
        f"SELECT {', '.join(MAILBOXES.column_names)} FROM outreach.mailboxes WHERE mailbox_id = ?",
        [mailbox_id.strip().lower()],
    )
    return Mailbox(**rows.row(0, named=True)) if rows.height else None


def connect_mailbox(
    warehouse: Warehouse,
    store: TokenStore,
    address: str,
    org_id: str,
    refresh_token: str,
    *,
    created_on: date | None = None,
    daily_cap: int | None = None,
    display_name: str | None = None,
    provider: str = "workspace",
    actor: str = "cli",
    now: datetime | None = None,
) -> Mailbox:
    """Store the mailbox's refresh token encrypted and register (or re-connect) it with status `ok`.

    Re-connecting keeps the created date and cap unless new ones are given, and a pause after Gmail's daily limit,
    and lifts `auth_required`. A mailbox already registered to another organisation is refused. The organisation
    is created when new.
    """
    mailbox_id = normalise_address(address)
    if not refresh_token.strip():
        raise MailboxError(f"{mailbox_id}: the refresh token is empty")
    if provider not in PROVIDERS:
        raise MailboxError(f"{mailbox_id}: provider must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    if daily_cap is not None and not 0 <= daily_cap <= GOOGLE_DAILY_SEND_LIMIT:
        raise MailboxError(f"{mailbox_id}: daily cap must be within 0..{GOOGLE_DAILY_SEND_LIMIT}, got {daily_cap}")
    when = now or _now()
    with warehouse.connect() as conn:
        ensure_tables(conn)
        existing = get_mailbox(conn, mailbox_id)
        if existing is not None and existing.org_id != org_id:
            raise MailboxError(f"{mailbox_id} is registered to organisation {existing.org_id!r}, not {org_id!r}")
        ensure_organisation(conn, org_id, now=when)
        name = token_name(mailbox_id)
        store.save(name, {"refresh_token": refresh_token.strip(), "access_token": None, "expiry": None})
        conn.execute("DELETE FROM outreach.mailboxes WHERE mailbox_id = ?", [mailbox_id])
        row = {
            "mailbox_id": mailbox_id,
            "org_id": org_id,
            "address": mailbox_id,
            "display_name": display_name or (existing.display_name if existing else None),
            "provider": provider,
            "status": "ok",
            "status_reason": "connected",
            "created_on": created_on or (existing.created_on if existing else None) or when.date(),
            "daily_cap": daily_cap if daily_cap is not None else (existing.daily_cap if existing else None),
            "paused_until": existing.paused_until if existing else None,  # a daily-limit pause outlives a reconnect
            "token_name": name,
            "updated_at": when,
        }
        conn.execute(
            f"INSERT INTO outreach.mailboxes ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        log_activity(
            conn,
            org_id=org_id,
            actor=actor,
            action="reconnect" if existing else "connect",
            subject_type="mailbox",
            subject_id=mailbox_id,
            at=when,
            detail={"previous_status": existing.status if existing else None, "token_name": name},
        )
    mailbox = get_mailbox(warehouse, mailbox_id)
    assert mailbox is not None
    return mailbox


def set_status(
    db: Warehouse | WarehouseConnection,
    mailbox_id: str,
    status: str,
    reason: str,
    *,
    actor: str = "sender",
    now: datetime | None = None,
) -> bool:
    """Set a mailbox's health (`ok`, `degraded`, `auth_required`) with the reason; True when it changed.

    An unchanged status writes nothing, so a sender that keeps hitting the same error logs one event."""
    if status not in MAILBOX_STATUSES:
        raise MailboxError(f"status must be one of {', '.join(MAILBOX_STATUSES)}, not {status!r}")
    if isinstance(db, Warehouse):
        with db.connect() as conn:
            return set_status(conn, mailbox_id, status, reason, actor=actor, now=now)
    current = get_mailbox(db, mailbox_id)
    if current is None:
        raise MailboxError(f"no mailbox {mailbox_id!r}")
    if current.status == status:
        return False
    when = now or _now()
    db.execute(
        "UPDATE outreach.mailboxes SET status = ?, status_reason = ?, updated_at = ? WHERE mailbox_id = ?",
        [status, reason, when, current.mailbox_id],
    )
    log_activity(
        db,
        org_id=current.org_id,
        actor=actor,
        action=status if status == "auth_required" else "health",
        subject_type="mailbox",
        subject_id=current.mailbox_id,
        at=when,
        detail={"from": current.status, "to": status, "reason": reason},
    )
    return True


def mark_auth_required(
    db: Warehouse | WarehouseConnection,
    mailbox_id: str,
    reason: str,
    *,
    actor: str = "sender",
    now: datetime | None = None,
) -> str | None:
    """Mark the mailbox `auth_required` (its sends pause; other mailboxes go on) and raise the alert.

    Returns the alert line (also logged at ERROR on `backbeat.outreach.alerts`) when the status changed, None
    when it already was `auth_required`."""
    if not set_status(db, mailbox_id, "auth_required", reason, actor=actor, now=now):
        return None
    line = (
        f"ALERT outreach mailbox {mailbox_id.strip().lower()} needs re-authorisation ({reason}): its sends are "
        f"paused; run `backbeat outreach mailbox connect {mailbox_id.strip().lower()} --org ... "
        "--refresh-token-env VAR` with a fresh token"
    )
    alerts.error(line)
    return line


@dataclass(frozen=True)
class MailboxHealth:
    """A mailbox as `backbeat outreach mailbox status` and the Dagster metadata show it."""

    mailbox_id: str
    org_id: str
    status: str
    status_reason: str | None
    daily_cap: int
    sent_24h: int
    paused_until: datetime | None
    token_stored: bool | None  # None: the store could not be opened (no key)

    def line(self) -> str:
        token = {True: ", token stored", False: ", no token stored", None: ""}[self.token_stored]
        paused = f", paused until {self.paused_until:%Y-%m-%d %H:%M} UTC" if self.paused_until else ""
        reason = f" ({self.status_reason})" if self.status_reason else ""
        return (
            f"{self.mailbox_id} [{self.org_id}]: {self.status}{reason}, sent {self.sent_24h}/{self.daily_cap} in "
            f"the last 24 h{paused}{token}"
        )


def mailbox_health(
    warehouse: Warehouse,
    *,
    org_id: str | None = None,
    store: TokenStore | None = None,
    pacing: PacingConfig | None = None,
    now: datetime | None = None,
) -> list[MailboxHealth]:
    """Every mailbox (of `org_id`, or all) with its status, effective cap and sends in the last 24 h."""
    when = now or _now()
    warehouse.ensure(ORGANISATIONS, MAILBOXES, SEND_ATTEMPTS)
    rows = warehouse.query(
        "SELECT m.mailbox_id, m.org_id, m.status, m.status_reason, m.created_on, m.daily_cap, m.paused_until, "
        "m.token_name, (SELECT count(DISTINCT a.idempotency_key) FROM outreach.send_attempts a "
        "WHERE a.mailbox_id = m.mailbox_id AND a.event = 'sent' AND a.occurred_at > ?) AS sent_24h "
        "FROM outreach.mailboxes m" + (" WHERE m.org_id = ?" if org_id else "") + " ORDER BY m.org_id, m.mailbox_id",
        [when - timedelta(hours=24), *([org_id] if org_id else [])],
    )
    health = []
    for r in rows.iter_rows(named=True):
        stored: bool | None = None
        if store is not None and r["token_name"]:
            stored = store.path(r["token_name"]).exists()
        health.append(
            MailboxHealth(
                mailbox_id=r["mailbox_id"],
                org_id=r["org_id"],
                status=r["status"],
                status_reason=r["status_reason"],
                daily_cap=mailbox_daily_cap(r["created_on"], r["daily_cap"], when.date(), pacing or PacingConfig()),
                sent_24h=int(r["sent_24h"] or 0),
                paused_until=r["paused_until"] if r["paused_until"] and r["paused_until"] > when else None,
                token_stored=stored,
            )
        )
    return health


def gmail_client(
    settings: GmailSettings,
    mailbox_id: str,
    *,
    store: TokenStore | None = None,
    quota: QuotaMeter | None = None,
    **client_options: Any,
) -> GmailClient:
    """A `GmailClient` for the mailbox from its stored token; refreshed tokens are written back encrypted.

    Raises `AuthRequired` (reason `no_refresh_token`) when no token is stored: connect the mailbox first."""
    mailbox = normalise_address(mailbox_id)
    tokens = store or settings.token_store()
    name = token_name(mailbox)
    token = tokens.load(name)
    if not token or not token.get("refresh_token"):
        raise AuthRequired("no refresh token stored: connect the mailbox", reason="no_refresh_token", mailbox=mailbox)
    if not (settings.client_id and settings.client_secret):
        raise MailboxError(f"{CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} are needed to talk to Gmail")

    def keep(new_token: dict[str, Any]) -> None:
        tokens.save(name, new_token)

    return GmailClient(
        mailbox,
        token,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        endpoint=settings.endpoint,
        on_refresh=keep,
        quota=quota,
        timeout=client_options.pop("timeout", settings.timeout),
        **client_options,
    )


def verify_mailbox(warehouse: Warehouse, settings: GmailSettings, mailbox_id: str, *, actor: str = "cli") -> str:
    """Refresh the mailbox's token and read its profile; the address Gmail reports must be the mailbox's.

    Returns the profile's history id. `AuthRequired` marks the mailbox `auth_required` (and alerts) before it
    is raised again; an address mismatch raises MailboxError."""
    mailbox = normalise_address(mailbox_id)
    try:
        address, history_id = gmail_client(settings, mailbox).profile()
    except AuthRequired as exc:
        mark_auth_required(warehouse, mailbox, exc.reason, actor=actor)
        raise
    if address.strip().lower() != mailbox:
        raise MailboxError(f"the token belongs to {address}, not to {mailbox}")
    return history_id


def check_mailboxes(
    warehouse: Warehouse, settings: GmailSettings, *, actor: str = "health", now: datetime | None = None
) -> list[MailboxHealth]:
    """Probe every mailbox's grant (token refresh + profile, 1 quota unit) and record what it says.

    A working grant is `ok`; `invalid_grant` or a missing token is `auth_required` (alert; only its sends pause);
    Gmail unreachable or failing is `degraded`. Returns every mailbox's health after the probe."""
    warehouse.ensure(ORGANISATIONS, MAILBOXES)
    store = settings.token_store()
    for mailbox_id in warehouse.query("SELECT mailbox_id FROM outreach.mailboxes ORDER BY mailbox_id")["mailbox_id"]:
        try:
            verify_mailbox(warehouse, settings, mailbox_id, actor=actor)
        except AuthRequired:
            continue  # verify_mailbox marked it and raised the alert
        except (GmailError, MailboxError) as exc:
            set_status(warehouse, mailbox_id, "degraded", f"{type(exc).__name__}: {exc}", actor=actor, now=now)
            continue
        set_status(warehouse, mailbox_id, "ok", "grant verified", actor=actor, now=now)
    return mailbox_health(warehouse, store=store, now=now)
