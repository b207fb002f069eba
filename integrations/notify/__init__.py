"""Notification channels: one `Channel` protocol, email over SMTP, email through a Gmail mailbox, and a JSON
webhook (Slack-compatible). Channels get their settings passed in; they read no environment. See README.md."""

from integrations.notify.channel import Channel, Notification, NotifyError
from integrations.notify.gmail import GmailChannel
from integrations.notify.message import email_message
from integrations.notify.smtp import SmtpChannel, SmtpSettings
from integrations.notify.webhook import WebhookChannel, slack_body

__all__ = [
    "Channel",
    "GmailChannel",
    "Notification",
    "NotifyError",
    "SmtpChannel",
    "SmtpSettings",
    "WebhookChannel",
    "email_message",
    "slack_body",
]
