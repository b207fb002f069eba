"""A Gemini-style text-generation client over plain `requests` and the shared resilience layer.

`POST {base_url}/v1beta/models/{model}:generateContent` with the API key in the `x-goog-api-key` header (never
in the URL, so it stays out of logs). 429 waits (Retry-After or Google's `RetryInfo.retryDelay`), 5xx and
network errors back off, everything else fails at once; see `errors.py`.
"""

from urllib.parse import quote

import requests

from integrations.resilience import (
    CallStats,
    CircuitBreaker,
    RetryPolicy,
    TokenBucket,
    breaker_for,
    bucket_for,
)
from integrations.resilience.http import credential_id, json_or_none
from integrations.textgen.errors import SERVICE, InvalidApiKey, Unavailable, error_from_response
from integrations.textgen.models import Generation, parse_generation, request_body

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"


class TextGenClient:
    """One API key against one base URL; `generate` is one logical request under the retry policy."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        requests_per_second: float = 1.0,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        bucket: TokenBucket | None = None,
        timeout: float = 60.0,
    ) -> None:
        if not api_key.strip():
            raise InvalidApiKey("no API key configured")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"x-goog-api-key": api_key, "Content-Type": "application/json"})
        self.policy = policy or RetryPolicy()
        self.breaker = breaker or breaker_for(f"{SERVICE}@{self.base_url}")
        self.bucket = bucket or bucket_for(f"{SERVICE}:{self.base_url}:{credential_id(api_key)}", requests_per_second)
        self.stats = CallStats()

    def __repr__(self) -> str:
        return f"TextGenClient(base_url={self.base_url!r})"

    def url(self, model: str) -> str:
        name = model.removeprefix("models/")
        return f"{self.base_url}/{API_VERSION}/models/{quote(name, safe='-._')}:generateContent"

    def generate(
        self,
        model: str,
        prompt: str,
        *,
        system_instruction: str | None = None,
        temperature: float | None = None,
        max_output_tokens: int | None = None,
    ) -> Generation:
        """The first candidate's text for `prompt`; raises the taxonomy errors of `errors.py`."""
        url = self.url(model)
        body = request_body(
            prompt, system_instruction=system_instruction, temperature=temperature, max_output_tokens=max_output_tokens
        )

        def once() -> Generation:
            try:
                response = self.session.post(url, json=body, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise Unavailable(f"network: {type(exc).__name__}") from exc
            error = error_from_response(response)
            if error is not None:
                raise error
            doc = json_or_none(response)
            return parse_generation(doc, model)

        return self.policy.run(
            once, service=SERVICE, breaker=self.breaker, bucket=self.bucket, stats=self.stats, label="generate"
        )
