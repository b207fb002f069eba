"""Benchmark prospecting: N domains through discovery → enrichment → hygiene → scoring under a credit budget.

Everything speaks real HTTP on 127.0.0.1 through the real clients and the shared resilience layer, to stand-ins
running in a process of their own (`prospecting_standins.py`), at the providers' documented rate limits:

- **SERP** (`integrations.serp.SerpClient`, DataForSEO live organic) against `FakeSerp(universe=DomainUniverse(N))`:
  `universe.keywords()` are the queries (100 results deep) that reach all N sites; each page repeats sites other
  pages showed under another URL (`www.`, upper case, trailing dot, utm parameters, another page), a few hosts are
  IDN (Unicode), a few unusable, some queries find nothing (and are still charged). 1 in 20 requests answers
  429 with Retry-After 1 s, and a share answer 500.
- **Email finder** (`integrations.emailfinder.EmailFinderClient`, Hunter v2) against
  `FakeEmailFinder(mix=StaffMix(seed))`: domains with nobody known, accept-all servers (risky), addresses that
  bounce (undeliverable), role accounts (`info@`, `noreply@`, `admin@`, ...), freelancers on webmail listed by
  several sites (duplicates), disposable-mail addresses, IDN domains answered in Unicode, mixed case. One in
  500 requests answers 429 with Retry-After 1 s, and a share answer 503. The plan holds far more credits than
  the organisation's budget: the budget must be what stops enrichment.
- **Warehouse**: a DuckDB file in a temporary folder (or PostgreSQL with `--warehouse postgres`, the embedded
  server of `tests/support/embedded_pg.py`). Before the run: a campaign promoting an Indie Pop track, some
  suppressed addresses and domains, some addresses already imported as contacts.

Stages, timed apart: `discover_from_search` (every keyword), `enrich_candidates` (one target per domain, in the
core's order, with `--budget` monthly credits), hygiene (`screen` over `outreach.candidate_emails` with the
organisation's suppressions and imported contacts, then `record_hygiene`), scoring (`score_campaign` and
`store_scores` over what hygiene accepted). Then the whole pipeline runs again: the enrichment cache must answer
everything already asked (0 new credits) and discovery must add no candidate.

    .venv/bin/python bench/outreach/prospecting.py --quick          # 500 domains, budget 600 credits
    .venv/bin/python bench/outreach/prospecting.py                  # 10,000 domains, budget 12,000 credits
    .venv/bin/python bench/outreach/prospecting.py --rate-scale 20  # the providers' rate limits × 20 (Backbeat's cost)

Options: `--domains`, `--budget`, `--seed`, `--rate-scale`, `--latency LOW HIGH` (seconds per answer, default 0),
`--error-rate` (share of 5xx, default 0.003), `--warehouse duckdb|postgres`, `--workdir` (keep it), `--json FILE`.
Every check is an `assert`: the run fails when the budget is passed, the ledger, the report and the provider's
own count disagree, the budget did not bind, the second run spent a credit or added a candidate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

import idna  # noqa: E402
from prospecting_standins import API_KEY, SERP_LOGIN, SERP_PASSWORD, StandInConfig, StandIns  # noqa: E402

from backbeat.catalog.tables import TRACKS  # noqa: E402
from backbeat.demo.standins.emailfinder_server import StaffMix  # noqa: E402
from backbeat.demo.standins.serp_server import DomainUniverse  # noqa: E402
from backbeat.outreach.discovery import SerpSearchSource, discover_from_search  # noqa: E402
from backbeat.outreach.enrichment import (  # noqa: E402
    EnrichmentSettings,
    enrich_candidates,
    month_of,
    targets_from_candidates,
)
from backbeat.outreach.hygiene import (  # noqa: E402
    RULES,
    HygieneResult,
    SuppressionIndex,
    candidate_email_rows,
    record_hygiene,
    screen,
)
from backbeat.outreach.ids import contact_id  # noqa: E402
from backbeat.outreach.scoring import load_prospect_signals, score_campaign, store_scores  # noqa: E402
from backbeat.outreach.suppression import suppress  # noqa: E402
from backbeat.outreach.tables import CAMPAIGNS, ORG_CONTACTS  # noqa: E402
from integrations.emailfinder import DOMAIN_SEARCH, EMAIL_FINDER, EMAIL_VERIFIER, EmailFinderClient  # noqa: E402
from integrations.serp import SerpClient  # noqa: E402
from integrations.warehouse import Warehouse  # noqa: E402

ORG = "bench-label"
CAMPAIGN = "bench-prospecting"
TRACK = "t-bench-promo"
MOODS = ("dreamy", "late night")
NOW = datetime(2026, 12, 5, 9, 0)
SECOND_RUN = datetime(2026, 12, 5, 15, 0)  # same budget month
LOCATION_CODE = 2826  # United Kingdom
DEPTH = 100
HUNTER_RATES = {DOMAIN_SEARCH: 15.0, EMAIL_FINDER: 15.0, EMAIL_VERIFIER: 10.0}  # Hunter's documented limits
SERP_RATE = 30.0  # DataForSEO: 2,000 live calls a minute


@dataclass
class Stage:
    """One stage's wall time and how many items it handled."""

    seconds: float = 0.0
    items: int = 0
    unit: str = ""


