"""Hunter v2 answers as typed values, and the credits each answer costs as Hunter counts them.

Every answer is `{"data": {...}, "meta": {...}}`; errors are `{"errors": [{"id", "code", "details"}]}`.
The parsers take the decoded JSON document (as received, or as stored in the enrichment cache) and raise
`MalformedPayload` naming the field that breaks the documented shape.

Credits (Hunter's pricing, "failed lookups are free"): a domain search costs 1 credit per started block of 10
addresses returned (0 when none), an email finder 1 credit when it finds an address (0 otherwise), an email
verification 0.5 credit. `max_credits` is the most a call can cost before it is made: what a budget reserves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from integrations.resilience.payload import Payload

SERVICE = "emailfinder"
DOMAIN_SEARCH = "domain_search"
EMAIL_FINDER = "email_finder"
EMAIL_VERIFIER = "email_verifier"
OPERATIONS = (DOMAIN_SEARCH, EMAIL_FINDER, EMAIL_VERIFIER)
VERIFICATION_CREDITS = 0.5
VERIFIER_STATUSES = ("valid", "invalid", "accept_all", "webmail", "disposable", "unknown")
RESULTS = ("deliverable", "risky", "undeliverable", "unknown")
# `result` is deprecated by Hunter in favour of `status`; when absent it is derived from the status.
_RESULT_OF_STATUS = {
    "valid": "deliverable",
    "invalid": "undeliverable",
    "accept_all": "risky",
    "webmail": "risky",
    "disposable": "risky",
    "unknown": "unknown",
}


def max_credits(operation: str, *, limit: int = 10) -> float:
    """The most one call of `operation` can cost (a domain search asking for `limit` addresses)."""
    if operation == DOMAIN_SEARCH:
        return float(math.ceil(max(1, limit) / 10))
    if operation == EMAIL_FINDER:
        return 1.0
    if operation == EMAIL_VERIFIER:
        return VERIFICATION_CREDITS
    raise ValueError(f"unknown operation {operation!r}; expected one of {OPERATIONS}")


@dataclass(frozen=True)
class FoundEmail:
    """One address of a domain search: `confidence` 0-100, `type` personal or generic, `status` Hunter's last
    verification status of it (or None)."""

    value: str
    type: str | None
    confidence: int | None
    first_name: str | None
    last_name: str | None
    position: str | None
    department: str | None
    status: str | None


@dataclass(frozen=True)
class DomainSearch:
    """`GET /v2/domain-search`: the domain's flags, its address pattern, organisation and addresses."""

    domain: str
    organization: str | None
    pattern: str | None
    accept_all: bool | None
    disposable: bool | None
    webmail: bool | None
    emails: tuple[FoundEmail, ...]
    results: int | None

    @property
    def credits(self) -> float:
        return float(math.ceil(len(self.emails) / 10))


@dataclass(frozen=True)
class EmailFound:
    """`GET /v2/email-finder`: the most likely address of a person at a domain (`email` None: not found)."""

    domain: str
    first_name: str | None
    last_name: str | None
    email: str | None
    score: int | None
    position: str | None
    accept_all: bool | None
    status: str | None

    @property
    def credits(self) -> float:
        return 1.0 if self.email else 0.0


@dataclass(frozen=True)
class Verification:
    """`GET /v2/email-verifier`: `status` (valid, invalid, accept_all, webmail, disposable, unknown), `result`
    (deliverable, risky, undeliverable, unknown), `score` 0-100 and the flags."""

    email: str
    status: str
    result: str
    score: int | None
    accept_all: bool
    disposable: bool
    webmail: bool
    gibberish: bool
    mx_records: bool | None
    smtp_check: bool | None

    @property
    def credits(self) -> float:
        return VERIFICATION_CREDITS


def _data(doc: Any, entity: str, entity_id: str) -> Payload:
    root = Payload(doc, service=SERVICE, entity=entity, entity_id=entity_id)
    data = root.obj("data")
    assert data is not None  # obj() raises on a missing required object
    return data


def _bool(p: Payload, key: str) -> bool | None:
    value = p.data.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise p.error(key, f"is {type(value).__name__}, expected a boolean")
    return value


def _status(p: Payload) -> str | None:
    verification = p.obj("verification", optional=True)
    if verification is None:
        return None
    status = verification.text("status", optional=True)
    if status is not None and status not in VERIFIER_STATUSES:
        raise verification.error("status", f"is {status!r}, expected one of {VERIFIER_STATUSES}")
    return status


def parse_domain_search(doc: Any, domain: str) -> DomainSearch:
    """A domain-search answer for `domain`."""
    data = _data(doc, "domain_search", domain)
    emails = []
    for item in data.objects("emails", optional=True):
        emails.append(
            FoundEmail(
                value=item.text("value").strip().lower(),
                type=item.text("type", optional=True),
                confidence=item.integer("confidence", optional=True, minimum=0, maximum=100),
                first_name=item.text("first_name", optional=True, allow_empty=True),
                last_name=item.text("last_name", optional=True, allow_empty=True),
                position=item.text("position", optional=True, allow_empty=True),
                department=item.text("department", optional=True, allow_empty=True),
                status=_status(item),
            )
        )
    meta = doc.get("meta") if isinstance(doc, dict) else None
    results = meta.get("results") if isinstance(meta, dict) and isinstance(meta.get("results"), int) else None
    return DomainSearch(
        domain=(data.text("domain", optional=True) or domain).lower(),
        organization=data.text("organization", optional=True, allow_empty=True),
        pattern=data.text("pattern", optional=True, allow_empty=True),
        accept_all=_bool(data, "accept_all"),
        disposable=_bool(data, "disposable"),
        webmail=_bool(data, "webmail"),
        emails=tuple(emails),
        results=results,
    )


def parse_email_finder(doc: Any, domain: str, first_name: str, last_name: str) -> EmailFound:
    """An email-finder answer for a person at `domain`."""
    data = _data(doc, "email_finder", f"{domain}|{first_name}|{last_name}")
    email = data.text("email", optional=True)
    return EmailFound(
        domain=(data.text("domain", optional=True) or domain).lower(),
        first_name=data.text("first_name", optional=True, allow_empty=True),
        last_name=data.text("last_name", optional=True, allow_empty=True),
        email=email.strip().lower() if email else None,
        score=data.integer("score", optional=True, minimum=0, maximum=100),
        position=data.text("position", optional=True, allow_empty=True),
        accept_all=_bool(data, "accept_all"),
        status=_status(data),
    )


def parse_verification(doc: Any, email: str) -> Verification:
    """An email-verifier answer for `email`."""
    data = _data(doc, "email_verifier", email)
    status = data.text("status")
    if status not in VERIFIER_STATUSES:
        raise data.error("status", f"is {status!r}, expected one of {VERIFIER_STATUSES}")
    result = data.text("result", optional=True) or _RESULT_OF_STATUS[status]
    if result not in RESULTS:
        raise data.error("result", f"is {result!r}, expected one of {RESULTS}")
    return Verification(
        email=(data.text("email", optional=True) or email).strip().lower(),
        status=status,
        result=result,
        score=data.integer("score", optional=True, minimum=0, maximum=100),
        accept_all=bool(_bool(data, "accept_all")),
        disposable=bool(_bool(data, "disposable")),
        webmail=bool(_bool(data, "webmail")),
        gibberish=bool(_bool(data, "gibberish")),
        mx_records=_bool(data, "mx_records"),
        smtp_check=_bool(data, "smtp_check"),
    )
