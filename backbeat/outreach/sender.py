"""The send engine: every due sequence step goes out exactly once, to the right person, within every limit.

A pass (`SendEngine.run_pass`) lists the due steps (`due`), then for each one:

1. **claims** it in one transaction (serialised per organisation with an advisory lock on PostgreSQL; DuckDB
   admits one writer at a time): the stop rules (`stops.stop_reason`), the key's earlier attempts, the pacing
   verdict (`pacing.check` over usage counted from `send_attempts`), the content, then the message row (first
   claim only) and an `intent` event for attempt n with a lease. The primary key (key, attempt, event) lets
   exactly one of two racing runs insert it; the loser skips the step. The content is an approved generated
   draft (`generation.approved_body_for`; a draft still awaiting a person defers the step,
   `draft_not_approved`), else the step's template composed for the prospect (`compose.compose`: sandboxed
   Jinja2, `$name` rows converted by `template_from_row`, a missing variable is an error, then the checks). A
   template that cannot make a sendable message for this prospect (`COMPOSE_REFUSALS`) refuses it: nothing is
   claimed or sent, the prospect becomes `failed` with the reason, the activity log says why, the others go on;
2. if an earlier attempt of the key has no result (a run died after its claim, or Gmail's answer was lost),
   **looks the Message-ID up** in the mailbox (`find_rfc822`): found → recorded as sent (`recovered`), nothing
   is sent; not found → the stop rules are read once more and the message is sent;
3. **sends** it (`GmailClient.send`, with the thread id for follow-ups) and **records** the result: `sent`
   (plus the thread, the prospect's completion and an activity event), `released` when nothing went out (429
   after the client's waits: the mailbox waits Retry-After; 403 dailyLimitExceeded: the mailbox is paused;
   `AuthRequired`: the mailbox becomes `auth_required` and an alert is logged; a connection never made),
   `failed` when Gmail refused the message (the prospect is marked `failed`); a draft that went out becomes
   `sent`. `SendOutcomeUnknown` → the same lookup at once; not found → the claim stays open until its lease
   expires and a later pass looks again.

A live claim (lease not expired) is never touched by another run, so a slow send is never "recovered" twice; the
lease (1 h by default) must exceed the longest send (the client's timeout and Retry-After waits), and a crash
delays its key by up to the lease. Gmail's search index may lag a send by seconds: the lookup after a lease
relies on it; the lookup right after `SendOutcomeUnknown` settles the usual case (a 5xx after storing) and
otherwise leaves the claim open. `checkpoint(point, claim)` is called at `after_intent`, `after_gmail` and
`after_record`: tests (and the bench) kill the process there.

Figures for the UI come from `mailbox_figures`.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import polars as pl

from backbeat.outreach import pacing, stops
from backbeat.outreach.clock import utcnow
from backbeat.outreach.compose import (
    CheckFailed,
    ComposeError,
    MissingVariable,
    UnsafeTemplate,
    compose,
    engine_context,
    template_from_row,
)
from backbeat.outreach.generation import DraftNotApproved, approved_body_for, mark_draft_sent
from backbeat.outreach.ids import domain_of, idempotency_key, message_id
from backbeat.outreach.mailboxes import mark_auth_required
from backbeat.outreach.messages import OutboundEmail, UnsubscribeUrl, build_message, follow_up_subject
from backbeat.outreach.pacing import PacingConfig, SendWindow
from backbeat.outreach.prospecting_tables import DRAFTS
from backbeat.outreach.retention import keep_body_in
from backbeat.outreach.store import insert_row, log_activity
from backbeat.outreach.tables import (
    OUTBOUND_MESSAGES,
    OUTREACH_TABLES,
    SEND_ATTEMPTS,
    THREADS,
)
from integrations.gmail.client import SentMessage
from integrations.gmail.errors import (
    AuthRequired,
    DailyLimitExceeded,
    GmailError,
    GmailUnavailable,
    MessageRejected,
    RateLimited,
    SendOutcomeUnknown,
)
from integrations.warehouse import Warehouse, WarehouseConnection

CHECKPOINTS = ("after_intent", "after_gmail", "after_record")
COMPOSE_REFUSALS: tuple[tuple[type[ComposeError], str], ...] = (
    (MissingVariable, "missing_variable"),
    (CheckFailed, "check_failed"),
    (UnsafeTemplate, "unsafe_template"),
)
"""Template errors that refuse one prospect's send (the prospect becomes `failed`), and the reason recorded."""
RESULTS = ("sent", "released", "failed")
MIN_SLEEP_S = 0.05


class GmailSender(Protocol):
    """What the engine needs from `integrations.gmail.GmailClient`."""

    def send(self, raw: bytes, thread_id: str | None = None) -> SentMessage: ...

    def find_rfc822(self, message_id: str) -> SentMessage | None: ...


ClientFor = Callable[[str], GmailSender]
"""mailbox_id -> its Gmail client (built by the caller from the token store; may raise AuthRequired)."""


