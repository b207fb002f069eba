"""Hunter-style email finder client (domain search, email finder, email verifier).

The Dagster resource is `integrations.emailfinder.resource.EmailFinderResource` (imported on its own, so the
client stays free of Dagster's import time).
"""

from integrations.emailfinder.client import DEFAULT_BASE_URL, EmailFinderClient
from integrations.emailfinder.errors import ClaimedEmail, InvalidRequest, UsageExhausted
from integrations.emailfinder.models import (
    DOMAIN_SEARCH,
    EMAIL_FINDER,
    EMAIL_VERIFIER,
    OPERATIONS,
    SERVICE,
    DomainSearch,
    EmailFound,
    FoundEmail,
    Verification,
    max_credits,
    parse_domain_search,
    parse_email_finder,
    parse_verification,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DOMAIN_SEARCH",
    "EMAIL_FINDER",
    "EMAIL_VERIFIER",
    "OPERATIONS",
    "SERVICE",
    "ClaimedEmail",
    "DomainSearch",
    "EmailFinderClient",
    "EmailFound",
    "FoundEmail",
    "InvalidRequest",
    "UsageExhausted",
    "Verification",
    "max_credits",
    "parse_domain_search",
    "parse_email_finder",
    "parse_verification",
]
