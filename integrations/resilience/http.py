"""Small pieces every `requests`-based client repeats inside its `RetryPolicy` attempt."""

import hashlib
from typing import Any

import requests


def json_or_none(response: requests.Response) -> Any:
    """The decoded JSON body of `response`, or None when it is not JSON (the parser then reports it malformed)."""
    try:
        return response.json()
    except ValueError:
        return None


def credential_id(secret: str) -> str:
    """A short digest naming a credential in bucket and breaker keys, so the secret itself is never held there."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]