@dataclass(frozen=True)
class SenderConfig:
    """How the engine paces and claims."""

    pacing: PacingConfig = PacingConfig()
    # Longer than the longest `GmailClient.send` can take (its timeout plus every Retry-After wait its policy
    # allows): a claim whose lease ran out while its run still waits inside `send` could be taken over.
    lease: timedelta = timedelta(hours=1)
    max_sends_per_pass: int | None = None


@dataclass(frozen=True)
class DueSend:
    """One step due for one prospect now."""

    org_id: str
    campaign_id: str
    prospect_id: str
    contact_id: str
    mailbox_id: str
    step_no: int
    last_step: bool
    due_at: datetime
    window: SendWindow

    @property
    def key(self) -> str:
        return idempotency_key(self.mailbox_id, self.campaign_id, self.prospect_id, self.step_no)


@dataclass(frozen=True)
class Claim:
    """A claimed attempt: the engine holds the key until `lease_until` or until it records a result."""

    due: DueSend
    key: str
    attempt_no: int
    message: OutboundEmail
    recipient: str
    thread_id: str | None
    lookup_first: bool
    lease_until: datetime
    draft_id: str | None = None  # the approved generated draft this claim sends, if any


@dataclass(frozen=True)
class _Refused:
    """A claim not taken: a stop reason (`stop`), or a wait (`defer`) until `not_before` for `scope`."""

    kind: str  # stop, defer, done
    reason: str
    scope: str | None = None
    not_before: datetime | None = None


@dataclass(frozen=True)
class _Content:
    """What one step sends to one prospect: subject and body (the unsubscribe URL filled in), and their source."""

    subject: str
    body: str
    unsubscribe_url: str
    template_id: str
    template_version: int
    draft_id: str | None
    sender: str
    sender_name: str | None


@dataclass
class PassReport:
    """What a pass (or a whole run) did."""

    sent: int = 0
    recovered: int = 0
    unknown: int = 0
    failed: int = 0
    released: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    deferred: Counter[str] = field(default_factory=Counter)
    next_wake: datetime | None = None
    passes: int = 1

    def add(self, other: PassReport) -> None:
        self.sent += other.sent
        self.recovered += other.recovered
        self.unknown += other.unknown
        self.failed += other.failed
        self.released.update(other.released)
        self.skipped.update(other.skipped)
        self.deferred.update(other.deferred)
        self.next_wake = other.next_wake
        self.passes += other.passes

    def wake(self, at: datetime | None) -> None:
        if at is not None and (self.next_wake is None or at < self.next_wake):
            self.next_wake = at


def _lock_id(org_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"outreach-send:{org_id}".encode()).digest()[:8], "big", signed=True)


def _is_duplicate_key(exc: BaseException) -> bool:
    """A primary-key violation from DuckDB or PostgreSQL: another run inserted the same claim first."""
    name = type(exc).__name__
    text = str(exc).lower()
    return name in ("ConstraintException", "UniqueViolation", "IntegrityError") or (
        "duplicate key" in text and ("constraint" in text or "primary key" in text)
    )


@dataclass(frozen=True)
class AttemptState:
    """What the earlier attempts of one step say: done, in flight until a time, or the next attempt's number."""

    done: bool
    in_flight_until: datetime | None
    next_attempt: int
    lookup_first: bool
    other_mailbox: bool


def attempt_state(rows: list[dict[str, Any]], key: str, now: datetime) -> AttemptState:
    """Fold the send_attempts rows of one (campaign, prospect, step) into an `AttemptState`."""
    results: dict[tuple[str, int], set[str]] = {}
    intents: dict[tuple[str, int], datetime] = {}
    for r in rows:
        attempt = (r["idempotency_key"], r["attempt_no"])
        if r["event"] == "intent":
            intents[attempt] = r["lease_until"]
        results.setdefault(attempt, set()).add(r["event"])
    done = any(events & {"sent", "failed"} for events in results.values())
    open_claims = {a: lease for a, lease in intents.items() if not results[a] & set(RESULTS)}
    live = [lease for lease in open_claims.values() if lease > now]
    other = any(k != key for (k, _), events in results.items() if events - {"released"})
    mine = [n for (k, n) in results if k == key]
    return AttemptState(
        done=done,
        in_flight_until=max(live) if live else None,
        next_attempt=max(mine, default=0) + 1,
        lookup_first=any(k == key for (k, _) in open_claims),
        other_mailbox=other,
    )


