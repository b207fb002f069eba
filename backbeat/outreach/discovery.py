"""Discovery: find candidate sites and pages for an organisation and keep them in `outreach.candidates`.

Three sources feed the same table:
- a search source (`SearchSource`; the first one is `SerpSearchSource`, DataForSEO's Google organic SERP): one
  query per keyword in a location and language; its cost is recorded per query in `outreach.credit_ledger` and
  per run in `outreach.discovery_runs`;
- a CSV import (`website` required, `title`, `email`, `contact_page` optional): bad rows are quarantined in
  `quarantine.rejected_rows` with file, row, field and reason, the good ones kept;
- Backbeat's own `airplay.stations`: the programmers of the stations we monitor are prospects too (their website
  when known, else their stream host).

A candidate is one organisation x normalised domain x page URL (`normalise_url`), the table's primary key: a
re-run finds the same keys, sets their `last_seen_at` and adds nothing, and provenance and `discovered_at` stay
those of the first discovery. Search results are written query by query, so what a failed run paid for is kept.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

import idna
import polars as pl
from email_validator import EmailNotValidError, validate_email

from backbeat.airplay.tables import STATIONS
from backbeat.common.csvfiles import FieldError, ParsedFile, optional_column, optional_text, read_csv
from backbeat.common.quarantine import Reject, record_rejects
from backbeat.outreach.clock import utcnow as _utcnow
from backbeat.outreach.prospecting_tables import CANDIDATES, CREDIT_LEDGER, DISCOVERY_RUNS
from integrations.resilience import IntegrationError
from integrations.serp import SerpClient, SerpError
from integrations.warehouse import Warehouse, WarehouseConnection

CSV_ASSET = "outreach/discovery_csv"
_DROPPED_PARAMS = re.compile(r"^(utm_.*|gclid|fbclid|mc_cid|mc_eid)$")
_CHUNK = 500


# -- normalisation ---------------------------------------------------------------------------------------


def normalise_domain(host: str) -> str:
    """`host` as candidates key it: lower-cased, IDNA (punycode), no trailing dot, no leading `www.`.

    Raises ValueError for a host that is not a valid domain name.
    """
    name = host.strip().rstrip(".")
    if not name or "." not in name:
        raise ValueError(f"{host!r} is not a domain name")
    try:
        name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"{host!r} is not a valid domain name ({exc})") from None
    return name.removeprefix("www.")


def normalise_url(url: str) -> tuple[str, str]:
    """(domain, page URL) of a link or a bare domain, as candidates key them.

    The page URL is `scheme://domain/path?query` with the normalised domain, no fragment, no default port, no
    trailing slash, tracking parameters (utm_*, gclid, fbclid) dropped and the rest sorted; a home page (no path,
    no query) is '' (the candidate is the whole domain). Raises ValueError when it is not an http(s) URL.
    """
    text = url.strip()
    if not text:
        raise ValueError("is empty")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"{url!r} is not an http(s) URL")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r} has an invalid port") from None
    domain = normalise_domain(parts.hostname or "")
    scheme = parts.scheme.lower()
    netloc = domain if port in (None, 80 if scheme == "http" else 443) else f"{domain}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    params = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _DROPPED_PARAMS.match(k))
    query = urlencode(params)
    if not path and not query:
        return domain, ""
    return domain, f"{scheme}://{netloc}{path or '/'}{'?' + query if query else ''}"


def candidate_id(org_id: str, domain: str, page_url: str) -> str:
    """Stable id of a candidate: the same organisation, domain and page always give the same id."""
    return "c-" + hashlib.sha256("\x1f".join((org_id, domain, page_url)).encode()).hexdigest()[:20]


# -- search sources --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """One search: a keyword in a location (code or name) and a language, `depth` results deep."""

    keyword: str
    location_code: int | None = None
    location_name: str | None = None
    language_code: str = "en"
    depth: int = 10

    @property
    def location(self) -> str:
        return str(self.location_code) if self.location_code is not None else (self.location_name or "")


@dataclass(frozen=True)
class SearchHit:
    """One result of a search: the page and how the engine describes it."""

    url: str
    title: str | None = None
    description: str | None = None
    rank: int | None = None


@dataclass(frozen=True)
class SearchPage:
    """The answer to one query: its hits in rank order, what it cost, the requests made and the provider's
    reference (a task id)."""

    query: SearchQuery
    hits: tuple[SearchHit, ...]
    cost_usd: Decimal = Decimal(0)
    requests: int = 1
    reference: str = ""


class SearchFailed(Exception):
    """A search source could not answer a query; `cost_usd` and `requests` are what the attempt still spent."""

    def __init__(self, message: str, *, cost_usd: Decimal = Decimal(0), requests: int = 0) -> None:
        super().__init__(message)
        self.cost_usd = cost_usd
        self.requests = requests


class DiscoveryFailed(Exception):
    """A discovery run stopped; `result` is the run as recorded (status failed, error, what was spent)."""

    def __init__(self, result: DiscoveryResult) -> None:
        super().__init__(f"discovery {result.discovery_id} ({result.source}) failed: {result.error}")
        self.result = result


class SearchSource(Protocol):
    """Anything that answers a `SearchQuery` with a `SearchPage` (or raises `SearchFailed`).

    `name` is the provenance written on the candidates (`serp`); `operation` names the paid call in the
    credit ledger.
    """

    name: str
    operation: str

    def search(self, query: SearchQuery) -> SearchPage: ...


class SerpSearchSource:
    """Google organic results from a DataForSEO-style `SerpClient` (live mode). Use one client per discovery at
    a time: the cost of a query is read as the growth of the client's `spent_usd`."""

    name = "serp"
    operation = "serp_google_organic_live"

    def __init__(self, client: SerpClient) -> None:
        self.client = client

    def search(self, query: SearchQuery) -> SearchPage:
        spent, attempts = self.client.spent_usd, sum(self.client.stats.attempts.values())
        try:
            result = self.client.organic_live(
                query.keyword,
                location_code=query.location_code,
                location_name=query.location_name,
                language_code=query.language_code,
                depth=query.depth,
            )
        except IntegrationError as exc:
            cost = self.client.spent_usd - spent
            if isinstance(exc, SerpError):
                cost = max(cost, exc.cost)
            made = sum(self.client.stats.attempts.values()) - attempts
            raise SearchFailed(str(exc), cost_usd=cost, requests=made) from exc
        hits = tuple(SearchHit(i.url, i.title, i.description, i.rank_absolute) for i in result.items)
        made = sum(self.client.stats.attempts.values()) - attempts
        return SearchPage(query, hits, self.client.spent_usd - spent, made, result.task_id)


