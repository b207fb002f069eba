"""Enrichment: candidate domains → people and addresses with confidence → verification, under a budget.

For each `EnrichmentTarget` (a candidate's domain, optionally a person's name) the email finder is asked:
a person's name → email finder, else → domain search; then the best addresses (personal first, by confidence,
at most `max_emails_per_domain`) are verified. What was found goes to `outreach.candidate_emails` (every
address, with confidence and verification) and the personal addresses with confidence >= `min_confidence` that
the verifier found deliverable or risky (accept-all, webmail; never disposable) to `outreach.org_contacts` with
provenance `vendor`.

**Consent.** Vendor contacts are added with `consent = false`. The engine sends nothing without consent
(issue 15), and an address bought from a provider has agreed to nothing: someone in the organisation decides
that writing to this programmer is legitimate (`grant_vendor_consent`, which records who and on what basis in
`outreach.activity`). An address already in the register (imported, or a person who wrote to us) is never
touched: enrichment adds, it does not overwrite.

**Budget, never exceeded.** Each organisation has a monthly credit budget. Spend is `outreach.credit_ledger`
(append-only, one row per paid call, credits as the provider counts them). Before calls are made a run
reserves credits in `outreach.credit_reservations` (its own row, under a lock: the ledger's month total plus
every live reservation never passes the budget); each call first takes its *maximum* cost
(`integrations.emailfinder.max_credits`) from the run's reservation, and a call that does not fit is not made
(the run stops with `budget_exhausted`). After the call the actual cost is settled: the ledger gets the row and
the reservation shrinks by it; what is left is released when the run ends. A run that dies leaves its
reservation until its lease ends; `expire_reservations` then books it as spent in full (the calls may have
been charged), so a crash can overstate spend but never understate it.

**Cache.** Every answer is kept in `outreach.enrichment_cache` keyed by operation and normalised question
(domain; `domain|first|last`; address) for `cache_ttl_days`: a fresh answer is reused without an HTTP call or a
credit. A 451 (the person asked the provider to stop processing their data) is kept forever and never stored
as a contact; a 400 (a question that cannot be answered) is kept for the TTL.

**Errors.** An exhausted plan (429 without Retry-After / 402) stops the run cleanly (`plan_exhausted`), as do a
refused key (`auth_failed`), throttling that outlasts the retries (`rate_limited`) and an unavailable service
(`unavailable`); what was found before is written and the remaining targets are left for the next run.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from backbeat.outreach.ids import contact_id, normalise_email
from backbeat.outreach.prospecting_tables import (
    CANDIDATE_EMAILS,
    CANDIDATES,
    CREDIT_LEDGER,
    CREDIT_RESERVATIONS,
    ENRICHMENT_CACHE,
)
from backbeat.outreach.store import insert_row, log_activity
from backbeat.outreach.tables import ACTIVITY, ORG_CONTACTS
from integrations.emailfinder import (
    DOMAIN_SEARCH,
    EMAIL_FINDER,
    EMAIL_VERIFIER,
    ClaimedEmail,
    EmailFinderClient,
    InvalidRequest,
    UsageExhausted,
    Verification,
    max_credits,
    parse_domain_search,
    parse_email_finder,
    parse_verification,
)
from integrations.resilience import AuthExpired, CircuitOpen, MalformedPayload, RateLimited, Transient
from integrations.warehouse import Table, Warehouse, WarehouseConnection

PROVIDER = "emailfinder"
STATUSES = ("completed", "budget_exhausted", "plan_exhausted", "auth_failed", "rate_limited", "unavailable")

_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def _org_lock(warehouse: Warehouse, org_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault((warehouse.url, org_id), threading.Lock())


@dataclass(frozen=True)
class EnrichmentSettings:
    """How an organisation enriches: its monthly credit budget, cache lifetime, how much to ask and keep."""

    monthly_credits: float
    cache_ttl_days: int = 30
    search_limit: int = 10
    max_emails_per_domain: int = 3
    min_confidence: int = 50
    verify: bool = True
    block_credits: float = 10.0
    lease_minutes: int = 60
    flush_every: int = 50

    def __post_init__(self) -> None:
        if self.monthly_credits < 0 or self.block_credits <= 0 or not 1 <= self.search_limit <= 100:
            raise ValueError("monthly_credits >= 0, block_credits > 0 and search_limit in 1..100 are required")


@dataclass(frozen=True)
class EnrichmentTarget:
    """A candidate to enrich: its domain, the company name to store, optionally a person to look for, and the
    monitored station it is (its contacts are that station's programmers)."""

    candidate_id: str
    domain: str
    company: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    station_id: str | None = None


@dataclass
class EnrichmentReport:
    """What a run did: `status` (one of STATUSES), targets enriched, calls and cache hits per operation,
    credits spent (as booked in the ledger), addresses found, contacts added, and per-target problems."""

    run_id: str
    month: str
    status: str = "completed"
    stop_reason: str = ""
    targets_done: int = 0
    targets_left: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    cache_hits: Counter[str] = field(default_factory=Counter)
    credits_spent: float = 0.0
    emails_found: int = 0
    contacts_added: int = 0
    claimed: int = 0
    problems: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, Any]:
        """A flat dict for Dagster metadata and the CLI."""
        return {
            "run_id": self.run_id,
            "month": self.month,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "targets_done": self.targets_done,
            "targets_left": self.targets_left,
            "api_calls": sum(self.calls.values()),
            "cache_hits": sum(self.cache_hits.values()),
            "credits_spent": self.credits_spent,
            "emails_found": self.emails_found,
            "contacts_added": self.contacts_added,
            "claimed": self.claimed,
            "problems": len(self.problems),
        }

    def summary(self, left: float, budget: float) -> str:
        """One line for a person: status, domains, requests and cache hits, credits (`left` of `budget`), finds."""
        stop = f" ({self.stop_reason})" if self.stop_reason else ""
        return (
            f"{self.status}{stop}; {self.targets_done} domains enriched, {self.targets_left} left; "
            f"{sum(self.calls.values())} requests, {sum(self.cache_hits.values())} cache hits; "
            f"{self.credits_spent:g} credits spent, {left:g} of {budget:g} left this month; "
            f"{self.emails_found} addresses, {self.contacts_added} vendor contacts added (no consent)"
        )


