"""What an inbound message means for a campaign: a reply, a bounce, an auto-reply, an unsubscribe, a complaint.

Pure functions over the message's metadata (`MessageMetadata`: lower-cased headers, Gmail thread id, labels) and
an index of what this mailbox sent (`SentIndex`). Bodies are never read; the one exception is a delivery or
feedback report (`needs_raw`), whose raw bytes are parsed with the `email` package for the machine-readable part
(`message/delivery-status`, RFC 3464; `message/feedback-report`, RFC 5965).

The order of the rules matters: a complaint or a bounce often carries `Auto-Submitted: auto-replied` (Gmail's
mailer-daemon does), so reports are recognised before auto-replies; an auto-reply threads into our conversation
like a reply, so it is recognised before replies.

- **reply**: a human message answering one of our sends: in one of our Gmail threads, or naming one of our
  Message-IDs in In-Reply-To/References, or (threading lost) sent by an address we wrote to from this mailbox.
  It must come from the prospect's address or a colleague at the prospect's own (not a freemail) domain; a third
  party writing in the thread is `irrelevant` (it says nothing about the prospect).
- **bounce_hard / bounce_soft**: a delivery status notification; status 5.x.x is hard, 4.x.x (or an action
  `delayed`, or a full mailbox 5.2.2) soft. Which send bounced comes from the original Message-ID in the report (its
  `X-Original-Message-ID` or its returned headers), then the DSN's own In-Reply-To/References, then the thread,
  then the failed recipient. A report without a readable status counts as soft: suppressing an address needs a
  permanent failure.
- **auto_reply**: `Auto-Submitted` other than `no`, `X-Autoreply`, `X-Autorespond`, `Precedence:
  auto_reply/bulk/junk`, or an out-of-office subject, on a message related to our sends. Not a reply: the
  sequence waits.
- **unsubscribe**: a message to our unsubscribe address (`unsubscribe@`, `unsubscribe+TOKEN@`,
  `local+unsubscribe-TOKEN@`), or whose subject is just "unsubscribe" / "remove me", optionally followed by the
  token of our `mailto:` link (`unsubscribe <token>`, see `unsubscribe.unsubscribe_mailto`). The sender's address
  is the one to suppress; the token, when there is one, is handed on for the caller to verify.
- **complaint**: an ARF report (`multipart/report; report-type=feedback-report`).
- **irrelevant**: everything else, including what this mailbox sent itself (label `SENT`/`DRAFT`) and other
  machine reports such as read receipts (`report-type=disposition-notification`), which thread like replies.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from enum import StrEnum
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from integrations.gmail import MessageMetadata


class SignalKind(StrEnum):
    """What an inbound message is, for outreach."""

    REPLY = "reply"
    BOUNCE_HARD = "bounce_hard"
    BOUNCE_SOFT = "bounce_soft"
    AUTO_REPLY = "auto_reply"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"
    IRRELEVANT = "irrelevant"


# The outcome row a signal becomes (`outreach.outcomes.kind`); irrelevant messages leave no outcome.
OUTCOME_OF: dict[SignalKind, str] = {
    SignalKind.REPLY: "replied",
    SignalKind.BOUNCE_HARD: "bounced_hard",
    SignalKind.BOUNCE_SOFT: "bounced_soft",
    SignalKind.AUTO_REPLY: "auto_reply",
    SignalKind.UNSUBSCRIBE: "unsubscribed",
    SignalKind.COMPLAINT: "complained",
}


@dataclass(frozen=True)
class OurSend:
    """One message this mailbox sent: what an inbound message can answer or bounce.

    `ref` is the caller's own handle (e.g. the send attempt's idempotency key); classification passes it through.
    """

    rfc822_id: str  # Message-ID without the angle brackets
    thread_id: str | None  # Gmail thread id
    recipient: str  # lower-cased address
    ref: str
    sent_at: datetime | None = None


class SentIndex:
    """What one mailbox sent, looked up by Message-ID, Gmail thread and recipient (the latest send wins)."""

    def __init__(self, mailbox: str, sends: Iterable[OurSend]) -> None:
        self.mailbox = mailbox.lower()
        self.by_rfc822: dict[str, OurSend] = {}
        self.by_thread: dict[str, OurSend] = {}
        self.by_recipient: dict[str, OurSend] = {}
        for send in sorted(sends, key=lambda s: (s.sent_at or datetime.min, s.rfc822_id)):
            self.by_rfc822[normalise_message_id(send.rfc822_id)] = send
            if send.thread_id:
                self.by_thread[send.thread_id] = send
            if send.recipient:  # empty when the contact was purged: matchable by Message-ID and thread only
                self.by_recipient[send.recipient.lower()] = send

    def __len__(self) -> int:
        return len(self.by_rfc822)


@dataclass(frozen=True)
class DeliveryFailure:
    """One recipient of a delivery status notification: RFC 3464 per-recipient fields."""

    recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded ('' when unknown)
    status: str | None  # enhanced status code, e.g. 5.1.1
    diagnostic: str | None = None

    @property
    def hard(self) -> bool:
        """A permanent failure: status 5.x.x, not merely delayed, and not a full mailbox (X.2.2, RFC 3463: the
        address exists; Gmail itself answers 4.2.2 for it)."""
        if self.status is None or not self.status.startswith("5") or self.action == "delayed":
            return False
        return not self.status.endswith(".2.2")

    @property
    def is_failure(self) -> bool:
        return self.action in ("failed", "delayed", "")


@dataclass(frozen=True)
class Report:
    """What a raw `multipart/report` (or a plain-text bounce) says, as far as outreach cares."""

    kind: str  # "delivery-status", "feedback-report" or "" (not a report)
    recipients: tuple[DeliveryFailure, ...] = ()
    original_message_id: str | None = None
    original_recipient: str | None = None  # feedback reports: who complained
    feedback_type: str | None = None


@dataclass(frozen=True)
class Signal:
    """The classification of one inbound message.

    `send` is the send it answers or bounced (None when nothing of ours matches); `matched_by` says how:
    `message_id`, `thread`, `address`. `addresses` are the addresses the signal is about: the failed recipients
    of a bounce, the complaining recipient, the sender asking to unsubscribe.
    """

    kind: SignalKind
    gmail_id: str
    thread_id: str
    at: datetime
    sender: str
    note: str
    send: OurSend | None = None
    matched_by: str | None = None
    addresses: tuple[str, ...] = ()
    status: str | None = None
    diagnostic: str | None = None
    token: str | None = None
    failures: tuple[DeliveryFailure, ...] = field(default=())

    @property
    def outcome(self) -> str | None:
        """The `outreach.outcomes` kind this signal becomes, or None."""
        return OUTCOME_OF.get(self.kind)


_MSGID = re.compile(r"<([^<>\s]+)>")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45])\d\d\b")
_DAEMON_LOCALS = ("mailer-daemon", "postmaster", "mail-daemon", "maildaemon")
_DAEMON_NAMES = ("mail delivery subsystem", "mail delivery system", "mail administrator")
# Shared consumer domains: a stranger there is not the prospect's colleague.
_FREEMAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "mail.ru",
        "yandex.ru",
        "orange.fr",
        "free.fr",
        "libero.it",
    ]
)
_AUTO_PRECEDENCE = ("auto_reply", "auto-reply", "bulk", "junk")
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponse", "x-autoresponder")
_OOO_SUBJECT = re.compile(
    r"out of (?:the )?office|automatic reply|auto[- ]?reply|auto[- ]?response|autoresponder|\bOOO\b"
    r"|abwesenheit|automatische antwort|réponse automatique|absence du bureau|respuesta automática"
    r"|fuera de la oficina|risposta automatica|fuori sede|automatisch antwoord|afwezig|resposta automática"
    r"|on vacation|on holiday|on leave|away from (?:the|my) (?:office|desk)",
    re.IGNORECASE,
)
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|vs|antw|fw|fwd|wg|tr)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_UNSUB_SUBJECT = re.compile(
    r"^(?:please\s+)?(?:unsubscribe|remove)(?:\s+me)?(?:\s+please)?(?:\s+(?P<token>[A-Za-z0-9_-]{20,}))?\W*$",
    re.IGNORECASE,
)
_UNSUB_LOCAL = re.compile(
    r"^unsubscribe(?:\+(?P<a>[^@]+))?$|^[^@+]+\+unsubscribe(?:[-+._](?P<b>[^@]+))?$", re.IGNORECASE
)
_QUOTED_MSGID = re.compile(r"^\s*Message-ID:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
_PERMANENT_TEXT = re.compile(r"permanent(?:ly)? (?:error|failure|fatal)|does not exist|user unknown", re.I)
_TEMPORARY_TEXT = re.compile(r"temporar(?:y|ily)|delayed|will (?:be )?retr(?:y|ied)|not yet been delivered", re.I)


def normalise_message_id(value: str) -> str:
    """A Message-ID without angle brackets or surrounding white space."""
    value = value.strip()
    found = _MSGID.search(value)
    return found.group(1) if found else value.strip("<>")


def message_ids(value: str | None) -> list[str]:
    """Every Message-ID named in an In-Reply-To or References header, in order."""
    if not value:
        return []
    found = _MSGID.findall(value)
    return found or [v for v in value.split() if "@" in v]


def address_of(value: str | None) -> str:
    """The lower-cased address in a From/To header value ('' when none)."""
    return parseaddr(value or "")[1].strip().lower()


def addresses_of(*values: str | None) -> list[str]:
    """Every lower-cased address in one or more address header values."""
    return [addr.lower() for _, addr in getaddresses([v for v in values if v]) if addr]


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def _content_type(meta: MessageMetadata) -> tuple[str, str]:
    """(lower-cased media type, report-type parameter) of the message's Content-Type header."""
    value = meta.headers.get("content-type", "")
    media = value.split(";", 1)[0].strip().lower()
    report = re.search(r"report-type\s*=\s*\"?([\w.-]+)", value, re.IGNORECASE)
    return media, (report.group(1).lower() if report else "")