# -- runs ------------------------------------------------------------------------------------------------


@dataclass
class DiscoveryResult:
    """What one discovery run did: candidates returned and new, rows rejected, requests and money spent."""

    discovery_id: str
    org_id: str
    source: str
    status: str = "running"
    results: int = 0
    new_candidates: int = 0
    rejected_rows: int = 0
    requests: int = 0
    cost_usd: Decimal = Decimal(0)
    error: str | None = None
    rejects: list[Reject] = field(default_factory=list)


def _run_row(run: DiscoveryResult, parameters: dict[str, Any], started: datetime, finished: datetime | None) -> dict:
    return {
        "discovery_id": run.discovery_id,
        "org_id": run.org_id,
        "source": run.source,
        "parameters": json.dumps(parameters, sort_keys=True, default=str),
        "status": run.status,
        "error": run.error,
        "requests": run.requests,
        "results": run.results,
        "new_candidates": run.new_candidates,
        "rejected_rows": run.rejected_rows,
        "cost_usd": run.cost_usd,
        "started_at": started,
        "finished_at": finished,
    }


def _start(warehouse: Warehouse, run: DiscoveryResult, parameters: dict[str, Any], started: datetime) -> None:
    with warehouse.connect() as conn:
        for t in (CANDIDATES, DISCOVERY_RUNS, CREDIT_LEDGER):
            conn.ensure(t)
        conn.insert(DISCOVERY_RUNS, DISCOVERY_RUNS.from_rows([_run_row(run, parameters, started, None)]))


