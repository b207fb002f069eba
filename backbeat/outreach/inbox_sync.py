"""Sync one mailbox's inbox into outreach outcomes and suppressions, from its stored Gmail `historyId`.

`sync_mailbox(warehouse, client, mailbox_id)` is what the per-mailbox Dagster sensor calls:

1. Read the checkpoint (`outreach.mailbox_checkpoints`). With one, ask `users.history.list` for the messages
   added since it. Without one, start from `getProfile`'s historyId; if the mailbox already sent campaign mail
   (the checkpoint was never stored), first list everything since its earliest send, so no reply is lost.
2. When history has expired (`HistoryExpired`, Gmail's 404 for an old start id) resync fully:
   `messages.list after:(last sync - margin)` with the history id taken from `getProfile` *before* the listing,
   so a message arriving during the resync is seen now or by the next history call. No retrying for ever.
3. For each added message that is not one of our own sends: `messages.get format=metadata`, and `format=raw`
   only for delivery or feedback reports (`classify.needs_raw`). Classify it (`classify.classify`) against what
   this mailbox sent (`outreach.send_attempts` sent events, with the prospect's address from
   `outreach.org_contacts` and the thread from `outreach.threads`).
4. Store, in one transaction: an `outreach.outcomes` row per signal about our sends (replied, bounced_hard,
   bounced_soft, auto_reply, unsubscribed, complained) whose id is a hash of the kind and the Gmail message id,
   so re-syncing the same history adds nothing; suppressions (hard bounce → `bounce`, unsubscribe →
   `unsubscribe`, complaint → `complaint`; through `suppression.suppress_in`, idempotent, audited); and the
   advanced checkpoint. The checkpoint therefore moves only when the outcomes are stored, and never backwards
   (history ids only grow; a slower concurrent sync cannot undo a faster one).

Unsubscribe emails carrying a token (`unsubscribe <token>` subject, or `unsubscribe+TOKEN@`) are honoured for
the contact the token names (`suppression.honour_unsubscribe`, its own idempotent transaction, before the main
one) when `unsubscribe_key` is given and the token is genuine and of this organisation; otherwise the sender's
address is suppressed. Signals that match none of our sends record no outcome, but a hard bounce, a complaint
or an unsubscribe still suppresses the address (it is dead, or the person asked).

Gmail errors other than `HistoryExpired` (AuthRequired, RateLimited, DailyLimitExceeded, GmailUnavailable)
propagate with nothing stored: the sensor reports them and the next tick starts from the same checkpoint.
A message deleted between the history call and its fetch (`MessageNotFound`) is skipped.
"""

from __future__ import annotations

import logging
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from backbeat.outreach.classify import OurSend, SentIndex, Signal, SignalKind, classify, needs_raw
from backbeat.outreach.clock import utcnow as _now
from backbeat.outreach.ids import outcome_id
from backbeat.outreach.store import insert_row
from backbeat.outreach.suppression import (
    honour_unsubscribe,
    record_activity,
    suppress_in,
)
from backbeat.outreach.tables import (
    ACTIVITY,
    MAILBOX_CHECKPOINTS,
    MAILBOXES,
    ORG_CONTACTS,
    OUTBOUND_MESSAGES,
    OUTCOMES,
    PROSPECTS,
    SEND_ATTEMPTS,
    SUPPRESSIONS,
    THREADS,
)
from backbeat.outreach.unsubscribe import TokenRefused, read_token
from integrations.gmail import HistoryExpired, HistoryPage, MessageMetadata, MessageNotFound
from integrations.warehouse import Warehouse, WarehouseConnection

log = logging.getLogger(__name__)

ACTOR = "inbox_sync"
RESYNC_MARGIN = timedelta(days=1)
"""How far before the last sync a full resync lists from: delivery delays and clock skew; re-reading is free of
duplicates, only a few quota units."""
FIRST_SYNC_LOOKBACK = timedelta(days=30)
"""A resync with no known last sync time lists this far back."""
SUPPRESSION_REASON = {
    SignalKind.BOUNCE_HARD: ("bounce", "dsn"),
    SignalKind.UNSUBSCRIBE: ("unsubscribe", "unsubscribe_email"),
    SignalKind.COMPLAINT: ("complaint", "feedback_report"),
}
"""Signals that suppress their addresses: (suppression reason, source)."""


