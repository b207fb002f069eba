"""Gmail API client (google-api-python-client) for outreach mailboxes: send, look up, history, metadata.

See README.md beside this file for the errors, the quota units and how tests point it at the local stand-in.
"""

from integrations.gmail.client import GmailClient, GmailEndpoint, HistoryPage, MessageMetadata, SentMessage
from integrations.gmail.credentials import MailboxCredentials, Token
from integrations.gmail.errors import (
    AuthRequired,
    DailyLimitExceeded,
    GmailError,
    GmailUnavailable,
    HistoryExpired,
    MessageNotFound,
    MessageRejected,
    RateLimited,
    SendOutcomeUnknown,
)
from integrations.gmail.quota import UNITS, USER_UNITS_PER_MINUTE, QuotaMeter

__all__ = [
    "UNITS",
    "USER_UNITS_PER_MINUTE",
    "AuthRequired",
    "DailyLimitExceeded",
    "GmailClient",
    "GmailEndpoint",
    "GmailError",
    "GmailUnavailable",
    "HistoryExpired",
    "HistoryPage",
    "MailboxCredentials",
    "MessageMetadata",
    "MessageNotFound",
    "MessageRejected",
    "QuotaMeter",
    "RateLimited",
    "SendOutcomeUnknown",
    "SentMessage",
    "Token",
]
