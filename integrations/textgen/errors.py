"""Errors of a Gemini-style text-generation API mapped onto the shared taxonomy (`integrations.resilience`).

Google answers errors as `{"error": {"code", "message", "status", "details": [...]}}`. Mapping, by HTTP status
and Google's `status`:

| class | raised for | taxonomy base (what `RetryPolicy` does) |
|---|---|---|
| `RateLimited(retry_after)` | 429 `RESOURCE_EXHAUSTED` (wait from Retry-After, else `RetryInfo.retryDelay`) | waits |
| `Unavailable` | 500 `INTERNAL`, 503 `UNAVAILABLE`, 504 `DEADLINE_EXCEEDED`, network errors | backoff, bounded |
| `InvalidApiKey` | 400 with reason `API_KEY_INVALID`, 401, 403 `PERMISSION_DENIED` | fails at once |
| `ModelNotFound` | 404 `NOT_FOUND` (unknown model or method) | fails at once |
| `Refused` | other 4xx (`INVALID_ARGUMENT`, `FAILED_PRECONDITION`...) | fails at once |
| `GenerationBlocked` | a 200 without text: `promptFeedback.blockReason`, finishReason SAFETY... | fails at once |

Messages carry Google's status and message, never the API key.
"""

import re
from typing import Any

import requests

from integrations.resilience.errors import (
    IntegrationError,
    NotFound,
    PermanentError,
    Transient,
    parse_retry_after,
)
from integrations.resilience.errors import RateLimited as _RateLimited

SERVICE = "textgen"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class TextGenError(IntegrationError):
    """Base of every text-generation error: `google_status` (e.g. RESOURCE_EXHAUSTED) and `reason` (ErrorInfo)."""

    def __init__(self, message: str, *, google_status: str = "", reason: str = "", status: int | None = None) -> None:
        label = "/".join(x for x in (google_status, reason) if x)
        IntegrationError.__init__(self, f"{message} [{label}]" if label else message, service=SERVICE, status=status)
        self.detail = message
        self.google_status = google_status
        self.reason = reason


class RateLimited(TextGenError, _RateLimited):
    """429 RESOURCE_EXHAUSTED; raised only once the policy's waits are exhausted."""

    def __init__(self, message: str, *, retry_after: float, google_status: str = "", reason: str = "") -> None:
        TextGenError.__init__(self, message, google_status=google_status, reason=reason, status=429)
        self.retry_after = retry_after


class Unavailable(TextGenError, Transient):
    """5xx or the network: may work later."""


class Refused(TextGenError, PermanentError):
    """The request itself is wrong (400 and other 4xx): the same request fails the same way."""


class InvalidApiKey(Refused):
    """The API key is missing, invalid or not allowed to call the API."""


class ModelNotFound(TextGenError, NotFound):
    """404: the model (or the method on it) does not exist."""


class GenerationBlocked(Refused):
    """A 200 without usable text: the prompt or the answer was blocked (`reason` is Google's block/finish reason)."""


def retry_delay(details: Any) -> float | None:
    """Seconds from a `google.rpc.RetryInfo` detail (`"retryDelay": "37s"`), if any."""
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _error_info_reason(details: Any) -> str:
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.ErrorInfo"):
            return str(detail.get("reason") or "")
    return ""


def error_from_response(response: requests.Response) -> TextGenError | None:
    """The error a non-2xx response stands for (None for 2xx), read from Google's error JSON when present."""
    status = response.status_code
    if status < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    message = str(error.get("message") or response.reason or f"HTTP {status}")[:300]
    google_status = str(error.get("status") or "")
    details = error.get("details")
    reason = _error_info_reason(details)
    text = f"HTTP {status}: {message}"
    if status == 429:
        header = response.headers.get("Retry-After")
        wait = parse_retry_after(header) if header is not None else retry_delay(details)
        return RateLimited(text, retry_after=1.0 if wait is None else wait, google_status=google_status, reason=reason)
    if status in (408,) or status >= 500:
        return Unavailable(text, google_status=google_status, reason=reason, status=status)
    if status == 404:
        return ModelNotFound(text, google_status=google_status, reason=reason, status=status)
    if status in (401, 403) or reason == "API_KEY_INVALID":
        return InvalidApiKey(text, google_status=google_status, reason=reason, status=status)
    return Refused(text, google_status=google_status, reason=reason, status=status)
