"""DataForSEO-style SERP client (Google organic, live mode, through the shared resilience layer) and its resource.

The resource is imported on first use, so plain-Python callers do not pay Dagster's import time.
"""

from typing import TYPE_CHECKING, Any

from integrations.serp.client import DEFAULT_BASE_URL, ORGANIC_LIVE_PATH, SerpClient
from integrations.serp.models import (
    OrganicItem,
    OrganicResult,
    SerpAuthFailed,
    SerpError,
    SerpPaymentRequired,
    SerpTaskError,
    error_for,
    parse_live_response,
)

if TYPE_CHECKING:
    from integrations.serp.resource import SerpResource

__all__ = [
    "DEFAULT_BASE_URL",
    "ORGANIC_LIVE_PATH",
    "OrganicItem",
    "OrganicResult",
    "SerpAuthFailed",
    "SerpClient",
    "SerpError",
    "SerpPaymentRequired",
    "SerpResource",
    "SerpTaskError",
    "error_for",
    "parse_live_response",
]


def __getattr__(name: str) -> Any:
    if name == "SerpResource":
        from integrations.serp.resource import SerpResource

        return SerpResource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
