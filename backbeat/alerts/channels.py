"""The channels the settings turn on: SMTP, the webhook, and Gmail through an outreach mailbox.

The Gmail channel sends from `BACKBEAT_ALERT_GMAIL_MAILBOX`, a mailbox connected for outreach (`backbeat
outreach mailbox connect`): its client is built by `backbeat.outreach.mailboxes.gmail_client` from the
encrypted token store, with outreach's OAuth client settings (`GmailSettings`).
"""

from __future__ import annotations

from backbeat.alerts.config import ChannelSettings
from backbeat.outreach.mailboxes import GmailSettings, gmail_client
from integrations.notify import Channel, GmailChannel, SmtpChannel, SmtpSettings, WebhookChannel


def build_channels(settings: ChannelSettings, gmail: GmailSettings | None = None) -> list[Channel]:
    """One channel per configured way out, in the order smtp, webhook, gmail."""
    channels: list[Channel] = []
    if settings.smtp_url and settings.email_to:
        smtp = SmtpSettings.from_url(settings.smtp_url, username=settings.smtp_user, password=settings.smtp_password)
        channels.append(SmtpChannel(smtp, settings.email_from, settings.email_to))
    if settings.webhook_url:
        channels.append(WebhookChannel(settings.webhook_url))
    if settings.gmail_mailbox and settings.email_to:
        if gmail is None:
            raise ValueError("the Gmail alert channel needs outreach's Gmail settings")
        mailbox = settings.gmail_mailbox
        channels.append(GmailChannel(mailbox, settings.email_to, lambda: gmail_client(gmail, mailbox)))
    return channels