@dataclass
class RunFigures:
    """What one pass of the pipeline did."""

    stages: dict[str, Stage] = field(default_factory=dict)
    discovery: Any = None
    enrichment: Any = None
    hygiene: HygieneResult | None = None
    prospects: int = 0
    top: list[dict[str, Any]] = field(default_factory=list)
    serp_requests: int = 0
    serp_usd: Decimal = Decimal(0)
    finder_requests: Counter[str] = field(default_factory=Counter)
    finder_credits: float = 0.0
    candidates_after: int = 0
    verification: dict[str, int] = field(default_factory=dict)
    seen: dict[str, dict[int, int]] = field(default_factory=dict)
    slept: float = 0.0


@contextmanager
def timed(figures: RunFigures, name: str, unit: str) -> Iterator[Stage]:
    stage = Stage(unit=unit)
    started = time.perf_counter()
    try:
        yield stage
    finally:
        stage.seconds = time.perf_counter() - started
        figures.stages[name] = stage


# -- the world ---------------------------------------------------------------------------------------------


def ascii_domain(host: str) -> str:
    return idna.encode(host.rstrip("."), uts46=True).decode("ascii").removeprefix("www.")


def ascii_address(address: str) -> str:
    local, _, domain = address.lower().rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


def seed_world(warehouse: Warehouse, universe: DomainUniverse, mix: StaffMix, seed: int) -> dict[str, int]:
    """The campaign and its track, suppressions (0.3 % of domains, 0.5 % of addresses) and imported contacts
    (0.5 % of addresses): hygiene must find them among what enrichment returns."""
    rng = random.Random(seed)
    with warehouse.connect() as conn:
        for t in (TRACKS, CAMPAIGNS, ORG_CONTACTS):
            conn.ensure(t)
        track = dict.fromkeys(TRACKS.column_names) | {
            "track_id": TRACK,
            "title": "Slow Static",
            "artist_id": "a-bench",
            "genre": "Indie Pop",
        }
        conn.insert(TRACKS, TRACKS.from_rows([track]))
        campaign = dict.fromkeys(CAMPAIGNS.column_names) | {
            "campaign_id": CAMPAIGN,
            "org_id": ORG,
            "name": "Slow Static to indie radio",
            "track_id": TRACK,
            "status": "active",
        }
        conn.insert(CAMPAIGNS, CAMPAIGNS.from_rows([campaign]))
    counts = Counter[str]()
    imported = []
    for index in range(universe.size):
        domain = ascii_domain(universe.domain(index))
        roll = rng.random()
        if roll < 0.003:
            suppress(warehouse, ORG, domain, "manual", source="bench", at=NOW)
            counts["suppressed domains"] += 1
            continue
        for address, *_ in mix.staff(domain):
            pick = rng.random()
            if pick < 0.005:
                suppress(warehouse, ORG, ascii_address(address), "unsubscribe", source="bench", at=NOW)
                counts["suppressed addresses"] += 1
            elif pick < 0.010:
                email = ascii_address(address)
                imported.append(
                    dict.fromkeys(ORG_CONTACTS.column_names)
                    | {
                        "org_id": ORG,
                        "contact_id": contact_id(email),
                        "email": email,
                        "name": None,
                        "company": domain,
                        "consent": True,
                        "provenance": "import",
                        "source": "bench:import.csv",
                        "added_at": NOW,
                    }
                )
    unique = {row["contact_id"]: row for row in imported}
    with warehouse.connect() as conn:
        conn.insert(ORG_CONTACTS, ORG_CONTACTS.from_rows(list(unique.values())))
    counts["imported contacts"] = len(unique)
    return dict(counts)