def _write_once(
    warehouse: Warehouse,
    run: DiscoveryResult,
    parameters: dict[str, Any],
    started: datetime,
    rows: list[dict[str, Any]],
    clock: Callable[[], datetime],
) -> None:
    """Write a run that needs no provider calls in one transaction: its candidates and its run row."""
    with warehouse.connect() as conn:
        for t in (CANDIDATES, DISCOVERY_RUNS):
            conn.ensure(t)
        run.new_candidates = _upsert_candidates(conn, run.org_id, rows, started)
        finished = clock()
        conn.insert(DISCOVERY_RUNS, DISCOVERY_RUNS.from_rows([_run_row(run, parameters, started, finished)]))


def _record_failure(
    warehouse: Warehouse, run: DiscoveryResult, parameters: dict[str, Any], started: datetime, error: Exception
) -> None:
    run.status, run.error = "failed", str(error)[:500]
    with warehouse.connect() as conn:
        conn.ensure(DISCOVERY_RUNS)
        conn.insert(DISCOVERY_RUNS, DISCOVERY_RUNS.from_rows([_run_row(run, parameters, started, _utcnow())]))


def _finish(warehouse: Warehouse, run: DiscoveryResult, finished: datetime) -> None:
    with warehouse.connect() as conn:
        conn.execute(
            f"UPDATE {DISCOVERY_RUNS.qualified_name} SET status = ?, error = ?, requests = ?, results = ?, "
            "new_candidates = ?, rejected_rows = ?, cost_usd = ?, finished_at = ? WHERE discovery_id = ?",
            [
                run.status,
                run.error,
                run.requests,
                run.results,
                run.new_candidates,
                run.rejected_rows,
                run.cost_usd,
                finished,
                run.discovery_id,
            ],
        )


def _upsert_candidates(conn: WarehouseConnection, org_id: str, rows: list[dict[str, Any]], now: datetime) -> int:
    """Insert the candidates not yet known (first of each key wins), refresh `last_seen_at` of the others;
    returns how many were new."""
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["candidate_id"], row)
    ids = list(unique)
    known: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        where = f"org_id = ? AND candidate_id IN ({marks})"
        found = conn.query(f"SELECT candidate_id FROM {CANDIDATES.qualified_name} WHERE {where}", [org_id, *chunk])
        known.update(found["candidate_id"].to_list())
        if found.height:
            seen = found["candidate_id"].to_list()
            conn.execute(
                f"UPDATE {CANDIDATES.qualified_name} SET last_seen_at = ? "
                f"WHERE org_id = ? AND candidate_id IN ({', '.join('?' for _ in seen)})",
                [now, org_id, *seen],
            )
    new = [row for cid, row in unique.items() if cid not in known]
    conn.insert(CANDIDATES, CANDIDATES.from_rows(new))
    return len(new)


def _candidate(
    org_id: str,
    domain: str,
    page_url: str,
    *,
    provenance: str,
    discovery_id: str,
    now: datetime,
    **values: Any,
) -> dict[str, Any]:
    row = {column: None for column in CANDIDATES.column_names}
    row.update(values)
    row.update(
        org_id=org_id,
        domain=domain,
        page_url=page_url,
        candidate_id=candidate_id(org_id, domain, page_url),
        provenance=provenance,
        discovery_id=discovery_id,
        discovered_at=now,
        last_seen_at=now,
    )
    return row


def _ledger_row(
    run: DiscoveryResult, source: SearchSource, query: SearchQuery, reference: str, cost: Decimal, now: datetime
) -> dict[str, Any]:
    request_key = f"{query.keyword}|{query.location}|{query.language_code}|{query.depth}"
    return {
        "entry_id": "l-"
        + hashlib.sha256("\x1f".join((source.name, request_key, run.discovery_id, reference)).encode()).hexdigest()[
            :20
        ],
        "org_id": run.org_id,
        "provider": source.name,
        "operation": source.operation,
        "request_key": request_key,
        "month": now.strftime("%Y-%m"),
        "credits": 0.0,
        "cost_usd": cost,
        "run_id": run.discovery_id,
        "occurred_at": now,
    }


