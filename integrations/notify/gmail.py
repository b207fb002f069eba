"""Email alerts sent from an outreach mailbox through the Gmail API (`integrations.gmail.GmailClient`), for a
company that has no SMTP relay but has connected a mailbox for outreach.

The client is made on first use by `client_factory` (the alerts wiring builds it from the mailbox's stored,
encrypted token, as the outreach sender does), so a channel costs nothing until an alert goes out. The
client's own policy retries 429s and one 401; `SendOutcomeUnknown` (the request left, no answer) is not
retried here either: a possibly duplicated alert is worse than one reported as failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from integrations.gmail import GmailError
from integrations.notify.channel import Notification, NotifyError
from integrations.notify.message import email_message


class RawSender(Protocol):
    """What the channel needs of a Gmail client: send RFC 5322 bytes."""

    def send(self, raw: bytes, thread_id: str | None = None) -> object: ...


class GmailChannel:
    """Sends each notification as one email from `mailbox` to `to`."""

    name = "gmail"

    def __init__(self, mailbox: str, to: Sequence[str], client_factory: Callable[[], RawSender]) -> None:
        if not to:
            raise ValueError("a Gmail channel needs at least one recipient")
        self.mailbox = mailbox
        self.to = list(to)
        self._factory = client_factory
        self._client: RawSender | None = None

    def __repr__(self) -> str:
        return f"GmailChannel({self.mailbox!r}, to={self.to})"

    def send(self, notification: Notification) -> None:
        """Send the email through the mailbox; `NotifyError` when Gmail refused it or could not be reached."""
        message = email_message(notification, self.mailbox, self.to)
        try:
            if self._client is None:
                self._client = self._factory()
            self._client.send(message.as_bytes())
        except GmailError as exc:
            raise NotifyError(f"{type(exc).__name__} ({exc.reason})", channel=self.name) from None