class _Stop(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def month_of(now: datetime) -> str:
    """The budget month of a UTC time: YYYY-MM."""
    return now.strftime("%Y-%m")


def normalise_domain(domain: str) -> str:
    """A domain as the cache keys it: stripped, lower-cased, no trailing dot or leading www., IDNA ASCII."""
    host = domain.strip().lower().rstrip(".")
    host = host.removeprefix("www.")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def request_key(operation: str, *, domain: str = "", first_name: str = "", last_name: str = "", email: str = "") -> str:
    """The normalised question of an operation: the domain; `domain|first|last`; or the address."""
    if operation == DOMAIN_SEARCH:
        return normalise_domain(domain)
    if operation == EMAIL_FINDER:
        names = [" ".join(n.split()).lower() for n in (first_name, last_name)]
        return "|".join([normalise_domain(domain), *names])
    if operation == EMAIL_VERIFIER:
        return normalise_email(email)
    raise ValueError(f"unknown operation {operation!r}")


def ensure_tables(warehouse: Warehouse) -> None:
    """Create the tables enrichment reads and writes, when missing."""
    warehouse.ensure(
        CANDIDATES, CANDIDATE_EMAILS, ENRICHMENT_CACHE, CREDIT_LEDGER, CREDIT_RESERVATIONS, ORG_CONTACTS, ACTIVITY
    )


def _lock_sql(conn: WarehouseConnection, org_id: str) -> None:
    if conn.kind == "postgres":  # other processes; threads of this one hold the in-process lock too
        key = int(hashlib.sha256(f"credits|{org_id}".encode()).hexdigest()[:15], 16)
        conn.execute("SELECT pg_advisory_xact_lock(?)", [key])


def _spent(conn: WarehouseConnection, org_id: str, provider: str, month: str) -> float:
    value = conn.scalar(
        "SELECT COALESCE(SUM(credits), 0) FROM outreach.credit_ledger WHERE org_id = ? AND provider = ? AND month = ?",
        [org_id, provider, month],
    )
    return float(value or 0)


def _held(conn: WarehouseConnection, org_id: str, provider: str, month: str, exclude: str = "") -> float:
    value = conn.scalar(
        "SELECT COALESCE(SUM(credits), 0) FROM outreach.credit_reservations "
        "WHERE org_id = ? AND provider = ? AND month = ? AND reservation_id <> ?",
        [org_id, provider, month, exclude],
    )
    return float(value or 0)


def _frame(target: Table, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows as a frame of `target`'s columns (absent columns null)."""
    return target.from_rows([{c: row.get(c) for c in target.column_names} for row in rows])


_CHUNK = 500


def _delete_in(conn: WarehouseConnection, sql: str, params: list[Any], values: Sequence[str]) -> None:
    """Run `sql` (with one `IN ({})`) for `values` in chunks, so a flush is a few statements, not one a row."""
    for start in range(0, len(values), _CHUNK):
        chunk = list(values[start : start + _CHUNK])
        conn.execute(sql.format(", ".join("?" * len(chunk))), [*params, *chunk])


def _ledger_id(*parts: str) -> str:
    return "cl-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _expire(conn: WarehouseConnection, org_id: str | None, now: datetime) -> int:
    """Book reservations whose lease ended as spent in full, and drop them."""
    where = "lease_until IS NOT NULL AND lease_until < ?" + (" AND org_id = ?" if org_id else "")
    params: list[Any] = [now] + ([org_id] if org_id else [])
    stale = conn.query(
        f"SELECT reservation_id, org_id, provider, month, credits FROM outreach.credit_reservations WHERE {where}",
        params,
    )
    rows = [
        {
            "entry_id": _ledger_id("expired", r["reservation_id"], r["month"]),
            "org_id": r["org_id"],
            "provider": r["provider"],
            "operation": "expired_reservation",
            "request_key": r["reservation_id"],
            "month": r["month"],
            "credits": float(r["credits"]),
            "run_id": r["reservation_id"],
            "occurred_at": now,
        }
        for r in stale.iter_rows(named=True)
        if r["credits"] and r["credits"] > 0
    ]
    if rows:
        conn.insert(CREDIT_LEDGER, _frame(CREDIT_LEDGER, rows))
    if stale.height:
        conn.execute(f"DELETE FROM outreach.credit_reservations WHERE {where}", params)
    return stale.height


def expire_reservations(warehouse: Warehouse, *, now: datetime, org_id: str | None = None) -> int:
    """Book every reservation whose lease ended (a run that died) as spent; returns how many there were."""
    warehouse.ensure(CREDIT_LEDGER, CREDIT_RESERVATIONS)
    with warehouse.connect() as conn:
        return _expire(conn, org_id, now)


def credits_spent(warehouse: Warehouse, org_id: str, month: str, *, provider: str = PROVIDER) -> float:
    """Credits booked in the ledger for the organisation in `month` (YYYY-MM)."""
    warehouse.ensure(CREDIT_LEDGER)
    with warehouse.connect() as conn:
        return _spent(conn, org_id, provider, month)


def credits_available(
    warehouse: Warehouse, org_id: str, settings: EnrichmentSettings, *, now: datetime, provider: str = PROVIDER
) -> float:
    """Budget left this month: the budget minus ledger spend minus live reservations."""
    warehouse.ensure(CREDIT_LEDGER, CREDIT_RESERVATIONS)
    month = month_of(now)
    with warehouse.connect() as conn:
        return settings.monthly_credits - _spent(conn, org_id, provider, month) - _held(conn, org_id, provider, month)


class _Budget:
    """A run's reservation: calls take their maximum cost from it, settle the actual cost, give the rest back."""

    def __init__(
        self, warehouse: Warehouse, org_id: str, settings: EnrichmentSettings, run_id: str, now: datetime
    ) -> None:
        self.warehouse = warehouse
        self.org_id = org_id
        self.settings = settings
        self.run_id = run_id
        self.now = now
        self.month = month_of(now)
        self.held = 0.0  # credits in this run's reservation row
        self.outstanding = 0.0  # maximum costs of calls taken and not yet settled
        self.pending: list[dict[str, Any]] = []  # ledger rows not yet written
        self.pending_credits = 0.0
        self.spent = 0.0

    @property
    def free(self) -> float:
        return self.held - self.pending_credits - self.outstanding

    def _top_up(self, needed: float) -> bool:
        # blocks grow with the run's spend (at most a tenth of the budget) so long runs top up rarely
        grown = min(self.spent, self.settings.monthly_credits / 10)
        want = max(self.settings.block_credits, grown, needed - self.free)
        with _org_lock(self.warehouse, self.org_id), self.warehouse.connect() as conn:
            _lock_sql(conn, self.org_id)
            _expire(conn, self.org_id, self.now)
            used = _spent(conn, self.org_id, PROVIDER, self.month)
            others = _held(conn, self.org_id, PROVIDER, self.month, exclude=self.run_id)
            available = self.settings.monthly_credits - used - others - self.held
            if available + self.free < needed:
                return False
            grant = min(want, available)
            lease = self.now + timedelta(minutes=self.settings.lease_minutes)
            if self.held == 0 and not self._has_row(conn):
                conn.execute(
                    "INSERT INTO outreach.credit_reservations (reservation_id, org_id, provider, month, credits, "
                    "created_at, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [self.run_id, self.org_id, PROVIDER, self.month, grant, self.now, lease],
                )
            else:
                conn.execute(
                    "UPDATE outreach.credit_reservations SET credits = credits + ?, lease_until = ? "
                    "WHERE reservation_id = ?",
                    [grant, lease, self.run_id],
                )
        self.held += grant
        return True

    def _has_row(self, conn: WarehouseConnection) -> bool:
        return bool(
            conn.scalar("SELECT COUNT(*) FROM outreach.credit_reservations WHERE reservation_id = ?", [self.run_id])
        )

    def take(self, cost: float) -> bool:
        """Hold `cost` for one call; False (the call must not be made) when the budget cannot cover it."""
        if self.free < cost and not self._top_up(cost):
            return False
        self.outstanding += cost
        return True

    def settle(self, taken: float, actual: float, operation: str, key: str) -> None:
        """The call that held `taken` cost `actual` (≤ taken): book it; the difference is free again."""
        self.outstanding -= taken
        actual = min(actual, taken)
        if actual > 0:
            self.pending.append(
                {
                    "entry_id": _ledger_id(PROVIDER, operation, key, self.run_id, str(len(self.pending) + 1)),
                    "org_id": self.org_id,
                    "provider": PROVIDER,
                    "operation": operation,
                    "request_key": key,
                    "month": self.month,
                    "credits": actual,
                    "run_id": self.run_id,
                    "occurred_at": self.now,
                }
            )
            self.pending_credits += actual
            self.spent += actual

    def flush(self, conn: WarehouseConnection) -> None:
        """Write pending ledger rows and shrink the reservation by them (inside the caller's transaction)."""
        if self.pending:
            conn.insert(CREDIT_LEDGER, _frame(CREDIT_LEDGER, self.pending))
            conn.execute(
                "UPDATE outreach.credit_reservations SET credits = credits - ? WHERE reservation_id = ?",
                [self.pending_credits, self.run_id],
            )
            self.held -= self.pending_credits
        self.pending, self.pending_credits = [], 0.0

    def release(self, conn: WarehouseConnection) -> None:
        conn.execute("DELETE FROM outreach.credit_reservations WHERE reservation_id = ?", [self.run_id])
        self.held = 0.0


class _Run:
    """One enrichment run over a list of targets."""

    def __init__(
        self,
        warehouse: Warehouse,
        client: EmailFinderClient,
        org_id: str,
        settings: EnrichmentSettings,
        now: datetime,
        run_id: str,
    ) -> None:
        self.warehouse = warehouse
        self.client = client
        self.org_id = org_id
        self.settings = settings
        self.now = now
        self.budget = _Budget(warehouse, org_id, settings, run_id, now)
        self.report = EnrichmentReport(run_id=run_id, month=self.budget.month)
        self.cache: dict[tuple[str, str], tuple[int, Any]] = {}
        self.new_cache: dict[tuple[str, str], dict[str, Any]] = {}
        self.emails: dict[tuple[str, str], dict[str, Any]] = {}
        self.contacts: list[dict[str, Any]] = []
        self._load_cache()

    def _load_cache(self) -> None:
        rows = self.warehouse.query(
            "SELECT operation, request_key, http_status, response FROM outreach.enrichment_cache "
            "WHERE org_id = ? AND provider = ? AND (expires_at IS NULL OR expires_at > ?)",
            [self.org_id, PROVIDER, self.now],
        )
        for r in rows.iter_rows(named=True):
            doc = json.loads(r["response"]) if r["response"] else None
            self.cache[(r["operation"], r["request_key"])] = (int(r["http_status"] or 200), doc)

    # -- one call, through the cache and the budget -------------------------------------------------------

    def _remember(self, operation: str, key: str, status: int, doc: Any, credits: float, forever: bool) -> None:
        expires = None if forever else self.now + timedelta(days=self.settings.cache_ttl_days)
        if isinstance(doc, dict) and isinstance(doc.get("meta"), dict):
            params = doc["meta"].get("params")
            if isinstance(params, dict):
                params.pop("api_key", None)
        self.cache[(operation, key)] = (status, doc)
        self.new_cache[(operation, key)] = {
            "org_id": self.org_id,
            "provider": PROVIDER,
            "operation": operation,
            "request_key": key,
            "http_status": status,
            "response": json.dumps(doc, sort_keys=True) if doc is not None else None,
            "credits": credits,
            "fetched_at": self.now,
            "expires_at": expires,
        }

    def ask(self, operation: str, key: str, params: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
        """The parsed answer (cached or fresh); None when the question has no usable answer (400, 451)."""
        cached = self.cache.get((operation, key))
        if cached is not None:
            self.report.cache_hits[operation] += 1
            status, doc = cached
            if status == 451:
                self.report.claimed += 1
            return parse(doc) if status == 200 else None
        cost = max_credits(operation, limit=self.settings.search_limit)
        if not self.budget.take(cost):
            raise _Stop(
                "budget_exhausted",
                f"{operation} {key} needs up to {cost:g} credits; the monthly budget of "
                f"{self.settings.monthly_credits:g} has less left",
            )
        self.report.calls[operation] += 1
        try:
            doc = self.client.request(operation, params)
        except UsageExhausted as exc:
            self.budget.settle(cost, 0.0, operation, key)
            raise _Stop("plan_exhausted", str(exc)) from exc
        except ClaimedEmail:
            self.budget.settle(cost, 0.0, operation, key)
            self.report.claimed += 1
            self._remember(operation, key, 451, None, 0.0, forever=True)
            return None
        except InvalidRequest as exc:
            self.budget.settle(cost, 0.0, operation, key)
            self.report.problems.append(f"{operation} {key}: {exc}")
            self._remember(operation, key, 400, None, 0.0, forever=False)
            return None
        except AuthExpired as exc:
            self.budget.settle(cost, 0.0, operation, key)
            raise _Stop("auth_failed", str(exc)) from exc
        except RateLimited as exc:
            self.budget.settle(cost, 0.0, operation, key)
            raise _Stop("rate_limited", str(exc)) from exc
        except (Transient, CircuitOpen) as exc:
            # an answer lost on the way (no HTTP status) may have been charged: book the most it could cost
            charged = cost if isinstance(exc, Transient) and exc.status is None else 0.0
            self.budget.settle(cost, charged, operation, key)
            raise _Stop("unavailable", str(exc)) from exc
        try:
            value = parse(doc)
        except MalformedPayload as exc:
            self.budget.settle(cost, cost, operation, key)  # a 200 answer is charged however it looks
            self.report.problems.append(exc.reason)
            return None
        self.budget.settle(cost, value.credits, operation, key)
        self._remember(operation, key, 200, doc, value.credits, forever=False)
        return value

    # -- one target -----------------------------------------------------------------------------------

    def enrich(self, target: EnrichmentTarget) -> None:
        domain = normalise_domain(target.domain)
        found: list[dict[str, Any]] = []
        if target.first_name and target.last_name:
            key = request_key(EMAIL_FINDER, domain=domain, first_name=target.first_name, last_name=target.last_name)
            hit = self.ask(
                EMAIL_FINDER,
                key,
                {"domain": domain, "first_name": target.first_name, "last_name": target.last_name},
                lambda doc: parse_email_finder(doc, domain, target.first_name or "", target.last_name or ""),
            )
            if hit is not None and hit.email:
                found.append(
                    {
                        "email": hit.email,
                        "first_name": hit.first_name,
                        "last_name": hit.last_name,
                        "position": hit.position,
                        "email_type": "personal",
                        "confidence": hit.score,
                        "status": hit.status,
                        "found_by": "email_finder",
                    }
                )
        else:
            search = self.ask(
                DOMAIN_SEARCH,
                request_key(DOMAIN_SEARCH, domain=domain),
                {"domain": domain, "limit": self.settings.search_limit},
                lambda doc: parse_domain_search(doc, domain),
            )
            for e in search.emails if search is not None else ():
                found.append(
                    {
                        "email": e.value,
                        "first_name": e.first_name,
                        "last_name": e.last_name,
                        "position": e.position,
                        "email_type": e.type,
                        "confidence": e.confidence,
                        "status": e.status,
                        "found_by": "domain_search",
                    }
                )
        found.sort(key=lambda f: (f["email_type"] != "personal", -(f["confidence"] or 0), f["email"]))
        for rank, item in enumerate(found):
            verification: Verification | None = None
            worth = rank < self.settings.max_emails_per_domain and item["status"] != "invalid"
            if self.settings.verify and worth:
                email = item["email"]
                verification = self.ask(
                    EMAIL_VERIFIER,
                    request_key(EMAIL_VERIFIER, email=email),
                    {"email": email},
                    lambda doc, email=email: parse_verification(doc, email),
                )
                if self.cache.get((EMAIL_VERIFIER, normalise_email(email)), (200, None))[0] == 451:
                    continue  # the person asked not to be processed: keep nothing about them
            self._keep(target, domain, item, verification)
        self.report.targets_done += 1

    def _keep(
        self, target: EnrichmentTarget, domain: str, item: dict[str, Any], verification: Verification | None
    ) -> None:
        result = verification.result if verification else ("undeliverable" if item["status"] == "invalid" else None)
        row = {
            "org_id": self.org_id,
            "candidate_id": target.candidate_id,
            "email": item["email"],
            "domain": domain,
            "first_name": item["first_name"],
            "last_name": item["last_name"],
            "position": item["position"],
            "email_type": item["email_type"],
            "confidence": item["confidence"],
            "verification": result,
            "accept_all": verification.accept_all if verification else None,
            "disposable": verification.disposable if verification else None,
            "webmail": verification.webmail if verification else None,
            "found_by": item["found_by"],
            "enriched_at": self.now,
        }
        self.emails[(target.candidate_id, item["email"])] = row
        self.report.emails_found += 1
        if self.settings.verify:  # only what the verifier accepted; a disposable address is never a contact
            good = result == "deliverable" or (result == "risky" and not (verification and verification.disposable))
        else:
            good = result != "undeliverable"
        if item["email_type"] == "personal" and good and (item["confidence"] or 0) >= self.settings.min_confidence:
            name = " ".join(n for n in (item["first_name"], item["last_name"]) if n) or None
            self.contacts.append(
                {
                    "email": item["email"],
                    "name": name,
                    "company": target.company or domain,
                    "station_id": target.station_id,
                    "consent": False,
                    "source": f"{PROVIDER}:{item['found_by']}:{target.candidate_id}",
                }
            )

    # -- writing -------------------------------------------------------------------------------------

    def flush(self, final: bool = False) -> None:
        with _org_lock(self.warehouse, self.org_id), self.warehouse.connect() as conn:
            _lock_sql(conn, self.org_id)
            self.budget.flush(conn)
            for operation in {op for op, _ in self.new_cache}:
                keys = [k for op, k in self.new_cache if op == operation]
                _delete_in(
                    conn,
                    "DELETE FROM outreach.enrichment_cache WHERE org_id = ? AND provider = ? AND operation = ? "
                    "AND request_key IN ({})",
                    [self.org_id, PROVIDER, operation],
                    keys,
                )
            if self.new_cache:
                conn.insert(ENRICHMENT_CACHE, _frame(ENRICHMENT_CACHE, list(self.new_cache.values())))
            _delete_in(
                conn,
                "DELETE FROM outreach.candidate_emails WHERE org_id = ? AND candidate_id || chr(31) || email IN ({})",
                [self.org_id],
                [f"{candidate}\x1f{email}" for candidate, email in self.emails],
            )
            if self.emails:
                conn.insert(CANDIDATE_EMAILS, _frame(CANDIDATE_EMAILS, list(self.emails.values())))
            if final:
                self.budget.release(conn)
        self.new_cache, self.emails = {}, {}
        # Contacts go in their own transaction, after the spend is safely booked: a contact added meanwhile
        # by another writer (an inbound reply) must not cost the ledger rows.
        contacts, self.contacts = self.contacts, []
        if contacts:
            try:
                with self.warehouse.connect() as conn:
                    self.report.contacts_added += self._add_contacts(conn, contacts, bulk=True)
            except Exception:
                with self.warehouse.connect() as conn:
                    self.report.contacts_added += self._add_contacts(conn, contacts, bulk=False)

    def _add_contacts(self, conn: WarehouseConnection, contacts: list[dict[str, Any]], *, bulk: bool) -> int:
        """Add the vendor contacts not yet in the register (as `campaigns.add_contacts` does); a contact already
        there (imported, inbound, or found before) is left exactly as it is. `bulk`: one INSERT."""
        ids = sorted({contact_id(c["email"]) for c in contacts})
        existing: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found = conn.query(
                "SELECT contact_id FROM outreach.org_contacts WHERE org_id = ? "
                f"AND contact_id IN ({', '.join('?' * len(chunk))})",
                [self.org_id, *chunk],
            )
            existing.update(found["contact_id"].to_list() if found.height else [])
        rows = []
        for contact in contacts:
            cid = contact_id(contact["email"])
            if cid in existing:
                continue
            existing.add(cid)
            rows.append(
                {
                    **contact,
                    "org_id": self.org_id,
                    "contact_id": cid,
                    "email": normalise_email(contact["email"]),
                    "provenance": "vendor",
                    "added_at": self.now,
                }
            )
        if bulk:
            conn.insert(ORG_CONTACTS, _frame(ORG_CONTACTS, rows))
        else:
            for row in rows:
                insert_row(conn, ORG_CONTACTS, row, ignore_conflict=True)
        return len(rows)


def enrich_candidates(
    warehouse: Warehouse,
    client: EmailFinderClient,
    org_id: str,
    targets: Sequence[EnrichmentTarget],
    *,
    settings: EnrichmentSettings,
    now: datetime,
    run_id: str | None = None,
) -> EnrichmentReport:
    """Enrich `targets` for `org_id` within its monthly budget (see the module docstring); returns the report.

    Stops cleanly (status other than `completed`) when the budget, the plan, the key or the service stops it:
    everything found until then is written, `targets_left` says how many were not enriched."""
    ensure_tables(warehouse)
    run = _Run(warehouse, client, org_id, settings, now, run_id or f"enrich-{uuid.uuid4().hex[:12]}")
    try:
        for i, target in enumerate(targets):
            try:
                run.enrich(target)
            except _Stop as stop:
                run.report.status, run.report.stop_reason = stop.status, stop.reason
                run.report.targets_left = len(targets) - i
                break
            if (i + 1) % settings.flush_every == 0:
                run.flush()
    finally:
        run.flush(final=True)
    run.report.credits_spent = run.budget.spent
    return run.report


def targets_from_candidates(
    warehouse: Warehouse, org_id: str, *, only_new: bool = True, limit: int | None = None
) -> list[EnrichmentTarget]:
    """One target per candidate domain of the organisation, skipping domains that already have addresses in
    `outreach.candidate_emails` when `only_new`, in the order the credit budget is spent: monitored stations
    first, then by the domain's best search rank, then by name. A domain's station candidate is its target, so
    its contacts keep the station."""
    warehouse.ensure(CANDIDATES, CANDIDATE_EMAILS)
    done = (
        "AND NOT EXISTS (SELECT 1 FROM outreach.candidate_emails e WHERE e.org_id = c.org_id AND e.domain = c.domain)"
        if only_new
        else ""
    )
    rows = warehouse.query(
        "SELECT c.candidate_id, c.domain, c.title, c.station_id, c.rank_absolute FROM outreach.candidates c "
        f"WHERE c.org_id = ? {done} ORDER BY c.domain, c.station_id IS NULL, c.discovered_at, c.candidate_id",
        [org_id],
    )
    first: dict[str, EnrichmentTarget] = {}
    best_rank: dict[str, int] = {}
    for r in rows.iter_rows(named=True):
        domain = r["domain"]
        if not domain:
            continue
        if domain not in first:
            first[domain] = EnrichmentTarget(r["candidate_id"], domain, company=r["title"], station_id=r["station_id"])
        if r["rank_absolute"] is not None:
            best_rank[domain] = min(best_rank.get(domain, r["rank_absolute"]), r["rank_absolute"])
    targets = sorted(
        first.values(),
        key=lambda t: (t.station_id is None, best_rank.get(t.domain, 1 << 30), t.domain),
    )
    return targets if limit is None else targets[:limit]


def grant_vendor_consent(
    warehouse: Warehouse, org_id: str, emails: Iterable[str], *, actor: str, basis: str, now: datetime
) -> int:
    """A person decides the organisation may write to these vendor contacts (e.g. basis 'legitimate interest:
    station programmer, business address'); recorded in `outreach.activity`. Returns contacts changed."""
    if not actor.strip() or not basis.strip():
        raise ValueError("granting consent needs the person deciding (actor) and the basis")
    changed = 0
    with warehouse.connect() as conn:
        for email in {normalise_email(e) for e in emails}:
            n = conn.scalar(
                "SELECT COUNT(*) FROM outreach.org_contacts WHERE org_id = ? AND email = ? AND provenance = 'vendor' "
                "AND consent IS NOT TRUE",
                [org_id, email],
            )
            if not n:
                continue
            conn.execute(
                "UPDATE outreach.org_contacts SET consent = TRUE "
                "WHERE org_id = ? AND email = ? AND provenance = 'vendor'",
                [org_id, email],
            )
            log_activity(
                conn,
                org_id=org_id,
                actor=actor,
                action="consent",
                subject_type="email",
                subject_id=email,
                at=now,
                detail={"basis": basis, "provenance": "vendor"},
            )
            changed += 1
    return changed
