"""Hunter v2's error answers mapped onto the shared taxonomy (`integrations.resilience.errors`).

Hunter documents (hunter.io/api-documentation/v2, "Errors"): 400 a missing or invalid parameter (`wrong_params`),
401 no valid API key (`authentication_failed`), 403 "you have reached the rate limit" (per second / per minute),
429 "you have reached your usage limit" (the plan's monthly credits), 451 the person asked Hunter to stop
processing their data (`claimed_email`), 5xx its own failures; the email verifier answers 202 while it is still
checking. Bodies are `{"errors": [{"id", "code", "details"}]}`.

| answer | raised | the retry policy |
|---|---|---|
| 403, or 429 with Retry-After (a throttle) | `RateLimited` (Retry-After, else 1 s) | waits, retries |
| 429 without Retry-After, 402 | `UsageExhausted` | fails at once: the month's credits are gone |
| 401 | `AuthExpired` (an API key has no refresh) | fails at once |
| 400, 422 | `InvalidRequest` | fails at once |
| 451 | `ClaimedEmail` | fails at once; never ask about this person again |
| 202 | `Transient` (verification still running) | backs off, asks again (Hunter counts it once) |
| 408, 5xx, network | `Transient` | backs off, retries |
"""

from __future__ import annotations

from typing import Any

import requests

from integrations.resilience.errors import (
    AuthExpired,
    IntegrationError,
    NotFound,
    PermanentError,
    RateLimited,
    Transient,
    from_status,
    parse_retry_after,
)

RATE_LIMIT_WAIT = 1.0
"""Hunter sends no Retry-After with its 403: its limits are per second, so one second is the wait."""


class UsageExhausted(PermanentError):
    """The plan's credits for the month are used up (429 without Retry-After, or 402): stop calling."""


class InvalidRequest(PermanentError):
    """A parameter is missing or invalid (400 `wrong_params`, 422): this question will always fail."""


class ClaimedEmail(PermanentError):
    """451: the person behind the address asked Hunter to stop processing their data; never store them."""


def error_detail(response: requests.Response) -> tuple[str, str]:
    """`(id, details)` of the first entry of Hunter's `errors` list ('' when the body has none)."""
    try:
        body: Any = response.json()
    except ValueError:
        return "", (response.reason or "")[:200]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return str(first.get("id") or ""), str(first.get("details") or "")[:200]
    return "", (response.reason or "")[:200]


def classify_response(response: requests.Response, *, service: str) -> IntegrationError | None:
    """The taxonomy error for a Hunter answer, or None when it is a usable 200/201."""
    status = response.status_code
    if status in (200, 201):
        return None
    if status == 202:
        return Transient("HTTP 202: verification still running", service=service, status=status)
    error_id, details = error_detail(response)
    message = f"HTTP {status}" + (f" {error_id}" if error_id else "") + (f": {details}" if details else "")
    retry_after = response.headers.get("Retry-After")
    if status == 403 or (status == 429 and retry_after is not None):
        wait = parse_retry_after(retry_after, default=RATE_LIMIT_WAIT)
        return RateLimited(message, retry_after=wait, service=service, status=status)
    if status in (402, 429):
        return UsageExhausted(message, service=service, status=status)
    if status == 401:
        return AuthExpired(message, service=service, status=status)
    if status in (400, 422):
        return InvalidRequest(message, service=service, status=status)
    if status == 404:
        return NotFound(message, service=service, status=status)
    if status == 451:
        return ClaimedEmail(message, service=service, status=status)
    return from_status(status, response.headers, detail=details, service=service) or PermanentError(
        message, service=service, status=status
    )
