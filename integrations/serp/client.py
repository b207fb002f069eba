"""DataForSEO v3 SERP over plain `requests`: Google organic results, live mode, one task per request.

`POST /v3/serp/google/organic/live/advanced` with a JSON array of one task (`keyword`, `location_code` or
`location_name`, `language_code`, `depth`) and HTTP Basic auth (API login and password). Live mode answers in
the same request, so there is no task_post / task_get polling. Errors come in two layers: the HTTP status
(401, 402, 429, 5xx: classified by the shared taxonomy) and the envelope's status codes (see `models.py`).
Every call runs under the shared `RetryPolicy`, the service's circuit breaker and the credential's bucket;
`spent_usd` adds up the cost of every envelope received, failed tasks included (some are billable).
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import requests

from integrations.resilience import (
    CallStats,
    CircuitBreaker,
    PermanentError,
    RetryPolicy,
    TokenBucket,
    breaker_for,
    bucket_for,
    classify,
)
from integrations.resilience.http import json_or_none
from integrations.serp.models import (
    SERVICE,
    OrganicResult,
    SerpAuthFailed,
    SerpPaymentRequired,
    parse_live_response,
    to_decimal,
)

DEFAULT_BASE_URL = "https://api.dataforseo.com"
ORGANIC_LIVE_PATH = "/v3/serp/google/organic/live/advanced"
MAX_KEYWORD_CHARS = 700
MAX_DEPTH = 700
DEFAULT_REQUESTS_PER_SECOND = 30.0  # DataForSEO allows 2,000 live calls a minute per account


class SerpClient:
    """Google organic SERP in DataForSEO's live mode. Thread-safe; one instance per API login."""

    def __init__(
        self,
        login: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        bucket: TokenBucket | None = None,
        timeout: float = 60.0,
    ) -> None:
        if not (login.strip() and password):
            raise ValueError("DataForSEO needs an API login and password")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = (login, password)
        self.session.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
        self.policy = policy or RetryPolicy()
        self.breaker = breaker or breaker_for(f"{SERVICE}@{self.base_url}")
        self.bucket = bucket or bucket_for(f"{SERVICE}:{login}@{self.base_url}", requests_per_second)
        self.stats = CallStats()
        self._lock = threading.Lock()
        self._spent = Decimal(0)

    def __repr__(self) -> str:  # never the password
        return f"SerpClient(base_url={self.base_url!r})"

    @property
    def spent_usd(self) -> Decimal:
        """Money charged by every envelope this client received (USD), failed tasks included."""
        with self._lock:
            return self._spent

    def organic_live(
        self,
        keyword: str,
        *,
        location_code: int | None = None,
        location_name: str | None = None,
        language_code: str = "en",
        depth: int = 10,
    ) -> OrganicResult:
        """The organic results for `keyword` in one location (its code, or its full name such as
        "London,England,United Kingdom") and language, `depth` results deep (billed per 10).

        Raises `SerpAuthFailed`, `SerpPaymentRequired`, `SerpTaskError` (e.g. 40501 invalid field),
        `RateLimited` / `Transient` after the policy gave up, or `MalformedPayload`.
        """
        task = _task(keyword, location_code, location_name, language_code, depth)
        url = self.base_url + ORGANIC_LIVE_PATH

        def once() -> OrganicResult:
            response = self.session.post(url, json=[task], timeout=self.timeout)
            if response.status_code == 401:
                raise SerpAuthFailed("HTTP 401: credentials refused", code=40100, status=401)
            if response.status_code == 402:
                raise SerpPaymentRequired("HTTP 402: payment required", code=40200, status=402)
            error = classify(response, service=SERVICE)
            if error is not None:
                raise error
            doc = json_or_none(response)
            if isinstance(doc, dict):
                with self._lock:
                    self._spent += to_decimal(doc.get("cost"))
            return parse_live_response(doc, task["keyword"])

        return self.policy.run(
            once, service=SERVICE, breaker=self.breaker, bucket=self.bucket, stats=self.stats, label="organic_live"
        )


def _task(
    keyword: str, location_code: int | None, location_name: str | None, language_code: str, depth: int
) -> dict[str, Any]:
    """The task object, checked before any money is spent on it."""
    text = " ".join(keyword.split())
    if not text or len(text) > MAX_KEYWORD_CHARS:
        raise PermanentError(f"keyword must be 1-{MAX_KEYWORD_CHARS} characters", service=SERVICE)
    if (location_code is None) == (location_name is None or not location_name.strip()):
        raise PermanentError("give exactly one of location_code and location_name", service=SERVICE)
    if not 1 <= depth <= MAX_DEPTH:
        raise PermanentError(f"depth must be 1-{MAX_DEPTH}", service=SERVICE)
    task: dict[str, Any] = {"keyword": text, "language_code": language_code, "depth": depth}
    if location_code is not None:
        task["location_code"] = location_code
    else:
        task["location_name"] = location_name
    return task