class InboxClient(Protocol):
    """What the sync needs of `integrations.gmail.GmailClient` (one mailbox)."""

    units_spent: int

    def profile(self) -> tuple[str, str]: ...
    def history(self, start_history_id: str) -> HistoryPage: ...
    def list_since(self, after: datetime) -> list[str]: ...
    def metadata(self, message_id: str) -> MessageMetadata: ...
    def raw(self, message_id: str) -> bytes: ...


@dataclass(frozen=True)
class SyncResult:
    """What one sync of a mailbox did, for the sensor's log and metadata.

    `outcomes` counts the outcome rows this sync added, by kind (a re-sync of the same history adds none);
    `signals` counts every classified message by signal kind, irrelevant ones included.
    """

    mailbox_id: str
    messages_seen: int
    outcomes: dict[str, int]
    signals: dict[str, int]
    suppressions_added: int
    resynced: bool
    units_spent: int
    history_id: str
    skipped: int  # our own sends (known by Gmail id, not fetched) and messages deleted before the fetch
    synced_at: datetime

    def as_metadata(self) -> dict[str, object]:
        """Flat figures for a Dagster run or sensor tick (`outcomes_replied`, `resynced`, `units_spent`, ...)."""
        figures: dict[str, object] = {
            "mailbox": self.mailbox_id,
            "messages_seen": self.messages_seen,
            "skipped": self.skipped,
            "suppressions_added": self.suppressions_added,
            "resynced": self.resynced,
            "units_spent": self.units_spent,
            "history_id": self.history_id,
        }
        figures.update({f"outcomes_{kind}": n for kind, n in self.outcomes.items()})
        return figures


@dataclass(frozen=True)
class _Checkpoint:
    history_id: str | None
    last_synced_at: datetime | None
    last_message_at: datetime | None
    last_full_sync_at: datetime | None


@dataclass(frozen=True)
class _SendRow:
    key: str
    campaign_id: str
    prospect_id: str
    contact_id: str | None
    step_no: int


@dataclass
class _Pending:
    """What a sync has read and classified, waiting to be stored."""

    outcomes: list[dict[str, Any]] = field(default_factory=list)
    suppressions: list[tuple[str, str, str, str | None, datetime]] = field(default_factory=list)
    honoured: Counter[str] = field(default_factory=Counter)
    signals: Counter[str] = field(default_factory=Counter)
    last_message_at: datetime | None = None


def _history_number(history_id: str | None) -> int:
    try:
        return int(history_id) if history_id else -1
    except ValueError:
        return -1


_ENSURED: weakref.WeakSet[Warehouse] = weakref.WeakSet()
"""Warehouses whose sync tables this process has ensured: a sync (a sensor tick per mailbox) ensures once."""


def _ensure(warehouse: Warehouse) -> None:
    if warehouse in _ENSURED:
        return
    warehouse.ensure(
        MAILBOXES,
        ORG_CONTACTS,
        PROSPECTS,
        THREADS,
        OUTBOUND_MESSAGES,
        SEND_ATTEMPTS,
        OUTCOMES,
        SUPPRESSIONS,
        ACTIVITY,
        MAILBOX_CHECKPOINTS,
    )
    _ENSURED.add(warehouse)


def _org_and_address(conn: WarehouseConnection, mailbox_id: str) -> tuple[str, str]:
    rows = conn.query(
        f"SELECT org_id, address FROM {MAILBOXES.qualified_name} WHERE mailbox_id = ?", [mailbox_id.lower()]
    )
    if not rows.height:
        raise LookupError(f"mailbox {mailbox_id!r} is not in {MAILBOXES.qualified_name}")
    org_id, address = rows.row(0)
    return org_id, (address or mailbox_id).lower()


def _read_checkpoint(conn: WarehouseConnection, mailbox_id: str) -> _Checkpoint:
    rows = conn.query(
        "SELECT history_id, last_synced_at, last_message_at, last_full_sync_at "
        f"FROM {MAILBOX_CHECKPOINTS.qualified_name} WHERE mailbox_id = ?",
        [mailbox_id],
    )
    return _Checkpoint(*rows.row(0)) if rows.height else _Checkpoint(None, None, None, None)