def imported_emails(warehouse: Warehouse) -> list[str]:
    rows = warehouse.query("SELECT email FROM outreach.org_contacts WHERE org_id = ? AND provenance <> 'vendor'", [ORG])
    return rows["email"].to_list()


# -- one pass ------------------------------------------------------------------------------------------------


def run_pipeline(
    warehouse: Warehouse,
    serp: SerpClient,
    finder: EmailFinderClient,
    keywords: list[str],
    budget: float,
    now: datetime,
) -> RunFigures:
    figures = RunFigures()
    serp_attempts = sum(serp.stats.attempts.values())
    finder_attempts = Counter(finder.stats.attempts)
    serp_spent = serp.spent_usd
    slept = serp.stats.slept + finder.stats.slept

    with timed(figures, "discovery", "domains") as stage:
        figures.discovery = discover_from_search(
            warehouse,
            ORG,
            SerpSearchSource(serp),
            keywords,
            location_code=LOCATION_CODE,
            language_code="en",
            depth=DEPTH,
            clock=lambda: now,
        )
        stage.items = int(
            warehouse.scalar("SELECT count(DISTINCT domain) FROM outreach.candidates WHERE org_id = ?", [ORG]) or 0
        )

    settings = EnrichmentSettings(monthly_credits=budget)
    with timed(figures, "enrichment", "domains") as stage:
        targets = targets_from_candidates(warehouse, ORG, only_new=False)
        figures.enrichment = enrich_candidates(warehouse, finder, ORG, targets, settings=settings, now=now)
        stage.items = figures.enrichment.targets_done

    mix = warehouse.query(
        "SELECT coalesce(verification, 'not verified') AS v, accept_all, webmail, disposable, count(*) AS n "
        "FROM outreach.candidate_emails WHERE org_id = ? GROUP BY ALL",
        [ORG],
    )
    for v, accept_all, webmail, disposable, n in mix.iter_rows():
        figures.verification[v] = figures.verification.get(v, 0) + n
        for flag, on in (("accept-all", accept_all), ("webmail", webmail), ("disposable", disposable)):
            if on:
                figures.verification[f"{v} {flag}"] = figures.verification.get(f"{v} {flag}", 0) + n

    with timed(figures, "hygiene", "addresses") as stage:
        rows = candidate_email_rows(warehouse, ORG)
        result = screen(
            rows,
            suppressions=SuppressionIndex.load(warehouse, ORG),
            known_emails=imported_emails(warehouse),
        )
        record_hygiene(warehouse, ORG, result, partition_key=f"{ORG}:{now:%Y-%m-%d}")
        figures.hygiene = result
        stage.items = result.checked

    with timed(figures, "scoring", "prospects") as stage:
        # Score exactly the (candidate, address) rows hygiene accepted: `load_prospect_signals(emails=...)`
        # filters by address only, which would score a duplicate hygiene refused on its second candidate.
        accepted = {(a.row.candidate_id, a.row.email) for a in result.accepted}
        signals = [
            s
            for s in load_prospect_signals(warehouse, ORG, emails={email for _, email in accepted})
            if (s.candidate_id, s.email) in accepted
        ]
        ranked = score_campaign(warehouse, ORG, CAMPAIGN, signals, moods=MOODS, as_of=now)
        store_scores(warehouse, ORG, CAMPAIGN, ranked, scored_at=now)
        figures.prospects = stage.items = len(ranked)
        figures.top = [
            {"rank": s.rank, "email": s.email, "score": s.score, "why": s.explanation()[0]} for s in ranked[:3]
        ]

    figures.serp_requests = sum(serp.stats.attempts.values()) - serp_attempts
    figures.serp_usd = serp.spent_usd - serp_spent
    figures.finder_requests = Counter(finder.stats.attempts)
    figures.finder_requests.subtract(finder_attempts)
    figures.finder_credits = figures.enrichment.credits_spent
    figures.slept = serp.stats.slept + finder.stats.slept - slept
    figures.candidates_after = int(
        warehouse.scalar("SELECT count(*) FROM outreach.candidates WHERE org_id = ?", [ORG]) or 0
    )
    return figures


