"""A Hunter-style email finder over plain `requests` and the shared resilience layer.

Three endpoints (`GET /v2/domain-search`, `/v2/email-finder`, `/v2/email-verifier`), each answering
`{"data": {...}, "meta": {...}}`. The API key travels in the `X-API-KEY` header (Hunter accepts it there or as
`api_key` in the query): a header never lands in a URL, a log line or an error message.

Hunter allows 15 requests per second (10 for the verifier) per key; the client keeps under that with a token
bucket per key and endpoint, shared in the process. Errors follow `errors.py`: throttles are waited out,
an exhausted plan, a refused key, a bad question or a claimed address fail at once.

`request(operation, params)` returns the JSON document as received (what the enrichment cache stores);
`domain_search`, `email_finder` and `email_verifier` parse it with `models.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from integrations.emailfinder.errors import classify_response
from integrations.emailfinder.models import (
    DOMAIN_SEARCH,
    EMAIL_FINDER,
    EMAIL_VERIFIER,
    SERVICE,
    DomainSearch,
    EmailFound,
    Verification,
    parse_domain_search,
    parse_email_finder,
    parse_verification,
)
from integrations.resilience import (
    CallStats,
    CircuitBreaker,
    MalformedPayload,
    RetryPolicy,
    TokenBucket,
    breaker_for,
    bucket_for,
)
from integrations.resilience.http import credential_id, json_or_none
from integrations.retry import Backoff

DEFAULT_BASE_URL = "https://api.hunter.io/v2/"
PATHS = {DOMAIN_SEARCH: "domain-search", EMAIL_FINDER: "email-finder", EMAIL_VERIFIER: "email-verifier"}
REQUESTS_PER_SECOND = {DOMAIN_SEARCH: 15.0, EMAIL_FINDER: 15.0, EMAIL_VERIFIER: 10.0}
BACKOFF = Backoff(base=0.5, factor=2.0, maximum=20.0)


class EmailFinderClient:
    """Client of a Hunter-style API for one API key. `policy`, `breaker` and `buckets` are injectable for tests
    (a `RetryPolicy(sleep=clock.sleep)` makes every wait instant and recorded)."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        buckets: Mapping[str, TokenBucket] | None = None,
        requests_per_second: Mapping[str, float] | None = None,
        timeout: float = 20.0,
    ) -> None:
        if not api_key.strip():
            raise ValueError("the email finder needs an API key")
        self._api_key = api_key
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"X-API-KEY": api_key, "Accept": "application/json", "User-Agent": "Backbeat"})
        self.policy = policy or RetryPolicy(backoff=BACKOFF)
        self.breaker = breaker or breaker_for(f"{SERVICE}@{self.base_url}")
        key_hash = credential_id(api_key)
        rates = {**REQUESTS_PER_SECOND, **(requests_per_second or {})}
        host = urlsplit(self.base_url).netloc
        self.buckets = dict(buckets or {})
        for operation, rate in rates.items():
            self.buckets.setdefault(operation, bucket_for(f"{SERVICE}:{host}:{key_hash}:{operation}", rate))
        self.stats = CallStats()

    def __repr__(self) -> str:
        return f"EmailFinderClient(base_url={self.base_url!r})"  # never the key

    def request(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """GET the operation's endpoint under the retry policy; the decoded JSON document of a 200 answer.

        Raises the taxonomy errors of `errors.py` (`UsageExhausted`, `RateLimited` after the retries,
        `AuthExpired`, `InvalidRequest`, `ClaimedEmail`, `Transient`, `CircuitOpen`) or `MalformedPayload`."""
        if operation not in PATHS:
            raise ValueError(f"unknown operation {operation!r}; expected one of {sorted(PATHS)}")
        url = self.base_url + PATHS[operation]
        query = {k: v for k, v in params.items() if v is not None}

        def once() -> dict[str, Any]:
            response = self.session.get(url, params=query, timeout=self.timeout)
            error = classify_response(response, service=SERVICE)
            if error is not None:
                raise error
            doc = json_or_none(response)
            if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
                raise MalformedPayload(
                    service=SERVICE,
                    entity=operation,
                    entity_id=str(next(iter(query.values()), "")),
                    field="data",
                    problem="is missing or not an object",
                )
            return doc

        return self.policy.run(
            once,
            service=SERVICE,
            breaker=self.breaker,
            bucket=self.buckets[operation],
            stats=self.stats,
            label=operation,
        )

    def domain_search(self, domain: str, *, limit: int = 10, offset: int = 0, type: str | None = None) -> DomainSearch:
        """Addresses Hunter knows at `domain` (at most `limit`, 1-100), with confidence and last verification."""
        doc = self.request(DOMAIN_SEARCH, {"domain": domain, "limit": limit, "offset": offset or None, "type": type})
        return parse_domain_search(doc, domain)

    def email_finder(self, domain: str, first_name: str, last_name: str) -> EmailFound:
        """The most likely address of a person at `domain`, with Hunter's confidence score."""
        doc = self.request(EMAIL_FINDER, {"domain": domain, "first_name": first_name, "last_name": last_name})
        return parse_email_finder(doc, domain, first_name, last_name)

    def email_verifier(self, email: str) -> Verification:
        """Whether `email` is deliverable: status, result, score and the accept_all/disposable/webmail flags."""
        return parse_verification(self.request(EMAIL_VERIFIER, {"email": email}), email)