def load_sends(conn: WarehouseConnection, mailbox_id: str) -> tuple[list[OurSend], dict[str, _SendRow], set[str]]:
    """What `mailbox_id` sent: (classification index entries, key → prospect facts, our Gmail message ids)."""
    rows = conn.query(
        "SELECT a.idempotency_key, a.campaign_id, a.prospect_id, a.step_no, "
        "coalesce(a.message_id, o.message_id) AS message_id, a.gmail_message_id, "
        "coalesce(a.gmail_thread_id, t.gmail_thread_id) AS thread_id, a.occurred_at, p.contact_id, c.email "
        f"FROM {SEND_ATTEMPTS.qualified_name} a "
        f"LEFT JOIN {OUTBOUND_MESSAGES.qualified_name} o ON o.idempotency_key = a.idempotency_key "
        f"LEFT JOIN {PROSPECTS.qualified_name} p ON p.prospect_id = a.prospect_id "
        f"LEFT JOIN {ORG_CONTACTS.qualified_name} c ON c.org_id = a.org_id AND c.contact_id = p.contact_id "
        f"LEFT JOIN {THREADS.qualified_name} t ON t.prospect_id = a.prospect_id AND t.mailbox_id = a.mailbox_id "
        "WHERE a.mailbox_id = ? AND a.event = 'sent' ORDER BY a.occurred_at",
        [mailbox_id],
    )
    sends: list[OurSend] = []
    facts: dict[str, _SendRow] = {}
    gmail_ids: set[str] = set()
    for row in rows.iter_rows(named=True):
        if row["gmail_message_id"]:
            gmail_ids.add(row["gmail_message_id"])
        if row["idempotency_key"] in facts or not row["message_id"]:
            continue
        facts[row["idempotency_key"]] = _SendRow(
            row["idempotency_key"], row["campaign_id"], row["prospect_id"], row["contact_id"], row["step_no"]
        )
        sends.append(
            OurSend(
                rfc822_id=row["message_id"],
                thread_id=row["thread_id"],
                recipient=(row["email"] or "").lower(),
                ref=row["idempotency_key"],
                sent_at=row["occurred_at"],
            )
        )
    return sends, facts, gmail_ids


def _detail(signal: Signal) -> str:
    parts = [signal.note]
    if signal.status:
        parts.append(f"status {signal.status}")
    if signal.diagnostic:
        parts.append(signal.diagnostic[:300])
    if signal.matched_by:
        parts.append(f"matched by {signal.matched_by}")
    return "; ".join(parts)


def _outcome_row(
    signal: Signal, *, org_id: str, mailbox_id: str, send: _SendRow | None, email: str | None, now: datetime
) -> dict[str, Any]:
    kind = signal.outcome
    assert kind is not None
    return {
        "outcome_id": outcome_id(kind, f"gmail:{mailbox_id}:{signal.gmail_id}"),
        "org_id": org_id,
        "kind": kind,
        "campaign_id": send.campaign_id if send else None,
        "prospect_id": send.prospect_id if send else None,
        "contact_id": send.contact_id if send else None,
        "email": email,
        "mailbox_id": mailbox_id,
        "step_no": send.step_no if send else None,
        "gmail_message_id": signal.gmail_id,
        "gmail_thread_id": signal.thread_id,
        "detail": _detail(signal),
        "occurred_at": signal.at,
        "recorded_at": now,
    }


def _honour_token(
    warehouse: Warehouse, signal: Signal, org_id: str, key: str | bytes | None, pending: _Pending
) -> bool:
    """Honour an unsubscribe email by its token; False when there is no usable token (fall back to the sender)."""
    if not signal.token or key is None:
        return False
    try:
        claim = read_token(key, signal.token, now=signal.at)
    except TokenRefused as refused:
        log.info("unsubscribe email %s: token refused (%s); suppressing the sender", signal.gmail_id, refused.reason)
        return False
    if claim.org_id != org_id:
        log.info("unsubscribe email %s: token of another organisation; suppressing the sender", signal.gmail_id)
        return False
    result = honour_unsubscribe(
        warehouse, org_id, claim.contact_id, claim.campaign_id, source="unsubscribe_email", actor=ACTOR, at=signal.at
    )
    if not result.known:
        return False
    if result.newly_suppressed:
        pending.honoured["unsubscribed"] += 1
    return True