def discover_from_search(
    warehouse: Warehouse,
    org_id: str,
    source: SearchSource,
    keywords: Sequence[str],
    *,
    location_code: int | None = None,
    location_name: str | None = None,
    language_code: str = "en",
    depth: int = 10,
    clock: Callable[[], datetime] = _utcnow,
) -> DiscoveryResult:
    """Search each keyword and keep every hit as a candidate (provenance = the source's name).

    Each query's candidates and cost are committed as soon as it answers. A query that fails (`SearchFailed`:
    auth refused, no funds, invalid field, retries exhausted) stops the run: the run is recorded `failed` with the
    error and what was spent so far, and `DiscoveryFailed` is raised (from the `SearchFailed`) carrying it.
    """
    run = DiscoveryResult(str(uuid.uuid4()), org_id, source.name)
    parameters = {
        "keywords": list(keywords),
        "location_code": location_code,
        "location_name": location_name,
        "language_code": language_code,
        "depth": depth,
    }
    started = clock()
    _start(warehouse, run, parameters, started)
    try:
        for keyword in keywords:
            query = SearchQuery(keyword, location_code, location_name, language_code, depth)
            try:
                page = source.search(query)
            except SearchFailed as exc:
                run.cost_usd += exc.cost_usd
                run.requests += exc.requests
                if exc.cost_usd:
                    with warehouse.connect() as conn:
                        row = _ledger_row(run, source, query, "failed", exc.cost_usd, clock())
                        conn.insert(CREDIT_LEDGER, CREDIT_LEDGER.from_rows([row]))
                run.status, run.error = "failed", str(exc)[:500]
                raise DiscoveryFailed(run) from exc
            now = clock()
            rows = []
            for hit in page.hits:
                try:
                    domain, page_url = normalise_url(hit.url)
                except ValueError:
                    run.rejected_rows += 1
                    continue
                rows.append(
                    _candidate(
                        org_id,
                        domain,
                        page_url,
                        provenance=source.name,
                        discovery_id=run.discovery_id,
                        now=now,
                        title=hit.title,
                        description=hit.description,
                        contact_method="contact_page" if "contact" in page_url.lower() else "website",
                        contact_value=page_url or f"https://{domain}",
                        source=page.reference,
                        query=query.keyword,
                        location=query.location,
                        language_code=query.language_code,
                        rank_absolute=hit.rank,
                    )
                )
            with warehouse.connect() as conn:
                run.new_candidates += _upsert_candidates(conn, org_id, rows, now)
                ledger = _ledger_row(run, source, query, page.reference, page.cost_usd, now)
                conn.insert(CREDIT_LEDGER, CREDIT_LEDGER.from_rows([ledger]))
            run.results += len(page.hits)
            run.requests += page.requests
            run.cost_usd += page.cost_usd
        run.status = "succeeded"
    except DiscoveryFailed:
        raise
    except Exception as exc:
        run.status, run.error = "failed", str(exc)[:500]
        raise
    finally:
        _finish(warehouse, run, clock())
    return run


# -- CSV import ------------------------------------------------------------------------------------------


def _website(value: str) -> tuple[str, str]:
    try:
        return normalise_url(value)
    except ValueError as exc:
        raise FieldError(f"is not a website URL or domain: {exc}") from None


def _email(value: str) -> str | None:
    if not value.strip():
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise FieldError(f"is not an email address: {exc}") from None


def _page(value: str) -> str | None:
    if not value.strip():
        return None
    domain, page_url = _website(value)
    return page_url or f"https://{domain}"


CSV_FIELDS = {
    "website": _website,
    "title": optional_column(optional_text),
    "email": optional_column(_email),
    "contact_page": optional_column(_page),
}
"""Columns of a candidates CSV: `website` (URL or bare domain) is required; the others may be absent."""