# -- checks --------------------------------------------------------------------------------------------------


def ledger(warehouse: Warehouse) -> dict[str, Any]:
    month = month_of(NOW)
    credits = warehouse.scalar(
        "SELECT COALESCE(SUM(credits), 0) FROM outreach.credit_ledger "
        "WHERE org_id = ? AND provider = 'emailfinder' AND month = ?",
        [ORG, month],
    )
    usd = warehouse.scalar(
        "SELECT COALESCE(SUM(cost_usd), 0) FROM outreach.credit_ledger WHERE org_id = ? AND provider = 'serp'",
        [ORG],
    )
    held = warehouse.scalar(
        "SELECT COALESCE(SUM(credits), 0) FROM outreach.credit_reservations WHERE org_id = ?", [ORG]
    )
    return {"credits": float(credits or 0), "usd": Decimal(str(usd or 0)), "held": float(held or 0)}


def duplicates(warehouse: Warehouse) -> dict[str, int]:
    def one(sql: str) -> int:
        return int(warehouse.scalar(sql, [ORG]) or 0)

    return {
        "candidates": one("SELECT count(*) FROM outreach.candidates WHERE org_id = ?"),
        "candidate keys twice": one(
            "SELECT count(*) - count(DISTINCT candidate_id) FROM outreach.candidates WHERE org_id = ?"
        ),
        "cache keys twice": one(
            "SELECT count(*) - count(DISTINCT operation || '|' || request_key) FROM outreach.enrichment_cache "
            "WHERE org_id = ?"
        ),
        "scored addresses twice": one(
            "SELECT count(*) - count(DISTINCT email) FROM outreach.prospect_scores WHERE org_id = ?"
        ),
    }


# -- printing ------------------------------------------------------------------------------------------------


def idn_addresses(result: HygieneResult) -> int:
    """Screened addresses whose domain hygiene turned from Unicode into its IDNA ASCII form."""
    addresses = [a.address for a in result.accepted] + [r.address for r in result.refused if r.address]
    return sum(1 for a in addresses if "IDN domain put in ASCII form" in a.changes)


def rate(n: float, seconds: float) -> str:
    return f"{n / seconds:,.1f}/s" if seconds > 0 else "-"


def per(n: float, prospects: int, digits: int = 2) -> str:
    return f"{n / prospects:.{digits}f}" if prospects else "-"


