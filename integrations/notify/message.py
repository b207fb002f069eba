"""The email form of a notification, shared by the SMTP and Gmail channels."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from integrations.notify.channel import Notification

SEVERITY_TAGS = {"critical": "[CRITICAL]", "warning": "[WARNING]", "info": "[INFO]"}


def email_message(notification: Notification, sender: str, to: Sequence[str]) -> EmailMessage:
    """A plain-text email: `[SEVERITY] subject`, the text and its facts, and an `X-Backbeat-Alert` header
    carrying the incident key and kind (so a mail filter can thread or route alerts)."""
    message = EmailMessage()
    tag = "[RECOVERED]" if notification.kind == "recovered" else SEVERITY_TAGS.get(notification.severity, "")
    message["Subject"] = f"{tag} {notification.subject}".strip()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rpartition("@")[2] or "backbeat.local"
    message["Message-ID"] = make_msgid("alert", domain=domain)
    message["X-Backbeat-Alert"] = f"{notification.kind}; {notification.key}".strip("; ")
    message.set_content(notification.plain() + "\n")
    return message
