"""One send pass and one inbox sync pass, wired from settings: what the CLI, the Dagster job and sensor, and the
demo all run, so they cannot drift apart.

`OutreachSettings` gathers the Gmail settings (`mailboxes.GmailSettings`), where the one-click unsubscribe
service is reachable (`BACKBEAT_UNSUBSCRIBE_URL`, e.g. `https://u.label.example`) and the key its tokens are
signed with (`BACKBEAT_UNSUBSCRIBE_KEY`, else `BACKBEAT_SECRET_KEY`), and the pacing switches. `from_env` is
for the command line; the Dagster resource builds the same object from its `EnvVar` fields.

- `send_pass` runs `sender.SendEngine.run_pass` once with a Gmail client per mailbox from the token store.
- `sync_pass` runs `inbox_sync.sync_mailbox` for every mailbox (or the ones named) that is not
  `auth_required`: `AuthRequired` marks that mailbox `auth_required` (with the alert) and the others go on;
  any other Gmail error is reported for that mailbox and its checkpoint stays where it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from backbeat.outreach.clock import utcnow
from backbeat.outreach.inbox_sync import SyncResult, sync_mailbox
from backbeat.outreach.mailboxes import GmailSettings, get_mailbox, gmail_client, mark_auth_required, set_status
from backbeat.outreach.messages import UnsubscribeUrl
from backbeat.outreach.pacing import PacingConfig
from backbeat.outreach.sender import PassReport, SendEngine, SenderConfig
from backbeat.outreach.tables import OUTREACH_TABLES
from backbeat.outreach.unsubscribe import unsubscribe_url
from integrations.gmail import AuthRequired, GmailClient, GmailError
from integrations.resilience.secrets import SECRET_KEY_ENV
from integrations.warehouse import Warehouse

UNSUBSCRIBE_URL_ENV = "BACKBEAT_UNSUBSCRIBE_URL"
UNSUBSCRIBE_KEY_ENV = "BACKBEAT_UNSUBSCRIBE_KEY"
SPREAD_ENV = "BACKBEAT_OUTREACH_SPREAD"
POLL_SECONDS_ENV = "BACKBEAT_OUTREACH_POLL_SECONDS"
DEFAULT_UNSUBSCRIBE_URL = "http://127.0.0.1:8025"


class OutreachConfigError(ValueError):
    """Settings missing for what was asked (names the variables, never their values)."""


@dataclass(frozen=True)
class OutreachSettings:
    """Everything a send or sync pass needs besides the warehouse."""

    gmail: GmailSettings
    unsubscribe_base_url: str = DEFAULT_UNSUBSCRIBE_URL
    unsubscribe_key: str = field(default="", repr=False)
    spread: bool = True
    max_sends_per_pass: int | None = None

    @classmethod
    def from_env(cls, data_dir: str | Path, environ: Mapping[str, str] | None = None) -> OutreachSettings:
        env = os.environ if environ is None else environ
        return cls(
            gmail=GmailSettings.from_env(data_dir, env),
            unsubscribe_base_url=env.get(UNSUBSCRIBE_URL_ENV) or DEFAULT_UNSUBSCRIBE_URL,
            unsubscribe_key=env.get(UNSUBSCRIBE_KEY_ENV) or env.get(SECRET_KEY_ENV, ""),
            spread=(env.get(SPREAD_ENV) or "1").strip().lower() not in ("0", "false", "no", "off"),
        )

    def key(self) -> str:
        """The unsubscribe key; OutreachConfigError when neither variable is set."""
        if not self.unsubscribe_key:
            raise OutreachConfigError(
                f"${UNSUBSCRIBE_KEY_ENV} (or ${SECRET_KEY_ENV}) is not set: unsubscribe links are signed with it"
            )
        return self.unsubscribe_key


def campaign_unsubscribe_url(warehouse: Warehouse, base_url: str, key: str) -> UnsubscribeUrl:
    """`(contact_id, campaign_id) -> one-click URL` whose token names the campaign's organisation."""
    per_org: dict[str, UnsubscribeUrl] = {}
    org_of: dict[str, str] = {}

    def url(contact_id: str, campaign_id: str) -> str:
        if campaign_id not in org_of:
            org = warehouse.scalar("SELECT org_id FROM outreach.campaigns WHERE campaign_id = ?", [campaign_id])
            if org is None:
                raise KeyError(f"no campaign {campaign_id!r}")
            org_of[campaign_id] = str(org)
        org_id = org_of[campaign_id]
        if org_id not in per_org:
            per_org[org_id] = unsubscribe_url(base_url, key, org_id)
        return per_org[org_id](contact_id, campaign_id)

    return url