def report(
    args: argparse.Namespace,
    universe: DomainUniverse,
    keywords: list[str],
    world: dict[str, int],
    first: RunFigures,
    second: RunFigures,
    books: dict[str, Any],
    books_after: dict[str, Any],
    dupes: dict[str, int],
    wall: float,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> dict[str, Any]:
    d, e, h = first.discovery, first.enrichment, first.hygiene
    assert h is not None
    prospects = first.prospects
    total = sum(s.seconds for s in first.stages.values())
    finder_total = sum(first.finder_requests.values())
    lines = [
        f"prospecting bench: {universe.size:,} domains, budget {args.budget:,.0f} credits, seed {args.seed}, "
        f"warehouse {args.warehouse}, provider rate limits × {args.rate_scale:g}, latency {args.latency[0]:g}-"
        f"{args.latency[1]:g} s, 5xx share {args.error_rate:g}",
        f"world: {world}",
        "",
        "run 1",
        f"  discovery: {len(keywords)} queries ({DEPTH} deep), {d.results:,} results, {d.rejected_rows} unusable "
        f"hosts, {d.new_candidates:,} candidates on {first.stages['discovery'].items:,} domains",
        f"  enrichment: {e.status} ({e.stop_reason}); {e.targets_done:,} domains enriched, "
        f"{e.targets_left:,} left; {e.emails_found:,} addresses, {e.contacts_added:,} vendor contacts; "
        f"cache hits {sum(e.cache_hits.values())}",
        f"  verifier: {dict(sorted(first.verification.items()))}",
        f"  hygiene: {h.checked:,} addresses screened, {len(h.accepted):,} accepted, {len(h.refused):,} refused, "
        f"{h.hints} duplicate hints; {idn_addresses(h)} addresses on IDN domains (put in ASCII form)",
    ]
    for rule in RULES:
        lines.append(f"    {rule:<14} {h.counts[rule]:>6,}  {h.shares()[rule]:6.1%}")
    lines += [
        f"  scoring: {prospects:,} prospects ranked; best: {first.top[0] if first.top else '-'}",
        "",
        "requests and cost",
        f"  SERP requests {first.serp_requests:,} (HTTP attempts, retries included; stand-in answered "
        f"{dict(first.seen['serp'])}) = {per(first.serp_requests, prospects, 3)} per prospect",
        f"  email finder requests {finder_total:,} ({dict(first.finder_requests)}; stand-in answered "
        f"{dict(first.seen['finder'])}) = {per(finder_total, prospects)} per prospect",
        f"  waited for Retry-After and backoff: {first.slept:.1f} s",
        f"  credits {first.finder_credits:,.1f} = {per(first.finder_credits, prospects, 3)} per prospect; "
        f"SERP money ${first.serp_usd:.2f} = ${per(float(first.serp_usd), prospects, 4)} per prospect",
        "",
        "throughput (wall)",
    ]
    for name, stage in first.stages.items():
        lines.append(
            f"  {name:<11} {stage.seconds:8.1f} s  {stage.items:>7,} {stage.unit:<10} "
            f"{rate(stage.items, stage.seconds):>10}  {rate(prospects, stage.seconds):>10} prospects"
        )
    lines.append(f"  end to end  {total:8.1f} s  {prospects:>7,} prospects   {rate(prospects, total):>10}")
    lines += [
        "",
        "budget",
        f"  spent {first.finder_credits:,.1f} of {args.budget:,.0f} credits (report); ledger {books['credits']:,.1f}; "
        f"provider counted {books['provider']:,.1f}; reservations left {books['held']:g}",
        f"  SERP: ledger ${books['usd']:.2f}, stand-in charged ${books['serp_provider']:.2f}",
        "",
        "run 2 (same month, everything again)",
        f"  discovery: {second.discovery.new_candidates} new candidates, {second.serp_requests} SERP requests, "
        f"${second.serp_usd:.2f} (discovery keeps no SERP cache)",
        f"  enrichment: {second.enrichment.status}; {second.enrichment.targets_done:,} domains from the cache "
        f"({sum(second.enrichment.cache_hits.values()):,} cache hits), {sum(second.finder_requests.values())} "
        f"email finder requests, {second.finder_credits:g} new credits; ledger {books_after['credits']:,.1f}",
        f"  hygiene/scoring: {second.hygiene.checked if second.hygiene else 0:,} screened, {second.prospects:,} "
        f"prospects ({'same as' if second.prospects == prospects else 'NOT the same as'} run 1)",
        "  wall: "
        + ", ".join(f"{name} {stage.seconds:.1f} s" for name, stage in second.stages.items())
        + f" (enrichment from the cache: {rate(second.enrichment.targets_done, second.stages['enrichment'].seconds)}"
        " domains)",
        f"  duplicates: {dupes}",
        "",
        f"wall {wall:.1f} s; load average before {load[0]}, after {load[1]}",
    ]
    print("\n".join(lines))
    return {
        "domains": universe.size,
        "queries": len(keywords),
        "candidates": d.new_candidates,
        "candidate_domains": first.stages["discovery"].items,
        "enriched": e.targets_done,
        "left": e.targets_left,
        "status": e.status,
        "addresses": h.checked,
        "accepted": len(h.accepted),
        "rejected_by_rule": h.counts,
        "prospects": prospects,
        "serp_requests": first.serp_requests,
        "finder_requests": dict(first.finder_requests),
        "credits": first.finder_credits,
        "serp_usd": str(first.serp_usd),
        "stages": {k: {"seconds": v.seconds, "items": v.items} for k, v in first.stages.items()},
        "budget": args.budget,
        "ledger_credits": books["credits"],
        "second_run_credits": second.finder_credits,
        "second_run_new_candidates": second.discovery.new_candidates,
        "duplicates": dupes,
        "wall": wall,
    }


# -- main ----------------------------------------------------------------------------------------------------


@contextmanager
def open_warehouse(kind: str, workdir: Path) -> Iterator[Warehouse]:
    if kind == "duckdb":
        yield Warehouse(f"duckdb:///{workdir}/prospecting.duckdb")
        return
    sys.path.insert(0, str(REPO / "tests" / "support"))
    from embedded_pg import EmbeddedPostgres  # type: ignore[import-not-found]

    with EmbeddedPostgres() as server:  # its own temporary folder, one the server user can enter
        yield Warehouse(server.create_database("bench_prospecting"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=None, help="sites in the universe (default 10,000)")
    parser.add_argument("--budget", type=float, default=None, help="monthly credits (default 1.2 per domain)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="500 domains")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="multiply the providers' rate limits")
    parser.add_argument("--latency", type=float, nargs=2, default=(0.0, 0.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--error-rate", type=float, default=0.003, help="share of requests answering 5xx")
    parser.add_argument("--warehouse", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the warehouse here")
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args(argv)
    args.domains = args.domains or (500 if args.quick else 10_000)
    args.budget = args.budget if args.budget is not None else math.floor(1.2 * args.domains)
    load_before = tuple(round(x, 2) for x in os.getloadavg())
    started = time.perf_counter()

    universe = DomainUniverse(args.domains, seed=args.seed)
    mix = StaffMix(seed=args.seed)
    keywords = universe.keywords()
    config = StandInConfig(
        domains=args.domains,
        seed=args.seed,
        error_rate=args.error_rate,
        credits=args.budget * 10,  # the plan could pay far more: the budget must be what stops enrichment
        latency=tuple(args.latency),
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-prospecting-"))
    workdir.mkdir(parents=True, exist_ok=True)
    scale = args.rate_scale
    try:
        with StandIns(config) as standins, open_warehouse(args.warehouse, workdir) as warehouse:
            world = seed_world(warehouse, universe, mix, args.seed)
            serp = SerpClient(
                SERP_LOGIN, SERP_PASSWORD, base_url=standins.serp_url, requests_per_second=SERP_RATE * scale
            )
            finder = EmailFinderClient(
                API_KEY,
                base_url=standins.finder_url,
                requests_per_second={op: r * scale for op, r in HUNTER_RATES.items()},
            )
            first = run_pipeline(warehouse, serp, finder, keywords, args.budget, NOW)
            seen = standins.stats()
            books = ledger(warehouse) | {"provider": seen["credits_used"], "serp_provider": seen["serp_usd"]}
            first.seen = {"serp": seen["serp_statuses"], "finder": seen["finder_statuses"]}
            second = run_pipeline(warehouse, serp, finder, keywords, args.budget, SECOND_RUN)
            books_after = ledger(warehouse)
            seen_after = standins.stats()
            dupes = duplicates(warehouse)

            # the checks: each can fail
            assert books["credits"] <= args.budget, f"ledger {books['credits']} > budget {args.budget}"
            assert abs(books["credits"] - first.finder_credits) < 1e-6, "ledger and report disagree"
            assert abs(books["provider"] - books["credits"]) < 1e-6, "provider and ledger disagree"
            assert books["held"] == 0 and books_after["held"] == 0, "a reservation was left behind"
            assert books["usd"] == first.serp_usd == books["serp_provider"], "SERP money disagrees"
            assert first.enrichment.status == "budget_exhausted", "the budget did not bind"
            assert second.finder_credits == 0 and books_after["credits"] == books["credits"], "run 2 spent credits"
            assert seen_after["credits_used"] == books["provider"], "the provider charged run 2"
            assert seen_after["serp_usd"] == books["serp_provider"] + second.serp_usd, "SERP money disagrees"
            assert second.discovery.new_candidates == 0 and dupes["candidate keys twice"] == 0, "duplicates"
            assert dupes["cache keys twice"] == 0 and dupes["scored addresses twice"] == 0, "duplicates"
            assert second.candidates_after == first.candidates_after
            wall = time.perf_counter() - started
            load_after = tuple(round(x, 2) for x in os.getloadavg())
            figures = report(
                args,
                universe,
                keywords,
                world,
                first,
                second,
                books,
                books_after,
                dupes,
                wall,
                (load_before, load_after),
            )
            if args.json:
                args.json.write_text(json.dumps(figures, indent=2, default=str))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