class SendEngine:
    """Sends the due steps of active campaigns through each mailbox's Gmail client; see the module docstring."""

    def __init__(
        self,
        warehouse: Warehouse,
        client_for: ClientFor,
        unsubscribe_url: UnsubscribeUrl,
        *,
        config: SenderConfig = SenderConfig(),
        clock: Callable[[], datetime] = utcnow,
        run_id: str | None = None,
        checkpoint: Callable[[str, Claim], None] | None = None,
        actor: str = "sender",
    ) -> None:
        self.warehouse = warehouse
        self.client_for = client_for
        self.unsubscribe_url = unsubscribe_url
        self.config = config
        self.clock = clock
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.checkpoint = checkpoint or (lambda point, claim: None)
        self.actor = actor
        self._clients: dict[str, GmailSender] = {}
        warehouse.ensure(*OUTREACH_TABLES, DRAFTS)

    # -- what is due -----------------------------------------------------------------------------------

    def due(self, now: datetime | None = None) -> tuple[list[DueSend], datetime | None]:
        """The steps due at `now` (oldest first) and the earliest time a later step or a live claim falls due."""
        now = now or self.clock()
        with self.warehouse.connect() as conn:
            prospects = conn.query(
                "SELECT p.prospect_id, p.org_id, p.campaign_id, p.contact_id, p.mailbox_id, p.enrolled_at "
                "FROM outreach.prospects p JOIN outreach.campaigns k ON k.campaign_id = p.campaign_id "
                "WHERE p.status = 'active' AND k.status = 'active' ORDER BY p.prospect_id"
            )
            steps = conn.query(
                "SELECT s.campaign_id, s.step_no, s.delay_hours, s.window_start_minute, s.window_end_minute, "
                "s.window_days, s.window_tz FROM outreach.sequence_steps s "
                "JOIN outreach.campaigns k ON k.campaign_id = s.campaign_id WHERE k.status = 'active' "
                "ORDER BY s.campaign_id, s.step_no"
            )
            attempts = conn.query(
                "SELECT a.campaign_id, a.prospect_id, a.step_no, "
                "max(CASE WHEN a.event = 'sent' THEN a.occurred_at END) AS sent_at, "
                "max(CASE WHEN a.event = 'failed' THEN 1 ELSE 0 END) AS failed, "
                "max(CASE WHEN a.event = 'intent' AND r.idempotency_key IS NULL THEN a.lease_until END) AS lease "
                "FROM outreach.send_attempts a LEFT JOIN (SELECT DISTINCT idempotency_key, attempt_no "
                "FROM outreach.send_attempts WHERE event IN ('sent', 'released', 'failed')) r "
                "ON a.event = 'intent' AND r.idempotency_key = a.idempotency_key AND r.attempt_no = a.attempt_no "
                "WHERE a.prospect_id IN (SELECT prospect_id FROM outreach.prospects WHERE status = 'active') "
                "GROUP BY a.campaign_id, a.prospect_id, a.step_no"
            )
        by_campaign: dict[str, list[dict[str, Any]]] = {}
        for s in steps.iter_rows(named=True):
            by_campaign.setdefault(s["campaign_id"], []).append(s)
        done = {(a["prospect_id"], a["step_no"]): a for a in attempts.iter_rows(named=True)}
        due: list[DueSend] = []
        next_wake: datetime | None = None
        for p in prospects.iter_rows(named=True):
            sequence = by_campaign.get(p["campaign_id"], [])
            base = p["enrolled_at"] or now
            for i, step in enumerate(sequence):
                seen = done.get((p["prospect_id"], step["step_no"]))
                if seen is not None and (seen["sent_at"] is not None or seen["failed"]):
                    base = seen["sent_at"] or base
                    continue
                window = _window(step)
                at = window.next_open(base + timedelta(hours=step["delay_hours"]))
                lease = seen["lease"] if seen is not None else None
                if lease is not None and lease > now:
                    at = max(at, lease)
                if at <= now:
                    due.append(
                        DueSend(
                            org_id=p["org_id"],
                            campaign_id=p["campaign_id"],
                            prospect_id=p["prospect_id"],
                            contact_id=p["contact_id"],
                            mailbox_id=p["mailbox_id"],
                            step_no=step["step_no"],
                            last_step=i == len(sequence) - 1,
                            due_at=at,
                            window=window,
                        )
                    )
                elif next_wake is None or at < next_wake:
                    next_wake = at
                break
        due.sort(key=lambda d: (d.due_at, d.step_no, d.prospect_id))
        return due, next_wake

    # -- passes ----------------------------------------------------------------------------------------

    def run_pass(self) -> PassReport:
        """Send every due step the limits allow now; `next_wake` says when another pass has work."""
        report = PassReport()
        due, later = self.due()
        report.wake(later)
        blocked: dict[tuple[str, ...], datetime] = {}
        for item in due:
            if self.config.max_sends_per_pass is not None and report.sent >= self.config.max_sends_per_pass:
                report.deferred["pass_limit"] += 1
                report.wake(self.clock())
                continue
            now = self.clock()
            scopes = _scopes(item)
            wait = max((blocked[s] for s in scopes.values() if s in blocked and blocked[s] > now), default=None)
            if wait is not None:
                report.deferred["blocked"] += 1
                report.wake(wait)
                continue
            outcome = self._one(item, report)
            if isinstance(outcome, _Refused) and outcome.kind == "defer":
                report.deferred[outcome.reason] += 1
                if outcome.not_before is not None:
                    report.wake(outcome.not_before)
                    if outcome.scope in scopes:
                        blocked[scopes[outcome.scope]] = outcome.not_before
            elif isinstance(outcome, _Refused) and outcome.kind == "stop":
                report.skipped[outcome.reason] += 1
                if outcome.reason in ("mailbox_auth_required", "mailbox_paused", "mailbox_unknown"):
                    blocked[scopes["mailbox"]] = now + timedelta(days=365)
        if report.sent or report.recovered:
            report.wake(self.clock())  # a follow-up with no delay may be due already
        return report

    def run(
        self, until: datetime, *, sleep: Callable[[float], object] = time.sleep, max_passes: int | None = None
    ) -> PassReport:
        """Passes until nothing more is due before `until` (naive UTC), sleeping between them."""
        total = self.run_pass()
        while max_passes is None or total.passes < max_passes:
            now = self.clock()
            wake = total.next_wake
            if wake is None or wake > until or now >= until:
                break
            sleep(max((wake - now).total_seconds(), MIN_SLEEP_S))
            total.add(self.run_pass())
        return total

    # -- one step --------------------------------------------------------------------------------------

    def _one(self, item: DueSend, report: PassReport) -> _Refused | Claim:
        try:
            claimed = self._claim(item)
        except Exception as exc:
            if _is_duplicate_key(exc):
                return _Refused("defer", "lost_race")
            raise
        if isinstance(claimed, _Refused):
            return claimed
        claim = claimed
        self.checkpoint("after_intent", claim)
        try:
            client = self._client(item.mailbox_id)
            if claim.lookup_first:
                found = client.find_rfc822(claim.message.message_id)
                if found is not None:
                    self._record_sent(claim, found, recovered=True)
                    report.recovered += 1
                    return claim
                with self.warehouse.connect() as conn:
                    reason = stops.stop_reason(conn, item.prospect_id, item.mailbox_id, self.clock())
                    if reason is not None:
                        self._release(conn, claim, None, "stopped")
                        self._stop(conn, item, reason)
                        return _Refused("stop", reason)
            try:
                sent = client.send(claim.message.raw, claim.thread_id)
            except SendOutcomeUnknown as exc:
                return self._unknown(client, claim, exc, report)
            self.checkpoint("after_gmail", claim)
            self._record_sent(claim, sent, recovered=False)
            report.sent += 1
            self.checkpoint("after_record", claim)
            return claim
        except RateLimited as exc:
            wait = self.clock() + timedelta(seconds=max(exc.retry_after, 1.0))
            self._released(claim, exc, "rate_limited", report)
            return _Refused("defer", "rate_limited", "mailbox", wait)
        except DailyLimitExceeded as exc:
            pause = timedelta(seconds=exc.retry_after) if exc.retry_after else self.config.pacing.daily_limit_pause
            until = self.clock() + pause
            self._released(claim, exc, "daily_limit", report, pause_until=until)
            return _Refused("defer", "daily_limit", "mailbox", until)
        except AuthRequired as exc:
            self._released(claim, exc, "auth_required", report, auth_required=True)
            return _Refused("defer", "auth_required", "mailbox", self.clock() + timedelta(days=365))
        except MessageRejected as exc:
            self._failed(claim, exc)
            report.failed += 1
            return _Refused("done", "rejected")
        except GmailUnavailable as exc:
            # A read (the lookup) failed, or the send's connection was never made: nothing went out.
            self._released(claim, exc, "unavailable", report)
            return _Refused("defer", "unavailable", "mailbox", self.clock() + timedelta(seconds=max(exc.retry_in, 30)))

    def _client(self, mailbox_id: str) -> GmailSender:
        if mailbox_id not in self._clients:
            self._clients[mailbox_id] = self.client_for(mailbox_id)
        return self._clients[mailbox_id]

    def _claim(self, item: DueSend) -> Claim | _Refused:
        """Stops, earlier attempts, pacing, then the intent row: one transaction."""
        with self.warehouse.connect() as conn:
            if conn.kind == "postgres":
                conn.execute("SELECT pg_advisory_xact_lock(?)", [_lock_id(item.org_id)])
            now = self.clock()
            reason = stops.stop_reason(conn, item.prospect_id, item.mailbox_id, now)
            if reason is not None:
                self._stop(conn, item, reason)
                return _Refused("stop", reason)
            key = item.key
            rows = conn.query(
                "SELECT idempotency_key, attempt_no, event, lease_until FROM outreach.send_attempts "
                "WHERE campaign_id = ? AND prospect_id = ? AND step_no = ?",
                [item.campaign_id, item.prospect_id, item.step_no],
            ).to_dicts()
            state = attempt_state(rows, key, now)
            if state.done:
                return _Refused("done", "already_sent")
            if state.in_flight_until is not None:
                return _Refused("defer", "in_flight", None, state.in_flight_until)
            if state.other_mailbox:
                return _Refused("defer", "other_mailbox_attempt")
            contact = conn.query(
                "SELECT email, name, company FROM outreach.org_contacts WHERE org_id = ? AND contact_id = ?",
                [item.org_id, item.contact_id],
            ).row(0, named=True)
            recipient_domain = domain_of(contact["email"])
            verdict = pacing.check(
                self._limits(conn, item), load_usage(conn, item, recipient_domain, now), now, pacing.SEND_UNITS
            )
            if not verdict.allowed:
                return _Refused("defer", verdict.reason or "paced", verdict.scope, verdict.not_before)
            content = self._content(conn, item, contact, now)
            if isinstance(content, _Refused):
                return content
            message, thread_id = self._message(conn, item, contact, content, now)
            lease_until = now + self.config.lease
            if state.next_attempt == 1 and not state.lookup_first:
                insert_row(
                    conn,
                    OUTBOUND_MESSAGES,
                    {
                        "idempotency_key": key,
                        "org_id": item.org_id,
                        "mailbox_id": item.mailbox_id,
                        "campaign_id": item.campaign_id,
                        "prospect_id": item.prospect_id,
                        "step_no": item.step_no,
                        "message_id": message.message_id,
                        "subject": message.subject,
                        "template_id": content.template_id,
                        "template_version": content.template_version,
                        "body_sha256": message.body_sha256,
                        "in_reply_to": message.in_reply_to,
                        "rendered_at": now,
                    },
                    ignore_conflict=True,
                )
            insert_row(
                conn,
                SEND_ATTEMPTS,
                {
                    **self._event_base(item, key, state.next_attempt, "intent", now),
                    "recipient_domain": recipient_domain,
                    "message_id": message.message_id,
                    "lease_until": lease_until,
                },
            )
            # Kept only under the organisation's retention policy (the body as composed, as hashed above).
            keep_body_in(conn, item.org_id, message.message_id, "outbound", content.body, now=now)
            return Claim(
                due=item,
                key=key,
                attempt_no=state.next_attempt,
                message=message,
                recipient=contact["email"],
                thread_id=thread_id,
                lookup_first=state.lookup_first,
                lease_until=lease_until,
                draft_id=content.draft_id,
            )

    def _limits(self, conn: WarehouseConnection, item: DueSend) -> pacing.Limits:
        row = conn.query(
            "SELECT m.created_on, m.daily_cap, m.paused_until, o.daily_cap AS org_cap, o.domain_daily_cap "
            "FROM outreach.mailboxes m LEFT JOIN outreach.organisations o ON o.org_id = ? WHERE m.mailbox_id = ?",
            [item.org_id, item.mailbox_id],
        ).row(0, named=True)
        cfg = self.config.pacing
        return pacing.Limits(
            mailbox_cap=pacing.mailbox_daily_cap(row["created_on"], row["daily_cap"], self.clock().date(), cfg),
            org_cap=row["org_cap"],
            domain_cap=cfg.domain_daily_cap if cfg.domain_daily_cap is not None else row["domain_daily_cap"],
            paused_until=row["paused_until"],
            window=item.window,
            spread=cfg.spread,
            quota_units_per_minute=cfg.quota_units_per_minute,
        )

    def _content(
        self, conn: WarehouseConnection, item: DueSend, contact: dict[str, Any], now: datetime
    ) -> _Content | _Refused:
        """What the step sends to this prospect: an approved generated draft, else the step's template composed
        for the prospect. A draft awaiting a person defers the send; a template that cannot make a sendable
        message for this prospect refuses it (`COMPOSE_REFUSALS`, recorded by `_refuse`)."""
        url = self.unsubscribe_url(item.contact_id, item.campaign_id)
        parts = conn.query(
            "SELECT s.template_id, s.template_version, k.name AS campaign_name, k.track_title, m.address, "
            "m.display_name FROM outreach.sequence_steps s JOIN outreach.campaigns k ON k.campaign_id = s.campaign_id "
            "JOIN outreach.mailboxes m ON m.mailbox_id = ? WHERE s.campaign_id = ? AND s.step_no = ?",
            [item.mailbox_id, item.campaign_id, item.step_no],
        ).row(0, named=True)
        sender = parts["address"] or item.mailbox_id
        template_id, version = parts["template_id"], int(parts["template_version"])
        try:
            draft = approved_body_for(
                conn,
                campaign_id=item.campaign_id,
                step_no=item.step_no,
                prospect_id=item.prospect_id,
                unsubscribe_url=url,
            )
        except DraftNotApproved:
            return _Refused("defer", "draft_not_approved")
        if draft is not None:
            return _Content(
                subject=draft.subject,
                body=draft.body,
                unsubscribe_url=url,
                template_id=draft.template_id or template_id,
                template_version=draft.template_version or version,
                draft_id=draft.draft_id,
                sender=sender,
                sender_name=parts["display_name"],
            )
        row = conn.query(
            "SELECT * FROM outreach.templates WHERE template_id = ? AND version = ?", [template_id, version]
        ).row(0, named=True)
        context = engine_context(
            name=contact["name"],
            company=contact["company"],
            track=parts["track_title"],
            campaign=parts["campaign_name"],
            sender_name=parts["display_name"],
            unsubscribe_url=url,
        )
        try:
            rendered = compose(template_from_row(row), context)
        except ComposeError as exc:
            reason = next((r for kind, r in COMPOSE_REFUSALS if isinstance(exc, kind)), "template_error")
            self._refuse(conn, item, reason, exc, now)
            return _Refused("stop", reason)
        return _Content(
            subject=rendered.subject,
            body=rendered.body,
            unsubscribe_url=url,
            template_id=template_id,
            template_version=version,
            draft_id=None,
            sender=sender,
            sender_name=parts["display_name"],
        )

    def _refuse(self, conn: WarehouseConnection, item: DueSend, reason: str, exc: ComposeError, now: datetime) -> None:
        """A template that cannot make this prospect's message: the prospect fails (nothing was sent) with the
        reason, and the activity log says why. Other prospects are not affected."""
        if isinstance(exc, MissingVariable):
            why = f"{reason}:{exc.variable}"
        elif isinstance(exc, CheckFailed):
            why = f"{reason}:{','.join(sorted({f.check for f in exc.failures}))}"
        else:
            why = reason
        conn.execute(
            "UPDATE outreach.prospects SET status = 'failed', status_reason = ?, updated_at = ? "
            "WHERE prospect_id = ? AND status = 'active'",
            [why, now, item.prospect_id],
        )
        log_activity(
            conn,
            org_id=item.org_id,
            actor=self.actor,
            action="skip",
            subject_type="prospect",
            subject_id=item.prospect_id,
            at=now,
            detail={
                "reason": reason,
                "step": item.step_no,
                "campaign_id": item.campaign_id,
                "template_id": exc.template_id,
                "template_version": exc.version,
                "error": str(exc),
            },
        )

    def _message(
        self, conn: WarehouseConnection, item: DueSend, contact: dict[str, Any], content: _Content, now: datetime
    ) -> tuple[OutboundEmail, str | None]:
        """The email for the step's content; follow-ups answer the previous step in its thread."""
        subject = content.subject
        earlier = conn.query(
            "SELECT o.step_no, o.message_id, o.subject FROM outreach.outbound_messages o "
            "WHERE o.prospect_id = ? AND o.mailbox_id = ? AND o.step_no < ? AND EXISTS (SELECT 1 FROM "
            "outreach.send_attempts a WHERE a.idempotency_key = o.idempotency_key AND a.event = 'sent') "
            "ORDER BY o.step_no",
            [item.prospect_id, item.mailbox_id, item.step_no],
        )
        stored = conn.query(
            "SELECT message_id, subject FROM outreach.outbound_messages WHERE idempotency_key = ?", [item.key]
        )
        mid = message_id(item.key, domain_of(content.sender))
        thread_id = None
        refs: list[str] = []
        if earlier.height:
            refs = earlier["message_id"].to_list()
            subject = follow_up_subject(earlier["subject"][0] or subject)
            thread = conn.query(
                "SELECT gmail_thread_id FROM outreach.threads WHERE prospect_id = ? AND mailbox_id = ?",
                [item.prospect_id, item.mailbox_id],
            )
            thread_id = thread.item(0, 0) if thread.height else None
        if stored.height:  # a later attempt re-sends what the first claim rendered
            mid, subject = stored.row(0)
        email = build_message(
            sender=content.sender,
            sender_name=content.sender_name,
            recipient=contact["email"],
            recipient_name=contact["name"],
            subject=subject,
            body=content.body,
            message_id=mid,
            unsubscribe_url=content.unsubscribe_url,
            date=now,
            in_reply_to=refs[-1] if refs else None,
            references=refs,
        )
        return email, thread_id

    def _event_base(self, item: DueSend, key: str, attempt: int, event: str, at: datetime) -> dict[str, Any]:
        return {
            "idempotency_key": key,
            "attempt_no": attempt,
            "event": event,
            "org_id": item.org_id,
            "mailbox_id": item.mailbox_id,
            "campaign_id": item.campaign_id,
            "prospect_id": item.prospect_id,
            "step_no": item.step_no,
            "run_id": self.run_id,
            "occurred_at": at,
        }

    # -- results ---------------------------------------------------------------------------------------

    def _record_sent(self, claim: Claim, sent: SentMessage, *, recovered: bool) -> None:
        item = claim.due
        now = self.clock()
        with self.warehouse.connect() as conn:
            insert_row(
                conn,
                SEND_ATTEMPTS,
                {
                    **self._event_base(item, claim.key, claim.attempt_no, "sent", now),
                    "message_id": claim.message.message_id,
                    "gmail_message_id": sent.id,
                    "gmail_thread_id": sent.thread_id,
                    "recovered": recovered,
                },
            )
            if claim.draft_id is not None:
                mark_draft_sent(conn, claim.draft_id)
            insert_row(
                conn,
                THREADS,
                {
                    "prospect_id": item.prospect_id,
                    "mailbox_id": item.mailbox_id,
                    "org_id": item.org_id,
                    "campaign_id": item.campaign_id,
                    "gmail_thread_id": sent.thread_id,
                    "root_message_id": claim.message.message_id,
                    "created_at": now,
                },
                ignore_conflict=True,
            )
            if item.last_step:
                conn.execute(
                    "UPDATE outreach.prospects SET status = 'completed', status_reason = 'sequence_done', "
                    "updated_at = ? WHERE prospect_id = ? AND status = 'active'",
                    [now, item.prospect_id],
                )
            log_activity(
                conn,
                org_id=item.org_id,
                actor=self.actor,
                action="send",
                subject_type="prospect",
                subject_id=item.prospect_id,
                at=now,
                detail={
                    "key": claim.key,
                    "attempt": claim.attempt_no,
                    "message_id": claim.message.message_id,
                    "gmail_message_id": sent.id,
                    "step": item.step_no,
                    "recovered": recovered,
                    "run_id": self.run_id,
                },
            )

    def _release(self, conn: WarehouseConnection, claim: Claim, exc: GmailError | None, category: str | None) -> None:
        insert_row(
            conn,
            SEND_ATTEMPTS,
            {
                **self._event_base(claim.due, claim.key, claim.attempt_no, "released", self.clock()),
                "message_id": claim.message.message_id,
                "error_category": category if category != "stopped" else None,
                "error_reason": exc.reason if exc is not None else category,
            },
        )

    def _released(
        self,
        claim: Claim,
        exc: GmailError,
        category: str,
        report: PassReport,
        *,
        pause_until: datetime | None = None,
        auth_required: bool = False,
    ) -> None:
        """Record that nothing went out; pause or flag the mailbox when the error says so."""
        item = claim.due
        now = self.clock()
        with self.warehouse.connect() as conn:
            self._release(conn, claim, exc, category)
            if pause_until is not None:
                conn.execute(
                    "UPDATE outreach.mailboxes SET paused_until = ?, status_reason = ?, updated_at = ? "
                    "WHERE mailbox_id = ?",
                    [pause_until, exc.reason, now, item.mailbox_id],
                )
                log_activity(
                    conn,
                    org_id=item.org_id,
                    actor=self.actor,
                    action="pause",
                    subject_type="mailbox",
                    subject_id=item.mailbox_id,
                    at=now,
                    detail={"reason": exc.reason, "until": pause_until.isoformat()},
                )
            if auth_required:
                mark_auth_required(conn, item.mailbox_id, exc.reason, actor=self.actor, now=now)
        report.released[category] += 1

    def _failed(self, claim: Claim, exc: GmailError) -> None:
        item = claim.due
        now = self.clock()
        with self.warehouse.connect() as conn:
            insert_row(
                conn,
                SEND_ATTEMPTS,
                {
                    **self._event_base(item, claim.key, claim.attempt_no, "failed", now),
                    "message_id": claim.message.message_id,
                    "error_category": "rejected",
                    "error_reason": exc.reason,
                },
            )
            conn.execute(
                "UPDATE outreach.prospects SET status = 'failed', status_reason = ?, updated_at = ? "
                "WHERE prospect_id = ? AND status = 'active'",
                [f"rejected:{exc.reason}", now, item.prospect_id],
            )
            log_activity(
                conn,
                org_id=item.org_id,
                actor=self.actor,
                action="send_failed",
                subject_type="prospect",
                subject_id=item.prospect_id,
                at=now,
                detail={"key": claim.key, "reason": exc.reason, "step": item.step_no},
            )

    def _unknown(self, client: GmailSender, claim: Claim, exc: SendOutcomeUnknown, report: PassReport) -> Claim:
        """Gmail's answer was lost: look the message up now; if absent, leave the claim for its lease to expire."""
        item = claim.due
        with self.warehouse.connect() as conn:
            insert_row(
                conn,
                SEND_ATTEMPTS,
                {
                    **self._event_base(item, claim.key, claim.attempt_no, "unknown", self.clock()),
                    "message_id": claim.message.message_id,
                    "error_category": "outcome_unknown",
                    "error_reason": exc.reason,
                },
            )
        try:
            found = client.find_rfc822(claim.message.message_id)
        except GmailError:
            found = None
        if found is not None:
            self._record_sent(claim, found, recovered=True)
            report.recovered += 1
        else:
            report.unknown += 1
            report.wake(claim.lease_until)
        return claim

    def _stop(self, conn: WarehouseConnection, item: DueSend, reason: str) -> None:
        """Record a stop about the person on the prospect and in the activity log (once)."""
        status = stops.PROSPECT_STATUS_FOR.get(reason)
        if status is None:
            return
        now = self.clock()
        conn.execute(
            "UPDATE outreach.prospects SET status = ?, status_reason = ?, updated_at = ? "
            "WHERE prospect_id = ? AND status = 'active'",
            [status, reason, now, item.prospect_id],
        )
        log_activity(
            conn,
            org_id=item.org_id,
            actor=self.actor,
            action="skip",
            subject_type="prospect",
            subject_id=item.prospect_id,
            at=now,
            detail={"reason": reason, "step": item.step_no, "campaign_id": item.campaign_id},
        )


