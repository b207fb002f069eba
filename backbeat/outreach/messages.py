"""Outbound emails built with the standard `email` package, ready for Gmail's `users.messages.send`.

Every message carries a Message-ID derived from its idempotency key (`ids.message_id`), the one-click
unsubscribe headers of RFC 2369 / RFC 8058 (`List-Unsubscribe` with the HTTPS URL and a `mailto:`,
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`), and, for a follow-up, `In-Reply-To` / `References` so
it lands in the first email's thread (the Gmail `threadId` travels beside the raw bytes). The unsubscribe URL
comes from a callable (`unsubscribe_url(contact_id, campaign_id) -> str`, H4's HMAC tokens), whose last path
segment is the token reused in the `mailto:` address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from urllib.parse import quote, urlsplit

from backbeat.outreach.unsubscribe import MAILTO_SUBJECT_PREFIX

UnsubscribeUrl = Callable[[str, str], str]
"""(contact_id, campaign_id) -> the HTTPS one-click URL, e.g. https://u.example.com/u/<token>."""


@dataclass(frozen=True)
class OutboundEmail:
    """A rendered message: the bytes to send and what the warehouse records about it."""

    raw: bytes
    message_id: str  # without angle brackets
    subject: str
    body_sha256: str
    in_reply_to: str | None
    references: tuple[str, ...]


def body_sha256(body: str) -> str:
    """sha256 (hex) of the plain-text body as sent (UTF-8, line ends normalised to \\n)."""
    return hashlib.sha256(body.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def follow_up_subject(root_subject: str) -> str:
    """The subject of a follow-up in the root's thread: `Re: <root>` (Gmail threads on matching subjects)."""
    return root_subject if root_subject.lower().startswith("re:") else f"Re: {root_subject}"


def unsubscribe_token(url: str) -> str:
    """The token of a one-click URL: its last path segment (`https://h/u/TOKEN` → `TOKEN`)."""
    token = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    if not token:
        raise ValueError(f"unsubscribe URL without a token: {url!r}")
    return token


def build_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    message_id: str,
    unsubscribe_url: str,
    date: datetime,
    sender_name: str | None = None,
    recipient_name: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
) -> OutboundEmail:
    """A plain-text message with the headers above; `message_id` and `references` without angle brackets.

    `date` is naive UTC (or aware); the Date header is written in UTC.
    """
    token = unsubscribe_token(unsubscribe_url)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((sender_name or "", sender))
    msg["To"] = formataddr((recipient_name or "", recipient))
    msg["Subject"] = subject
    msg["Date"] = format_datetime((date if date.tzinfo else date.replace(tzinfo=UTC)).astimezone(UTC))
    msg["Message-ID"] = f"<{message_id}>"
    refs = tuple(references)
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        if in_reply_to not in refs:
            refs = (*refs, in_reply_to)
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    # The mailto goes to the sending mailbox itself (the inbox sync reads it) with the token in the subject: a
    # token in the local part would pass RFC 5321's 64-character limit.
    mailto = f"mailto:{sender}?subject={quote(MAILTO_SUBJECT_PREFIX + token)}"
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{mailto}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(body, subtype="plain", charset="utf-8")
    return OutboundEmail(
        raw=msg.as_bytes(),
        message_id=message_id,
        subject=subject,
        body_sha256=body_sha256(body),
        in_reply_to=in_reply_to,
        references=refs,
    )