def discover_from_csv(
    warehouse: Warehouse,
    org_id: str,
    path: Path,
    *,
    label: str | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> DiscoveryResult:
    """Import candidates from a CSV file (`CSV_FIELDS`); provenance csv, source `file:row`.

    Every bad field of a row is a `Reject` (file, row, field, value, reason) recorded in `quarantine.rejected_rows`
    under asset `outreach/discovery_csv` and partition `<org_id>:<file>` (a re-import replaces them); the good
    rows are kept. A later row with the same candidate key as an earlier one is a duplicate, not an error.
    """
    source_label = label or path.name
    run = DiscoveryResult(str(uuid.uuid4()), org_id, "csv")
    parameters = {"file": source_label}
    started = clock()
    try:
        parsed: ParsedFile = read_csv(path, CSV_FIELDS, source_label)
        rows = []
        for row in parsed.rows:
            domain, page_url = row["website"]
            email, contact_page = row.get("email"), row.get("contact_page")
            method, value = ("website", page_url or f"https://{domain}")
            if contact_page:
                method, value = "contact_page", contact_page
            if email:
                method, value = "email", email
            rows.append(
                _candidate(
                    org_id,
                    domain,
                    page_url,
                    provenance="csv",
                    discovery_id=run.discovery_id,
                    now=started,
                    title=row.get("title"),
                    contact_method=method,
                    contact_value=value,
                    source=f"{source_label}:{row['_row']}",
                )
            )
        run.rejects = list(parsed.rejects)
        run.rejected_rows = len({(r.source_file, r.row_number) for r in parsed.rejects})
        run.results = len(rows)
        run.status = "succeeded" if parsed.complete else "failed"
        if not parsed.complete:
            run.error = "; ".join(str(r) for r in parsed.rejects if r.source_file in parsed.unreadable_files)[:500]
        _write_once(warehouse, run, parameters, started, rows, clock)
        record_rejects(warehouse, CSV_ASSET, f"{org_id}:{source_label}", run.rejects)
    except Exception as exc:
        _record_failure(warehouse, run, parameters, started, exc)
        raise
    return run


# -- stations --------------------------------------------------------------------------------------------


def discover_from_stations(
    warehouse: Warehouse,
    org_id: str,
    *,
    websites: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> DiscoveryResult:
    """Every active station of `airplay.stations` as a candidate (provenance stations, `station_id` set).

    The station's website (`websites[station_id]`, e.g. from the station register) is its page when known
    (contact method `website`); otherwise its stream URL is (contact method `stream`), so enrichment knows it
    has only the stream host to go on. A station whose URL does not parse is counted in `rejected_rows`.
    """
    websites = websites or {}
    run = DiscoveryResult(str(uuid.uuid4()), org_id, "stations")
    parameters = {"websites": len(websites)}
    started = clock()
    try:
        stations = warehouse.read(STATIONS, "active")
        rows = []
        for station in stations.sort("station_id").iter_rows(named=True):
            website = websites.get(station["station_id"])
            url, method = (website, "website") if website else (station["stream_url"] or "", "stream")
            try:
                domain, page_url = normalise_url(url)
            except ValueError:
                run.rejected_rows += 1
                continue
            if method == "stream" and not page_url:
                page_url = url.strip()
            rows.append(
                _candidate(
                    org_id,
                    domain,
                    page_url,
                    provenance="stations",
                    discovery_id=run.discovery_id,
                    now=started,
                    title=station["name"],
                    contact_method=method,
                    contact_value=page_url or f"https://{domain}",
                    source=station["station_id"],
                    station_id=station["station_id"],
                )
            )
        run.results = len(rows)
        run.status = "succeeded"
        _write_once(warehouse, run, parameters, started, rows, clock)
    except Exception as exc:
        _record_failure(warehouse, run, parameters, started, exc)
        raise
    return run


def candidates_of(warehouse: Warehouse, org_id: str, provenances: Iterable[str] = ()) -> pl.DataFrame:
    """The organisation's candidates (optionally only some provenances), newest first, as a polars frame."""
    wanted = list(provenances)
    where = "org_id = ?" + (f" AND provenance IN ({', '.join('?' for _ in wanted)})" if wanted else "")
    return warehouse.read(CANDIDATES, where, [org_id, *wanted]).sort(["discovered_at", "candidate_id"])
