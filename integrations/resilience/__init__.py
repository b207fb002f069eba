"""Resilience shared by every client in `integrations/`: error taxonomy, retry policy, circuit breaker per
service, token bucket per credential, and tokens encrypted at rest. See README.md beside this file."""

from integrations.resilience.breaker import CircuitBreaker, State, breaker_for
from integrations.resilience.bucket import TokenBucket, bucket_for
from integrations.resilience.errors import (
    AuthExpired,
    CircuitOpen,
    IntegrationError,
    MalformedPayload,
    NotFound,
    PermanentError,
    RateLimited,
    Transient,
    classify,
    parse_retry_after,
)
from integrations.resilience.policy import CallStats, RetryPolicy
from integrations.resilience.secrets import SECRET_KEY_ENV, SecretStoreError, TokenStore

__all__ = [
    "SECRET_KEY_ENV",
    "AuthExpired",
    "CallStats",
    "CircuitBreaker",
    "CircuitOpen",
    "IntegrationError",
    "MalformedPayload",
    "NotFound",
    "PermanentError",
    "RateLimited",
    "RetryPolicy",
    "SecretStoreError",
    "State",
    "TokenBucket",
    "TokenStore",
    "Transient",
    "breaker_for",
    "bucket_for",
    "classify",
    "parse_retry_after",
]
