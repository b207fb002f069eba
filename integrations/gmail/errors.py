"""Gmail's errors mapped onto the shared taxonomy (`integrations.resilience.errors`), by HTTP status and the
`reason` in Google's error JSON (`{"error": {"code", "message", "errors": [{"reason", "domain", "message"}],
"status"}}`).

| class | raised for | taxonomy base (what `RetryPolicy` does) |
|---|---|---|
| `RateLimited(retry_after)` | 429, 403 `rateLimitExceeded`/`userRateLimitExceeded` | `RateLimited` (waits) |
| `DailyLimitExceeded` | 403 `dailyLimitExceeded` (and sending-limit reasons) | `PermanentError` (fails at once) |
| `AuthRequired` | `invalid_grant` at the token endpoint, 401 after a refresh, missing scope | `PermanentError` |
| `HistoryExpired` | `history.list` answering 404 (the start history id is too old) | `NotFound` |
| `SendOutcomeUnknown` | `send` got 5xx, a timeout or a dropped connection once the request left | `PermanentError` |
| `GmailUnavailable` | 5xx, 408, network errors, an open circuit | `Transient` (backoff, bounded) |
| `MessageRejected` (`MessageNotFound` for 404) | other 4xx: the request itself is wrong | `PermanentError` |

Every error carries `reason` (Google's, or one of ours: `network`, `connect`, `circuitOpen`, `invalid_grant`)
and `mailbox`, never a token: messages are built from the status, the reason and Google's own message.
"""

import json
import re
from datetime import UTC, datetime
from typing import Any

from integrations.resilience.errors import (
    DEFAULT_RETRY_AFTER,
    AuthExpired,
    IntegrationError,
    NotFound,
    PermanentError,
    Transient,
    parse_retry_after,
)
from integrations.resilience.errors import RateLimited as _RateLimited

SERVICE = "gmail"
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
DAILY_LIMIT_REASONS = frozenset({"dailyLimitExceeded", "dailyLimitExceededUnreg", "quotaExceeded"})
SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "forbidden"})
# Gmail's own wording when a Retry-After header is missing: "User-rate limit exceeded.  Retry after 2026-...Z"
_RETRY_AFTER_TEXT = re.compile(r"Retry after (\d{4}-\d{2}-\d{2}T[0-9:.]+Z)")


class GmailError(IntegrationError):
    """Base of every Gmail error: `reason` is Google's error reason, `mailbox` the address the call was for."""

    def __init__(self, message: str, *, reason: str, mailbox: str, status: int | None = None) -> None:
        IntegrationError.__init__(self, f"{mailbox}: {message} [{reason}]", service=SERVICE, status=status)
        self.detail = message
        self.reason = reason
        self.mailbox = mailbox


class RateLimited(GmailError, _RateLimited):
    """429 (or 403 with a rate-limit reason); raised only once the policy's waits are exhausted."""

    def __init__(
        self, message: str, *, reason: str, mailbox: str, retry_after: float, status: int | None = 429
    ) -> None:
        GmailError.__init__(self, message, reason=reason, mailbox=mailbox, status=status)
        self.retry_after = retry_after


class DailyLimitExceeded(GmailError, PermanentError):
    """403 `dailyLimitExceeded`: pause this mailbox until its window allows; `retry_after` when Google said."""

    def __init__(
        self, message: str, *, reason: str, mailbox: str, retry_after: float | None = None, status: int | None = 403
    ) -> None:
        GmailError.__init__(self, message, reason=reason, mailbox=mailbox, status=status)
        self.retry_after = retry_after


class AuthRequired(GmailError, PermanentError):
    """The mailbox must be reconnected: the refresh token was refused (`invalid_grant`), a fresh access token
    was refused again, or the grant lacks the Gmail scope."""


class HistoryExpired(GmailError, NotFound):
    """`history.list` answered 404: the stored start history id is too old; resync with `list_since`."""


class SendOutcomeUnknown(GmailError, PermanentError):
    """`messages.send` may or may not have stored the message: look its Message-ID up before any resend."""


class GmailUnavailable(GmailError, Transient):
    """Gmail did not answer properly (5xx, timeout, network, open circuit); read calls were retried first.

    On `send` this means the request certainly did not go out (`reason` `connect` or `circuitOpen`)."""

    def __init__(
        self, message: str, *, reason: str, mailbox: str, status: int | None = None, retry_in: float = 0.0
    ) -> None:
        GmailError.__init__(self, message, reason=reason, mailbox=mailbox, status=status)
        self.retry_in = retry_in


class MessageRejected(GmailError, PermanentError):
    """Gmail refused the request itself (4xx such as 400 `invalidArgument`): fix it, do not retry."""


class MessageNotFound(MessageRejected, NotFound):
    """404 on a message (deleted or never there)."""


class Unauthorized(GmailError, AuthExpired):
    """401 on an API call: the policy refreshes the access token once; the client turns a second 401 into
    `AuthRequired`. Not raised to callers."""


def google_error(content: bytes | str | None) -> tuple[str, str]:
    """(reason, message) from Google's error JSON; ("", "") when the body is not that shape."""
    try:
        body: Any = json.loads(content or b"")
    except (ValueError, TypeError):
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    message = str(error.get("message") or "")[:200]
    details = error.get("errors")
    reason = ""
    if isinstance(details, list) and details and isinstance(details[0], dict):
        reason = str(details[0].get("reason") or "")
    return reason or str(error.get("status") or ""), message


def retry_after_seconds(header: str | None, message: str, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header, else from Gmail's "Retry after <time>" text; None if neither."""
    if header is not None and str(header).strip():
        return parse_retry_after(header)
    match = _RETRY_AFTER_TEXT.search(message)
    if match is None:
        return None
    when = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def from_http(
    status: int, headers: dict[str, str], content: bytes | str | None, *, mailbox: str, call: str
) -> GmailError:
    """The Gmail error for a non-2xx answer to `call` (`send`, `messages.get`, `history.list`, ...)."""
    reason, message = google_error(content)
    message = message or f"HTTP {status}"
    retry_after = retry_after_seconds(headers.get("retry-after"), message)
    args: dict[str, Any] = {"mailbox": mailbox, "status": status}
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
        wait = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
        return RateLimited(message, reason=reason or "rateLimitExceeded", retry_after=wait, **args)
    if status == 403 and reason in DAILY_LIMIT_REASONS:
        return DailyLimitExceeded(message, reason=reason, retry_after=retry_after, **args)
    if status == 403 and reason in SCOPE_REASONS:
        return AuthRequired(message, reason=reason, **args)
    if status == 401:
        return Unauthorized(message, reason=reason or "authError", **args)
    if status == 404 and call == "history.list":
        return HistoryExpired(message, reason=reason or "notFound", **args)
    if status == 404:
        return MessageNotFound(message, reason=reason or "notFound", **args)
    if status == 408 or status >= 500:
        return GmailUnavailable(message, reason=reason or "backendError", **args)
    return MessageRejected(message, reason=reason or "badRequest", **args)