def _from_daemon(meta: MessageMetadata) -> bool:
    name, addr = parseaddr(meta.headers.get("from", ""))
    local = addr.partition("@")[0].lower()
    return local in _DAEMON_LOCALS or name.strip().lower() in _DAEMON_NAMES


def is_complaint_candidate(meta: MessageMetadata) -> bool:
    """An ARF feedback report by its Content-Type."""
    media, report = _content_type(meta)
    return media == "multipart/report" and report == "feedback-report"


def is_bounce_candidate(meta: MessageMetadata) -> bool:
    """A delivery status notification by its headers: report type, a mailer-daemon sender, X-Failed-Recipients."""
    media, report = _content_type(meta)
    if media == "multipart/report" and report in ("delivery-status", ""):
        return True
    if "x-failed-recipients" in meta.headers or "x-ms-exchange-message-is-ndr" in meta.headers:
        return True
    return _from_daemon(meta)


def needs_raw(meta: MessageMetadata) -> bool:
    """Whether the raw message must be fetched to classify it (DSNs and feedback reports only)."""
    if _is_own(meta):
        return False
    return is_complaint_candidate(meta) or is_bounce_candidate(meta)


def _is_own(meta: MessageMetadata) -> bool:
    return "SENT" in meta.label_ids or "DRAFT" in meta.label_ids