def _collect(
    signal: Signal,
    pending: _Pending,
    *,
    warehouse: Warehouse,
    org_id: str,
    mailbox_id: str,
    facts: dict[str, _SendRow],
    unsubscribe_key: str | bytes | None,
    now: datetime,
) -> None:
    pending.signals[signal.kind.value] += 1
    if signal.outcome is None:
        return
    if signal.kind is SignalKind.UNSUBSCRIBE and _honour_token(warehouse, signal, org_id, unsubscribe_key, pending):
        return
    send = facts.get(signal.send.ref) if signal.send else None
    email: str | None
    if signal.kind in (SignalKind.REPLY, SignalKind.AUTO_REPLY):
        email = signal.send.recipient if signal.send else signal.sender
    else:
        email = signal.addresses[0] if signal.addresses else (signal.send.recipient if signal.send else None)
    if send is not None or signal.kind in (SignalKind.UNSUBSCRIBE, SignalKind.COMPLAINT):
        pending.outcomes.append(
            _outcome_row(signal, org_id=org_id, mailbox_id=mailbox_id, send=send, email=email or None, now=now)
        )
    if signal.kind in SUPPRESSION_REASON:
        reason, source = SUPPRESSION_REASON[signal.kind]
        campaign = send.campaign_id if send else None
        for address in signal.addresses:
            pending.suppressions.append((address, reason, source, campaign, signal.at))


def _store(
    warehouse: Warehouse,
    *,
    org_id: str,
    mailbox_id: str,
    pending: _Pending,
    history_id: str,
    previous: _Checkpoint,
    resynced: bool,
    now: datetime,
) -> tuple[Counter[str], int]:
    """Outcomes, suppressions and the checkpoint in one transaction: (new outcomes by kind, new suppressions)."""
    with warehouse.connect() as conn:
        new_outcomes = _insert_outcomes(conn, pending.outcomes)
        added = 0
        for address, reason, source, campaign, at in pending.suppressions:
            try:
                added += suppress_in(
                    conn, org_id, address, reason, source=source, actor=ACTOR, campaign_id=campaign, at=at
                )
            except ValueError:
                log.warning("%s: not suppressing unparseable address from a %s signal", mailbox_id, reason)
        if resynced:
            record_activity(
                conn,
                org_id,
                actor=ACTOR,
                action="resync",
                subject_type="mailbox",
                subject_id=mailbox_id,
                detail={"from_history_id": previous.history_id, "to_history_id": history_id},
                at=now,
            )
        _advance_checkpoint(conn, org_id, mailbox_id, history_id, pending.last_message_at, resynced, now)
    return new_outcomes + pending.honoured, added


def _insert_outcomes(conn: WarehouseConnection, rows: list[dict[str, Any]]) -> Counter[str]:
    if not rows:
        return Counter()
    unique = {row["outcome_id"]: row for row in rows}
    ids = list(unique)
    existing = set(
        conn.query(
            f"SELECT outcome_id FROM {OUTCOMES.qualified_name} WHERE outcome_id IN ({', '.join('?' * len(ids))})",
            ids,
        )["outcome_id"].to_list()
    )
    fresh = [row for oid, row in unique.items() if oid not in existing]
    for row in fresh:
        insert_row(conn, OUTCOMES, row, ignore_conflict=True)
    return Counter(row["kind"] for row in fresh)


