"""DataForSEO v3 SERP documents: the organic results Backbeat reads, the task envelope, and its status codes.

Every answer is HTTP 200 with an envelope (`version, status_code, status_message, time, cost, tasks_count,
tasks_error, tasks`); each task carries its own `status_code`, `status_message`, `cost` and `result`. 20000 is
"Ok."; anything else is an error named by its code (the appendix/errors list), mapped onto the shared taxonomy:

| codes | meaning | raised as |
|---|---|---|
| 40100 (or HTTP 401) | credentials refused | `SerpAuthFailed` (never retried: Basic auth has nothing to refresh) |
| 40200, 40201, 40203, 40210 (HTTP 402) | payment required, suspended, cost limit, no funds | `SerpPaymentRequired` |
| 40202, 40209 | rate limit per minute, too many concurrent requests | `RateLimited` (waited out, retried) |
| 40101, 5xxxx | search engine or DataForSEO internal error | `Transient` (backed off, retried) |
| 40102 | no search results | not an error: an empty result |
| any other 4xxxx (40501 invalid field, 40503 POST data invalid, ...) | the request is wrong | `SerpTaskError` |

A failed task may still cost money (40101 is billable): every error carries the `cost` its envelope reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from integrations.resilience import PermanentError, RateLimited, Transient
from integrations.resilience.errors import IntegrationError
from integrations.resilience.payload import Payload

SERVICE = "serp"
OK = 20000
NO_RESULTS = 40102
AUTH_CODES = frozenset({40100})
PAYMENT_CODES = frozenset({40200, 40201, 40203, 40210})
RATE_LIMIT_CODES = frozenset({40202, 40209})
TRANSIENT_CODES = frozenset({40101})
RATE_LIMIT_WAIT_S = 60.0  # 40202 is a per-minute limit: the envelope gives no Retry-After


class SerpError(PermanentError):
    """A DataForSEO status code other than 20000; `code` is it, `cost` what the envelope still charged."""

    def __init__(self, message: str, *, code: int, cost: Decimal = Decimal(0), status: int | None = 200) -> None:
        super().__init__(message, service=SERVICE, status=status)
        self.code = code
        self.cost = cost


class SerpTaskError(SerpError):
    """The task was refused as asked (e.g. 40501 invalid field): asking again the same way fails the same way."""


class SerpPaymentRequired(SerpError):
    """The account cannot pay (40200 payment required, 40210 insufficient funds, 40203 cost limit, HTTP 402)."""


class SerpAuthFailed(SerpError):
    """The login and password were refused (HTTP 401 / 40100)."""


@dataclass(frozen=True)
class OrganicItem:
    """One organic result: its absolute and group rank, the domain, title, URL and snippet."""

    rank_absolute: int
    rank_group: int | None
    domain: str
    title: str | None
    url: str
    description: str | None


@dataclass(frozen=True)
class OrganicResult:
    """One task's answer: the task id, what was asked, what it cost and its organic items (other SERP features
    such as ads, maps or videos are dropped)."""

    task_id: str
    keyword: str
    location_code: int | None
    language_code: str | None
    cost: Decimal
    items: tuple[OrganicItem, ...] = field(default_factory=tuple)
    items_count: int = 0
    check_url: str | None = None


def to_decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else Decimal(0)


def error_for(code: int, message: str, cost: Decimal = Decimal(0)) -> IntegrationError:
    """The taxonomy error for a DataForSEO status code (not 20000 or 40102)."""
    text = f"{code} {message}".strip()
    if code in AUTH_CODES:
        return SerpAuthFailed(text, code=code, cost=cost, status=401)
    if code in PAYMENT_CODES:
        return SerpPaymentRequired(text, code=code, cost=cost)
    if code in RATE_LIMIT_CODES:
        return RateLimited(text, retry_after=RATE_LIMIT_WAIT_S, service=SERVICE, status=200)
    if code in TRANSIENT_CODES or code >= 50000:
        return Transient(text, service=SERVICE, status=200)
    return SerpTaskError(text, code=code, cost=cost)


def _item(p: Payload) -> OrganicItem:
    return OrganicItem(
        rank_absolute=p.integer("rank_absolute", minimum=1),
        rank_group=p.integer("rank_group", optional=True),
        domain=p.text("domain"),
        title=p.text("title", optional=True, allow_empty=True),
        url=p.text("url"),
        description=p.text("description", optional=True, allow_empty=True),
    )


def parse_live_response(doc: Any, keyword: str) -> OrganicResult:
    """The organic result of a one-task live answer, or the taxonomy error its status codes mean.

    `keyword` names the entity in a `MalformedPayload`. The envelope must hold exactly one task (one was sent).
    """
    envelope = Payload(doc, service=SERVICE, entity="serp task", entity_id=keyword)
    cost = to_decimal(envelope.data.get("cost"))
    status = envelope.integer("status_code")
    if status != OK:
        raise error_for(status, envelope.text("status_message", optional=True, allow_empty=True) or "", cost)
    tasks = envelope.objects("tasks")
    if len(tasks) != 1:
        raise envelope.error("tasks", f"holds {len(tasks)} tasks, expected 1")
    task = tasks[0]
    task_cost = to_decimal(task.data.get("cost"))
    task_status = task.integer("status_code")
    task_id = task.text("id")
    if task_status not in (OK, NO_RESULTS):
        raise error_for(task_status, task.text("status_message", optional=True, allow_empty=True) or "", task_cost)
    results = task.objects("result", optional=True)
    if task_status == NO_RESULTS or not results:
        return OrganicResult(task_id, keyword, None, None, task_cost)
    result = results[0]
    items = tuple(_item(p) for p in result.objects("items", optional=True) if p.data.get("type") == "organic")
    return OrganicResult(
        task_id=task_id,
        keyword=result.text("keyword", optional=True) or keyword,
        location_code=result.integer("location_code", optional=True),
        language_code=result.text("language_code", optional=True),
        cost=task_cost,
        items=tuple(sorted(items, key=lambda i: i.rank_absolute)),
        items_count=result.integer("items_count", optional=True) or len(items),
        check_url=result.text("check_url", optional=True),
    )