# ---- Reports (raw bytes) ----------------------------------------------------------------------------------


def _fields(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    if isinstance(payload, str):
        return [HeaderParser().parsestr(block.strip() + "\n") for block in re.split(r"\r?\n\s*\r?\n", payload)]
    return []


def _status_of(text: str | None) -> str | None:
    if not text:
        return None
    found = _STATUS.search(text)
    return ".".join(found.groups()) if found else None


def _delivery_failures(part: Message) -> tuple[list[DeliveryFailure], str | None]:
    blocks = _fields(part)
    original = None
    failures = []
    for block in blocks:
        if block.get("x-original-message-id"):
            original = normalise_message_id(str(block["x-original-message-id"]))
        recipient = block.get("final-recipient") or block.get("original-recipient")
        if not recipient:
            continue
        address = str(recipient).rpartition(";")[2].strip().strip("<>").lower()
        diagnostic = str(block["diagnostic-code"]).strip() if block.get("diagnostic-code") else None
        status = _status_of(str(block.get("status", "")))
        if status is None or status in ("5.0.0", "4.0.0"):
            # A generic status: the remote server's enhanced code in the diagnostic says more.
            status = _status_of(diagnostic) or status
        if status is None and diagnostic:
            code = _SMTP_CODE.search(diagnostic)
            status = f"{code.group(1)}.0.0" if code else None
        action = str(block.get("action", "")).strip().lower()
        failures.append(DeliveryFailure(address, action, status, " ".join(diagnostic.split()) if diagnostic else None))
    return failures, original


def _decoded(part: Message) -> str:
    """A non-multipart part's payload (transfer-decoded) as text ('' when it has none)."""
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _returned_message_id(part: Message) -> str | None:
    """The Message-ID of the returned original (message/rfc822 or text/rfc822-headers part)."""
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        value = inner.get("message-id") if isinstance(inner, Message) else None
    else:
        value = HeaderParser().parsestr(_decoded(part)).get("message-id")
    return normalise_message_id(str(value)) if value else None


def _returned_recipient(part: Message) -> str | None:
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        value = inner.get("to") if isinstance(inner, Message) else None
    else:
        value = HeaderParser().parsestr(_decoded(part)).get("to")
    found = addresses_of(str(value)) if value else []
    return found[0] if found else None


def _plain_text(message: Message) -> str:
    texts = []
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(texts)


def parse_report(raw: bytes) -> Report:
    """Read a raw DSN or ARF message: per-recipient failures, the original Message-ID, the complainant.

    Handles RFC 3464 reports (Gmail, Exchange/Office 365, Postfix), RFC 5965 feedback reports, and the older
    plain-text bounces (Exim, qmail) through X-Failed-Recipients and the permanent/temporary wording.
    """
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    failures: list[DeliveryFailure] = []
    original: str | None = None
    returned_to: str | None = None
    feedback: Message | None = None
    kind = ""
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            kind = "delivery-status"
            found, from_fields = _delivery_failures(part)
            failures += found
            original = original or from_fields
        elif ctype == "message/feedback-report":
            kind = "feedback-report"
            blocks = _fields(part)
            feedback = blocks[0] if blocks else None
        elif ctype in ("message/rfc822", "text/rfc822-headers") and part is not message:
            original = original or _returned_message_id(part)
            returned_to = returned_to or _returned_recipient(part)
    if kind == "feedback-report":
        rcpt = str(feedback.get("original-rcpt-to", "")) if feedback is not None else ""
        return Report(
            kind,
            original_message_id=original,
            original_recipient=address_of(rcpt) or (rcpt.strip().lower() or None) or returned_to,
            feedback_type=str(feedback.get("feedback-type", "")).strip().lower() or None if feedback else None,
        )
    if not failures:
        failures = _plain_bounce(message, returned_to)
        kind = kind or ("delivery-status" if failures else "")
        if failures and original is None:
            # Exim and qmail quote the returned message as text: its Message-ID line says which send it was.
            quoted = _QUOTED_MSGID.search(_plain_text(message))
            original = quoted.group(1) if quoted else None
    if original is None:
        references = message_ids(message.get("in-reply-to")) + message_ids(message.get("references"))
        original = normalise_message_id(references[-1]) if references else None
    return Report(kind, tuple(failures), original)


def _plain_bounce(message: Message, returned_to: str | None) -> list[DeliveryFailure]:
    """Failures of a bounce without a delivery-status part: X-Failed-Recipients and the body's wording."""
    recipients = addresses_of(message.get("x-failed-recipients"))
    if not recipients and returned_to:
        recipients = [returned_to]
    if not recipients:
        return []
    text = _plain_text(message)
    status = _status_of(text)
    if status is None and _PERMANENT_TEXT.search(text):
        status = "5.0.0"
    elif status is None and _TEMPORARY_TEXT.search(text):
        status = "4.0.0"
    action = "delayed" if status and status.startswith("4") else "failed"
    return [DeliveryFailure(r, action, status) for r in recipients]


# ---- Classification ---------------------------------------------------------------------------------------


def _related_send(meta: MessageMetadata, sent: SentIndex, sender: str) -> tuple[OurSend | None, str | None]:
    """The send a message answers: by Message-ID named in its headers, then its thread, then its sender."""
    for mid in reversed(message_ids(meta.headers.get("in-reply-to")) + message_ids(meta.headers.get("references"))):
        send = sent.by_rfc822.get(normalise_message_id(mid))
        if send is not None:
            return send, "message_id"
    send = sent.by_thread.get(meta.thread_id)
    if send is not None:
        return send, "thread"
    send = sent.by_recipient.get(sender)
    if send is not None:
        return send, "address"
    return None, None


def _is_auto(meta: MessageMetadata) -> str | None:
    """Why the message is automatic (an auto-reply), or None."""
    headers = meta.headers
    submitted = headers.get("auto-submitted", "").strip().lower()
    if submitted and not submitted.startswith("no"):
        return f"Auto-Submitted: {submitted}"
    for name in _AUTO_HEADERS:
        value = headers.get(name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            return f"{name} header"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if _OOO_SUBJECT.search(headers.get("subject", "")):
        return "out-of-office subject"
    return None


def _subject(meta: MessageMetadata) -> str:
    return _REPLY_PREFIX.sub("", meta.headers.get("subject", "")).strip()


def unsubscribe_request(meta: MessageMetadata) -> tuple[str | None, str | None]:
    """(how the message asks to unsubscribe, the token it carries) or (None, None).

    By address: sent to `unsubscribe@`, `unsubscribe+TOKEN@` or `local+unsubscribe-TOKEN@` (To, Cc,
    Delivered-To, X-Original-To). By subject: "unsubscribe" / "remove me", optionally followed by a token (the
    `mailto:` link's subject, `unsubscribe <token>`). The token is not verified here.
    """
    headers = meta.headers
    subject = _UNSUB_SUBJECT.match(_subject(meta))
    subject_token = subject.group("token") if subject else None
    values = [headers.get(name) for name in ("to", "cc", "delivered-to", "x-original-to")]
    # Not lower-cased: a token is base64url, its case matters.
    recipients = [addr.strip() for _, addr in getaddresses([v for v in values if v]) if addr]
    for addr in recipients:
        found = _UNSUB_LOCAL.match(addr.partition("@")[0])
        if found:
            return "address", found.group("a") or found.group("b") or subject_token
    if subject:
        return "subject", subject_token
    return None, None


def _pick_failure(failures: Iterable[DeliveryFailure], send: OurSend | None) -> DeliveryFailure | None:
    failures = [f for f in failures if f.is_failure]
    if send is not None:
        for failure in failures:
            if failure.recipient == send.recipient.lower():
                return failure
    hard = [f for f in failures if f.hard]
    chosen = hard or failures
    return chosen[0] if chosen else None


class _Base(TypedDict):
    """The fields every `Signal` of one message shares."""

    gmail_id: str
    thread_id: str
    at: datetime
    sender: str


def _classify_bounce(meta: MessageMetadata, sent: SentIndex, report: Report | None, base: _Base) -> Signal:
    headers = meta.headers
    if report is None:
        # Headers only: X-Failed-Recipients names who; no status, so not permanent yet.
        failed = addresses_of(headers.get("x-failed-recipients"))
        report = Report("delivery-status", tuple(DeliveryFailure(a, "failed", None) for a in failed))
    send, matched_by = None, None
    if report.original_message_id:
        send = sent.by_rfc822.get(report.original_message_id)
        matched_by = "message_id" if send else None
    if send is None:
        for mid in reversed(message_ids(headers.get("in-reply-to")) + message_ids(headers.get("references"))):
            send = sent.by_rfc822.get(normalise_message_id(mid))
            if send is not None:
                matched_by = "message_id"
                break
    failures = [f for f in report.recipients if f.is_failure]
    if send is None and meta.thread_id in sent.by_thread:
        candidate = sent.by_thread[meta.thread_id]
        if not failures or any(f.recipient == candidate.recipient.lower() for f in failures):
            send, matched_by = candidate, "thread"
    if send is None:
        for failure in failures:
            if failure.recipient in sent.by_recipient:
                send, matched_by = sent.by_recipient[failure.recipient], "address"
                break
    if not failures:
        if report.recipients:
            return Signal(SignalKind.IRRELEVANT, note="delivery report without a failure", **base)
        return Signal(SignalKind.IRRELEVANT, note="bounce-like message naming no recipient", **base)
    chosen = _pick_failure(failures, send)
    assert chosen is not None
    kind = SignalKind.BOUNCE_HARD if chosen.hard else SignalKind.BOUNCE_SOFT
    note = f"{chosen.action or 'failed'} {chosen.status or 'without a status'}"
    return Signal(
        kind,
        note=note,
        send=send,
        matched_by=matched_by,
        addresses=tuple(f.recipient for f in failures if f.hard == chosen.hard),
        status=chosen.status,
        diagnostic=chosen.diagnostic,
        failures=tuple(failures),
        **base,
    )


def classify(meta: MessageMetadata, sent: SentIndex, raw: bytes | None = None) -> Signal:
    """Classify one inbound message against what its mailbox sent.

    `raw` is the message's raw bytes, fetched only when `needs_raw(meta)`; without it a DSN is read from its
    headers alone (X-Failed-Recipients, no status: soft).
    """
    headers = meta.headers
    sender = address_of(headers.get("from"))
    base: _Base = {"gmail_id": meta.id, "thread_id": meta.thread_id, "at": meta.internal_date, "sender": sender}
    if _is_own(meta) or (sender and sender == sent.mailbox):
        return Signal(SignalKind.IRRELEVANT, note="sent by this mailbox", **base)

    report = parse_report(raw) if raw is not None else None
    if is_complaint_candidate(meta) or (report is not None and report.kind == "feedback-report"):
        report = report or Report("feedback-report")
        complainant = report.original_recipient
        send, matched_by = None, None
        if report.original_message_id and report.original_message_id in sent.by_rfc822:
            send, matched_by = sent.by_rfc822[report.original_message_id], "message_id"
        elif complainant and complainant in sent.by_recipient:
            send, matched_by = sent.by_recipient[complainant], "address"
        complainant = complainant or (send.recipient if send else None)
        return Signal(
            SignalKind.COMPLAINT,
            note=f"feedback report ({report.feedback_type or 'unknown type'})",
            send=send,
            matched_by=matched_by,
            addresses=(complainant,) if complainant else (),
            **base,
        )
    if is_bounce_candidate(meta) or (report is not None and report.kind == "delivery-status"):
        return _classify_bounce(meta, sent, report, base)
    media, report_type = _content_type(meta)
    if media == "multipart/report":  # a read receipt (disposition-notification) or another machine report
        return Signal(SignalKind.IRRELEVANT, note=f"{report_type or 'machine'} report", **base)

    send, matched_by = _related_send(meta, sent, sender)
    how, token = unsubscribe_request(meta)
    auto = _is_auto(meta)
    if how == "address" or (how == "subject" and auto is None):
        return Signal(
            SignalKind.UNSUBSCRIBE,
            note="sent to the unsubscribe address" if how == "address" else "subject asks to unsubscribe",
            send=send,
            matched_by=matched_by,
            addresses=(sender,) if sender else (),
            token=token,
            **base,
        )
    if auto is not None:
        if send is None:
            return Signal(SignalKind.IRRELEVANT, note=f"automatic ({auto}), not about our sends", **base)
        return Signal(SignalKind.AUTO_REPLY, note=auto, send=send, matched_by=matched_by, **base)

    if send is None:
        return Signal(SignalKind.IRRELEVANT, note="not about our sends", **base)
    prospect = send.recipient.lower()
    if sender == prospect:
        return Signal(SignalKind.REPLY, note="from the prospect", send=send, matched_by=matched_by, **base)
    if sender and _domain(sender) == _domain(prospect) and _domain(sender) not in _FREEMAIL:
        return Signal(
            SignalKind.REPLY, note="from a colleague at the prospect's domain", send=send, matched_by=matched_by, **base
        )
    return Signal(
        SignalKind.IRRELEVANT, note="in our thread from a third party", send=send, matched_by=matched_by, **base
    )
