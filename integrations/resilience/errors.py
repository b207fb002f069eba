"""The error taxonomy every client in `integrations/` speaks, and `classify` to map library errors onto it.

| class | raised for | the policy does |
|---|---|---|
| `RateLimited(retry_after)` | 429, or 503 with Retry-After | waits exactly Retry-After, then retries |
| `Transient` | network errors, timeouts, 408, 5xx | exponential backoff with jitter, bounded attempts |
| `AuthExpired` | 401 | refreshes the token once, then fails fast |
| `PermanentError` (`NotFound` for 404) | other 4xx, refused credentials | fails at once |
| `MalformedPayload` | a 2xx body that is not what the documentation promises | fails at once; quarantine it |
| `CircuitOpen` | the service's breaker is open | fails at once, says when to try again |

Messages never carry tokens or secrets: they are built from status codes, URLs and the service's own message.
"""

import email.utils
import time
from collections.abc import Mapping
from typing import Any

import requests
from spotipy.exceptions import SpotifyException, SpotifyOauthError

DEFAULT_RETRY_AFTER = 1.0


class IntegrationError(Exception):
    """Base of the taxonomy. `service` names the outside system; `status` is the HTTP status when there was one."""

    retryable = False

    def __init__(self, message: str, *, service: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.status = status
        self.attempts = 1  # set by the retry policy to the number of calls made before giving up

    def __str__(self) -> str:
        prefix = f"{self.service}: " if self.service else ""
        suffix = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{prefix}{self.message}{suffix}"


class RateLimited(IntegrationError):
    """The service asked us to slow down; `retry_after` is how many seconds it wants us to wait."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float, service: str = "", status: int | None = 429) -> None:
        super().__init__(message, service=service, status=status)
        self.retry_after = retry_after


class Transient(IntegrationError):
    """A failure that may well succeed if tried again later: network, timeout, 5xx."""

    retryable = True


class AuthExpired(IntegrationError):
    """The service refused our access token (401): refresh it once; refused again means fail."""


class PermanentError(IntegrationError):
    """A request that will fail the same way every time (4xx other than 401/408/429): never retried."""


class NotFound(PermanentError):
    """404: the thing asked for does not exist at the service."""


class CircuitOpen(IntegrationError):
    """The service's circuit breaker is open; `retry_in` seconds until it lets a trial call through."""

    def __init__(self, message: str, *, retry_in: float, service: str = "") -> None:
        super().__init__(message, service=service)
        self.retry_in = retry_in


class MalformedPayload(IntegrationError):
    """A response body that breaks the documented shape, named precisely enough to quarantine.

    `entity` is what was being read ("album", "track", "recording", "response"), `entity_id` its id at the
    service, `field` the dotted path that is wrong (`tracks.items[3].duration_ms`), `problem` what is wrong.
    `reason` is the one-line text for `quarantine.rejected_rows`.
    """

    def __init__(self, *, service: str, entity: str, entity_id: str, field: str, problem: str) -> None:
        self.entity = entity
        self.entity_id = entity_id
        self.field = field
        self.problem = problem
        super().__init__(f"{entity} {entity_id}: field '{field}' {problem}", service=service)

    @property
    def reason(self) -> str:
        return str(self)


def parse_retry_after(value: str | None, *, now: float | None = None, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; `default` when absent or bad."""
    if value is None or not str(value).strip():
        return default
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def from_status(
    status: int, headers: Mapping[str, str] | None = None, *, detail: str = "", service: str = ""
) -> IntegrationError | None:
    """The taxonomy class for an HTTP status (None for success and redirects)."""
    headers = headers or {}
    message = f"HTTP {status}" + (f": {detail}" if detail else "")
    retry_after = headers.get("Retry-After")
    if status == 429 or (status == 503 and retry_after is not None):
        return RateLimited(message, retry_after=parse_retry_after(retry_after), service=service, status=status)
    if status == 401:
        return AuthExpired(message, service=service, status=status)
    if status == 408 or status >= 500:
        return Transient(message, service=service, status=status)
    if status == 404:
        return NotFound(message, service=service, status=status)
    if status >= 400:
        return PermanentError(message, service=service, status=status)
    return None


def _response_detail(response: requests.Response) -> str:
    """The service's own short error message from a response body, without echoing large bodies."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason or ""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("status") or "")[:200]
        if error:
            return str(error)[:200]
        if body.get("error_description"):
            return str(body["error_description"])[:200]
    return response.reason or ""


def _http_error_in_chain(exc: BaseException) -> requests.HTTPError | None:
    seen = exc
    while seen is not None:
        if isinstance(seen, requests.HTTPError) and seen.response is not None:
            return seen
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return None


def classify(obj: BaseException | requests.Response, *, service: str = "") -> IntegrationError | None:
    """Map a `requests` response or a `requests`/`spotipy` exception onto the taxonomy.

    Returns None for a successful response and for exceptions that are not about the outside system
    (programming errors must propagate untouched, not be retried).
    """
    if isinstance(obj, IntegrationError):
        if service and not obj.service:
            obj.service = service
        return obj
    if isinstance(obj, requests.Response):
        return from_status(obj.status_code, obj.headers, detail=_response_detail(obj), service=service)
    if isinstance(obj, SpotifyException):
        detail = str(obj.msg).strip().splitlines()[-1].strip() if obj.msg else ""
        return from_status(obj.http_status, obj.headers, detail=detail, service=service) or PermanentError(
            f"HTTP {obj.http_status}: {detail}", service=service, status=obj.http_status
        )
    if isinstance(obj, SpotifyOauthError):
        # spotipy drops the token endpoint's status; the HTTPError it was raised from still has it.
        http_error = _http_error_in_chain(obj)
        response = http_error.response if http_error is not None else None
        status = response.status_code if response is not None else None
        detail = f"token request refused: {obj.error or 'error'}"
        if response is not None and status is not None and (status in (408, 429) or status >= 500):
            return from_status(status, response.headers, detail=detail, service=service)
        return PermanentError(detail, service=service, status=status)
    if isinstance(obj, requests.HTTPError) and obj.response is not None:
        return classify(obj.response, service=service)
    if isinstance(obj, requests.exceptions.RetryError):
        return Transient(f"transport gave up: {type(obj).__name__}", service=service)
    if isinstance(
        obj,
        (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            ConnectionError,
            TimeoutError,
        ),
    ):
        return Transient(f"network: {type(obj).__name__}", service=service)
    return None