def client_factory(settings: GmailSettings) -> Callable[[str], GmailClient]:
    """mailbox id → its Gmail client (one per mailbox for the factory's life)."""
    store = settings.token_store()
    clients: dict[str, GmailClient] = {}

    def client_for(mailbox_id: str) -> GmailClient:
        if mailbox_id not in clients:
            clients[mailbox_id] = gmail_client(settings, mailbox_id, store=store)
        return clients[mailbox_id]

    return client_for


def send_pass(
    warehouse: Warehouse,
    settings: OutreachSettings,
    *,
    clock: Callable[[], datetime] = utcnow,
    run_id: str | None = None,
    actor: str = "sender",
) -> PassReport:
    """Send every step that is due and allowed now, once (`SendEngine.run_pass`)."""
    missing = settings.gmail.missing()
    if missing:
        raise OutreachConfigError(f"set {', '.join('$' + m for m in missing)} to send through Gmail")
    config = SenderConfig(
        pacing=replace(PacingConfig(), spread=settings.spread), max_sends_per_pass=settings.max_sends_per_pass
    )
    engine = SendEngine(
        warehouse,
        client_factory(settings.gmail),
        campaign_unsubscribe_url(warehouse, settings.unsubscribe_base_url, settings.key()),
        config=config,
        clock=clock,
        run_id=run_id,
        actor=actor,
    )
    return engine.run_pass()


@dataclass(frozen=True)
class MailboxSync:
    """One mailbox's sync in a pass: its result, or the error that stopped it (a sentence, no token)."""

    mailbox_id: str
    result: SyncResult | None = None
    error: str | None = None
    alert: str | None = None


def sync_pass(
    warehouse: Warehouse,
    settings: OutreachSettings,
    *,
    mailboxes: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[MailboxSync]:
    """Sync the inbox of every mailbox (or those named) that is not `auth_required`, one after the other."""
    warehouse.ensure(*OUTREACH_TABLES)
    rows = warehouse.query("SELECT mailbox_id, status FROM outreach.mailboxes ORDER BY mailbox_id")
    wanted = {m.strip().lower() for m in mailboxes} if mailboxes is not None else None
    missing = settings.gmail.missing()
    if missing:
        raise OutreachConfigError(f"set {', '.join('$' + m for m in missing)} to read mailboxes through Gmail")
    client_for = client_factory(settings.gmail)
    key = settings.unsubscribe_key or None
    results = []
    for mailbox_id, status in rows.iter_rows():
        if wanted is not None and mailbox_id not in wanted:
            continue
        if status == "auth_required":
            results.append(MailboxSync(mailbox_id, error="auth_required: reconnect the mailbox"))
            continue
        results.append(sync_one(warehouse, client_for, mailbox_id, unsubscribe_key=key, now=now))
    return results


def sync_one(
    warehouse: Warehouse,
    client_for: Callable[[str], GmailClient],
    mailbox_id: str,
    *,
    unsubscribe_key: str | None,
    now: datetime | None = None,
) -> MailboxSync:
    """Sync one mailbox; AuthRequired flags it (alert), other Gmail errors leave its checkpoint alone."""
    try:
        result = sync_mailbox(warehouse, client_for(mailbox_id), mailbox_id, unsubscribe_key=unsubscribe_key, now=now)
    except AuthRequired as exc:
        alert = mark_auth_required(warehouse, mailbox_id, exc.reason, actor="inbox_sync")
        return MailboxSync(mailbox_id, error=f"auth_required ({exc.reason})", alert=alert)
    except GmailError as exc:
        set_status(warehouse, mailbox_id, "degraded", exc.reason, actor="inbox_sync")
        return MailboxSync(mailbox_id, error=f"{type(exc).__name__} ({exc.reason})")
    current = get_mailbox(warehouse, mailbox_id)
    if current is not None and current.status == "degraded":  # only a sync error is cleared by a good sync
        set_status(warehouse, mailbox_id, "ok", "synced", actor="inbox_sync")
    return MailboxSync(mailbox_id, result=result)


def _no_client(mailbox_id: str) -> GmailClient:
    raise RuntimeError("due_now never sends")


def due_now(warehouse: Warehouse, *, now: datetime | None = None) -> tuple[int, datetime | None]:
    """How many steps are due now and when the next one falls due (what the send sensor asks; nothing sent)."""
    engine = SendEngine(warehouse, _no_client, lambda contact_id, campaign_id: "")
    due, later = engine.due(now)
    return len(due), later