def _window(step: dict[str, Any]) -> SendWindow:
    default = SendWindow()
    return SendWindow(
        start_minute=step["window_start_minute"] if step["window_start_minute"] is not None else 0,
        end_minute=step["window_end_minute"] if step["window_end_minute"] is not None else 1440,
        days=step["window_days"] or default.days,
        tz=step["window_tz"] or default.tz,
    )


def _scopes(item: DueSend) -> dict[str, tuple[str, ...]]:
    return {
        "mailbox": ("mailbox", item.mailbox_id),
        "org": ("org", item.org_id),
    }


_USAGE = (
    "SELECT "
    "count(DISTINCT CASE WHEN counted AND a.mailbox_id = ? THEN a.idempotency_key END) AS mailbox_24h, "
    "min(CASE WHEN counted AND a.mailbox_id = ? THEN a.occurred_at END) AS mailbox_oldest, "
    "count(DISTINCT CASE WHEN counted THEN a.idempotency_key END) AS org_24h, "
    "min(CASE WHEN counted THEN a.occurred_at END) AS org_oldest, "
    "count(DISTINCT CASE WHEN counted AND a.recipient_domain = ? THEN a.idempotency_key END) AS domain_24h, "
    "min(CASE WHEN counted AND a.recipient_domain = ? THEN a.occurred_at END) AS domain_oldest, "
    "max(CASE WHEN a.mailbox_id = ? THEN a.occurred_at END) AS last_claim_at, "
    "sum(CASE WHEN a.mailbox_id = ? AND a.occurred_at > ? THEN 1 ELSE 0 END) AS minute_sends, "
    "sum(CASE WHEN a.mailbox_id = ? AND a.occurred_at > ? AND a.attempt_no > 1 THEN 1 ELSE 0 END) AS minute_lookups, "
    "min(CASE WHEN a.mailbox_id = ? AND a.occurred_at > ? THEN a.occurred_at END) AS oldest_in_minute "
    "FROM (SELECT i.*, r.idempotency_key IS NULL AS counted FROM outreach.send_attempts i "
    "LEFT JOIN outreach.send_attempts r ON r.idempotency_key = i.idempotency_key AND r.attempt_no = i.attempt_no "
    "AND r.event = 'released' WHERE i.org_id = ? AND i.event = 'intent' AND i.occurred_at > ?) a"
)