def _advance_checkpoint(
    conn: WarehouseConnection,
    org_id: str,
    mailbox_id: str,
    history_id: str,
    last_message_at: datetime | None,
    resynced: bool,
    now: datetime,
) -> None:
    current = _read_checkpoint(conn, mailbox_id)
    if _history_number(current.history_id) > _history_number(history_id):
        history_id = current.history_id or history_id  # a concurrent sync got further: never move back
    newest = max((t for t in (current.last_message_at, last_message_at) if t is not None), default=None)
    conn.execute(f"DELETE FROM {MAILBOX_CHECKPOINTS.qualified_name} WHERE mailbox_id = ?", [mailbox_id])
    insert_row(
        conn,
        MAILBOX_CHECKPOINTS,
        {
            "mailbox_id": mailbox_id,
            "org_id": org_id,
            "history_id": history_id,
            "last_synced_at": now,
            "last_message_at": newest,
            "last_full_sync_at": now if resynced else current.last_full_sync_at,
        },
        ignore_conflict=True,
    )


def _added_messages(
    client: InboxClient, checkpoint: _Checkpoint, sends: Sequence[OurSend], *, margin: timedelta, now: datetime
) -> tuple[list[str], str, bool]:
    """(message ids to look at, history id to store after them, whether this was a full resync)."""
    if checkpoint.history_id:
        try:
            page = client.history(checkpoint.history_id)
            return page.added_message_ids, page.history_id, False
        except HistoryExpired:
            since = (checkpoint.last_synced_at or now - FIRST_SYNC_LOOKBACK) - margin
            log.warning("history %s expired; full resync since %s", checkpoint.history_id, since)
    else:
        sent_times = [s.sent_at for s in sends if s.sent_at is not None]
        if not sent_times:
            return [], client.profile()[1], False
        since = min(sent_times) - margin
    history_id = client.profile()[1]  # before the listing: what arrives meanwhile comes with the next history
    ids = client.list_since(since)
    return list(reversed(ids)), history_id, True  # oldest first, as history gives them


def sync_mailbox(
    warehouse: Warehouse,
    client: InboxClient,
    mailbox_id: str,
    *,
    unsubscribe_key: str | bytes | None = None,
    resync_margin: timedelta = RESYNC_MARGIN,
    now: datetime | None = None,
) -> SyncResult:
    """Sync `mailbox_id` (its row in `outreach.mailboxes` names the organisation) through `client`.

    `unsubscribe_key` verifies tokens in unsubscribe emails (`backbeat.outreach.unsubscribe`); `now` (naive UTC)
    is the sync time recorded on the checkpoint and the outcomes.
    """
    mailbox_id = mailbox_id.lower()
    now = now or _now()
    units_before = client.units_spent
    _ensure(warehouse)
    with warehouse.connect() as conn:
        org_id, address = _org_and_address(conn, mailbox_id)
        checkpoint = _read_checkpoint(conn, mailbox_id)
        sends, facts, own_gmail_ids = load_sends(conn, mailbox_id)
    index = SentIndex(address, sends)

    message_ids, history_id, resynced = _added_messages(client, checkpoint, sends, margin=resync_margin, now=now)
    pending = _Pending()
    seen = skipped = 0
    for gmail_id in message_ids:
        if gmail_id in own_gmail_ids:
            skipped += 1
            continue
        try:
            meta = client.metadata(gmail_id)
            raw = client.raw(gmail_id) if needs_raw(meta) else None
        except MessageNotFound:
            skipped += 1
            continue
        seen += 1
        if pending.last_message_at is None or meta.internal_date > pending.last_message_at:
            pending.last_message_at = meta.internal_date
        signal = classify(meta, index, raw)
        _collect(
            signal,
            pending,
            warehouse=warehouse,
            org_id=org_id,
            mailbox_id=mailbox_id,
            facts=facts,
            unsubscribe_key=unsubscribe_key,
            now=now,
        )

    new_outcomes, suppressions_added = _store(
        warehouse,
        org_id=org_id,
        mailbox_id=mailbox_id,
        pending=pending,
        history_id=history_id,
        previous=checkpoint,
        resynced=resynced,
        now=now,
    )
    return SyncResult(
        mailbox_id=mailbox_id,
        messages_seen=seen,
        outcomes=dict(sorted(new_outcomes.items())),
        signals=dict(sorted(pending.signals.items())),
        suppressions_added=suppressions_added,
        resynced=resynced,
        units_spent=client.units_spent - units_before,
        history_id=history_id,
        skipped=skipped,
        synced_at=now,
    )