def load_usage(conn: WarehouseConnection, item: DueSend, recipient_domain: str | None, now: datetime) -> pacing.Usage:
    """What the mailbox, the organisation and the recipient domain used over the rolling 24 h (claims not
    released), and the mailbox's Gmail units in the last minute, from send_attempts in one query."""
    mb, minute = item.mailbox_id, now - pacing.MINUTE
    params = [mb, mb, recipient_domain, recipient_domain, mb, mb, minute, mb, minute, mb, minute]
    row = conn.query(_USAGE, [*params, item.org_id, now - pacing.DAY]).row(0, named=True)
    return pacing.Usage(
        mailbox_24h=int(row["mailbox_24h"] or 0),
        mailbox_oldest=row["mailbox_oldest"],
        org_24h=int(row["org_24h"] or 0),
        org_oldest=row["org_oldest"],
        domain_24h=int(row["domain_24h"] or 0),
        domain_oldest=row["domain_oldest"],
        last_claim_at=row["last_claim_at"],
        units_last_minute=int(row["minute_sends"] or 0) * pacing.SEND_UNITS
        + int(row["minute_lookups"] or 0) * pacing.LOOKUP_UNITS,
        oldest_in_minute=row["oldest_in_minute"],
    )


def mailbox_figures(warehouse: Warehouse, now: datetime | None = None) -> pl.DataFrame:
    """One row per mailbox: status, sent in the last 24 h, cap-relevant claims and pause, for the UI."""
    now = now or utcnow()
    return warehouse.query(
        "SELECT m.mailbox_id, m.org_id, m.status, m.daily_cap, m.paused_until, "
        "(SELECT count(*) FROM outreach.send_attempts a WHERE a.mailbox_id = m.mailbox_id AND a.event = 'sent' "
        "AND a.occurred_at > ?) AS sent_24h, "
        "(SELECT count(*) FROM outreach.send_attempts a WHERE a.mailbox_id = m.mailbox_id AND a.event = 'sent') "
        "AS sent_total FROM outreach.mailboxes m ORDER BY m.mailbox_id",
        [now - pacing.DAY],
    )


__all__ = [
    "CHECKPOINTS",
    "AttemptState",
    "Claim",
    "ClientFor",
    "DueSend",
    "GmailSender",
    "PassReport",
    "SendEngine",
    "SenderConfig",
    "attempt_state",
    "load_usage",
    "mailbox_figures",
    "utcnow",
]
