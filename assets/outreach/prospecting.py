"""Prospecting assets: candidate sites found by discovery, their addresses found by enrichment and screened by
hygiene, and the explainable ranking of those addresses per campaign.

Thin: each asset reads its inputs (the discovery files in `inbox/outreach/discovery/`, the warehouse, the
providers through `serp` and `emailfinder`), calls the prospecting core (`backbeat/outreach/discovery.py`,
`enrichment.py`, `hygiene.py`, `scoring.py`) and returns the figures a person reads in the UI: requests,
money and credits spent, new candidates, addresses refused by each hygiene rule, the top of each ranking with
the features that explain it. A provider that is not configured makes its part do nothing and say why.
"""

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
    multi_asset,
)

from assets.common.keys import (
    AIRPLAY_PLAYLOGS,
    AIRPLAY_STATIONS,
    CATALOG_TRACKS,
    OUTREACH_CAMPAIGNS,
    OUTREACH_CANDIDATE_EMAILS,
    OUTREACH_CANDIDATES,
    OUTREACH_ORG_CONTACTS,
    OUTREACH_PROSPECT_SCORES,
    OUTREACH_SUPPRESSIONS,
)
from assets.common.metadata import preview
from assets.common.paths import DataDirResource
from assets.common.table_specs import table_spec
from assets.outreach.prospecting_resources import OptionalEmailFinderResource, OptionalSerpResource
from backbeat.catalog.tables import TRACKS
from backbeat.outreach.clock import utcnow
from backbeat.outreach.discovery import SerpSearchSource
from backbeat.outreach.discovery_file import (
    DiscoveryFileError,
    DiscoverySpec,
    discovery_files,
    load_discovery_file,
    run_discovery_spec,
)
from backbeat.outreach.enrichment import (
    EnrichmentSettings,
    credits_available,
    enrich_candidates,
    targets_from_candidates,
)
from backbeat.outreach.hygiene import (
    RULES,
    SuppressionIndex,
    accepted_candidate_emails,
    candidate_email_rows,
    record_hygiene,
    screen,
)
from backbeat.outreach.prospecting_tables import CANDIDATE_EMAILS, CANDIDATES, PROSPECT_SCORES, PROSPECTING_TABLES
from backbeat.outreach.scoring import load_prospect_signals, score_campaign, store_scores
from backbeat.outreach.tables import ORG_CONTACTS, OUTREACH_TABLES
from integrations.warehouse import Table, Warehouse, WarehouseResource

DISCOVERY_FILES = "discovery"
"""Folder under `inbox/outreach/` holding discovery files (`backbeat/outreach/discovery_file.py`)."""
HYGIENE_ASSET = "outreach/candidate_emails"
TOP_RANKED = 5


def _columns(table: Table) -> dict[str, TableSchema]:
    schema = TableSchema(columns=[TableColumn(c.name, c.type, description=c.description) for c in table.columns])
    return {"dagster/column_schema": schema}


def _md(lines: list[str], empty: str = "_none_") -> MetadataValue:
    return MetadataValue.md("\n".join(f"- {line}" for line in lines) if lines else empty)


def _ensure(db: Warehouse) -> None:
    db.ensure(*OUTREACH_TABLES, *PROSPECTING_TABLES)


def _specs(data_dir: DataDirResource) -> tuple[list[DiscoverySpec], list[str]]:
    """Every readable discovery file, and one line per problem of the others."""
    specs, problems = [], []
    for path in discovery_files(data_dir.inbox / "outreach" / DISCOVERY_FILES):
        try:
            specs.append(load_discovery_file(path))
        except DiscoveryFileError as exc:
            problems += exc.problems
    return specs, problems


def _count(db: Warehouse, table: Table) -> int:
    return int(db.scalar(f"SELECT count(*) FROM {table.qualified_name}") or 0)


@asset(
    key=OUTREACH_CANDIDATES,
    deps=[AIRPLAY_STATIONS],
    group_name="outreach",
    kinds={"yaml", "sql"},
    metadata=_columns(CANDIDATES),
)
def candidates(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource, serp: OptionalSerpResource
) -> MaterializeResult:
    """One row per organisation × normalised domain × page found by discovery (`outreach.candidates`), from the
    discovery files in `inbox/outreach/discovery/` (org, keywords, location, language, depth; csv; stations).

    Each file runs its sources: SERP queries (DataForSEO, cost in `outreach.credit_ledger`), a candidates CSV
    (bad rows quarantined with file, row and field) and Backbeat's monitored stations. Re-running never
    duplicates a candidate. Without `DATAFORSEO_LOGIN`/`DATAFORSEO_PASSWORD` the searches are skipped and
    said so. Metadata: requests, cost, results and new candidates per run, rejected rows, problems.
    """
    db = warehouse.client()
    _ensure(db)
    specs, problems = _specs(data_dir)
    if not serp.configured:
        context.log.warning(f"SERP not configured (set {', '.join(serp.missing())}): searches skipped")
    runs, skipped, failed = [], [], []
    for spec in specs:
        source = SerpSearchSource(serp.client()) if serp.configured else None
        try:
            outcome = run_discovery_spec(
                db, spec, search=source, not_configured=f"SERP not configured (set {', '.join(serp.missing())})"
            )
        except Exception as exc:  # one file's failure (e.g. no stations table yet) must not stop the others
            failed.append(f"{spec.path.name}: {type(exc).__name__}: {exc}")
            context.log.error(f"discovery file {spec.path.name} failed: {exc}")
            continue
        runs += [(spec.path.name, r) for r in outcome.results]
        skipped += outcome.skipped
        failed += outcome.failed
    for line in problems + failed:
        context.log.error(line)
    table = pl.DataFrame(
        [
            {
                "file": name,
                "org": r.org_id,
                "source": r.source,
                "status": r.status,
                "requests": r.requests,
                "results": r.results,
                "new": r.new_candidates,
                "rejected": r.rejected_rows,
                "cost_usd": str(r.cost_usd),
            }
            for name, r in runs
        ]
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": _count(db, CANDIDATES),
            "discovery_files": len(specs) + len({p.split(":")[0] for p in problems}),
            "requests": sum(r.requests for _, r in runs),
            "cost_usd": float(sum((r.cost_usd for _, r in runs), Decimal(0))),
            "new_candidates": sum(r.new_candidates for _, r in runs),
            "results": sum(r.results for _, r in runs),
            "rejected_rows": sum(r.rejected_rows for _, r in runs),
            "runs": preview(table, rows=50),
            "skipped": _md(skipped),
            "failed": _md(failed),
            "file_problems": _md(problems),
            **({"not_configured": ", ".join(serp.missing())} if not serp.configured else {}),
        }
    )


class CandidateEmailsConfig(Config):
    """Enrichment settings of a run: the monthly credit budget of an organisation whose discovery file sets
    none (0: such an organisation is not enriched), and at most how many domains per organisation."""

    monthly_credits: float = 0.0
    max_domains: int | None = None


CANDIDATE_EMAILS_DOC = """One row per candidate and address enrichment found for it (`outreach.candidate_emails`),
with the email finder's confidence and the verifier's result; then hygiene at intake.

For every organisation with candidates, the domains not yet enriched are asked of the email finder (domain
search or email finder, then the verifier) under the organisation's monthly credit budget (`budget:` in its
discovery file, else the run config's `monthly_credits`), which is never exceeded; answers are cached so
nothing is asked twice. Personal, verified addresses are added to `outreach/org_contacts` (provenance
`vendor`, no consent until a person grants it). Then every address is screened (syntax, suppressed,
undeliverable, disposable, role account, duplicate): refusals go to `outreach.hygiene_rejects` and
`quarantine.rejected_rows`. Without `BACKBEAT_EMAILFINDER_API_KEY` nothing is done and said so.
Metadata: requests, cache hits, credits spent and left per organisation, addresses found, refused by rule.
"""


@multi_asset(
    name="outreach__candidate_emails",
    specs=[
        AssetSpec(
            OUTREACH_CANDIDATE_EMAILS,
            deps=[OUTREACH_CANDIDATES, OUTREACH_SUPPRESSIONS],
            group_name="outreach",
            kinds={"sql"},
            description=CANDIDATE_EMAILS_DOC,
            metadata=_columns(CANDIDATE_EMAILS),
        ),
        table_spec(
            ORG_CONTACTS,
            "outreach",
            "outreach/candidate_emails",
            {"sql"},
            deps=[OUTREACH_CANDIDATES, OUTREACH_SUPPRESSIONS],
        ),
    ],
)
def candidate_emails(
    context: AssetExecutionContext,
    config: CandidateEmailsConfig,
    data_dir: DataDirResource,
    warehouse: WarehouseResource,
    emailfinder: OptionalEmailFinderResource,
) -> Iterator[MaterializeResult]:
    """`outreach/candidate_emails` and the vendor contacts it adds (see `CANDIDATE_EMAILS_DOC`)."""
    db = warehouse.client()
    _ensure(db)
    if not emailfinder.configured:
        context.log.warning(f"email finder not configured (set {', '.join(emailfinder.missing())}): nothing enriched")
        yield MaterializeResult(
            asset_key=OUTREACH_CANDIDATE_EMAILS,
            metadata={
                "dagster/row_count": _count(db, CANDIDATE_EMAILS),
                "requests": 0,
                "not_configured": ", ".join(emailfinder.missing()),
            },
        )
        yield MaterializeResult(
            asset_key=OUTREACH_ORG_CONTACTS, metadata={"dagster/row_count": _count(db, ORG_CONTACTS)}
        )
        return
    specs, problems = _specs(data_dir)
    budgets: dict[str, float] = {}
    for spec in specs:
        if spec.budget is not None:
            budgets[spec.org_id] = spec.budget
    orgs = sorted(set(db.query("SELECT DISTINCT org_id FROM outreach.candidates")["org_id"].to_list()))
    client = emailfinder.client()
    now = utcnow()
    lines, rejected, totals = [], Counter(), Counter()
    for org in orgs:
        budget = budgets.get(org, config.monthly_credits)
        if budget <= 0:
            lines.append(f"{org}: not enriched: no monthly credit budget (set `budget:` in its discovery file)")
        else:
            settings = EnrichmentSettings(monthly_credits=budget)
            targets = targets_from_candidates(db, org, limit=config.max_domains)
            report = enrich_candidates(
                db, client, org, targets, settings=settings, now=now, run_id=f"enrich-{context.run.run_id[:8]}-{org}"
            )
            left = credits_available(db, org, settings, now=now)
            figures = report.as_metadata()
            totals.update({k: figures[k] for k in ("api_calls", "cache_hits", "emails_found", "contacts_added")})
            totals["credits_spent"] += report.credits_spent
            lines.append(f"{org}: {report.summary(left, budget)}")
            for problem in report.problems[:5]:
                context.log.warning(f"{org}: {problem}")
        result = screen(candidate_email_rows(db, org), suppressions=SuppressionIndex.load(db, org))
        counts = record_hygiene(db, org, result, asset=HYGIENE_ASSET, partition_key=org, log=context.log.warning)
        rejected.update({rule: counts[rule] for rule in RULES})
        totals["accepted"] += counts["accepted"]
        totals["screened"] += counts["checked"]
    yield MaterializeResult(
        asset_key=OUTREACH_CANDIDATE_EMAILS,
        metadata={
            "dagster/row_count": _count(db, CANDIDATE_EMAILS),
            "requests": totals["api_calls"],
            "cache_hits": totals["cache_hits"],
            "credits_spent": float(totals["credits_spent"]),
            "addresses_found": totals["emails_found"],
            "contacts_added": totals["contacts_added"],
            "addresses_screened": totals["screened"],
            "addresses_accepted": totals["accepted"],
            "rejected_by_rule": MetadataValue.md("\n".join(f"- {rule}: {rejected[rule]}" for rule in RULES)),
            "organisations": _md(lines),
            "file_problems": _md(problems),
        },
    )
    yield MaterializeResult(asset_key=OUTREACH_ORG_CONTACTS, metadata={"dagster/row_count": _count(db, ORG_CONTACTS)})


@asset(
    key=OUTREACH_PROSPECT_SCORES,
    deps=[OUTREACH_CANDIDATE_EMAILS, OUTREACH_CAMPAIGNS, CATALOG_TRACKS, AIRPLAY_PLAYLOGS],
    group_name="outreach",
    kinds={"sql"},
    metadata=_columns(PROSPECT_SCORES),
)
def prospect_scores(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per campaign × candidate address × score version (`outreach.prospect_scores`): an explainable
    score (0–100: relevance to the track's genre and the moods, the station's airplay of similar tracks,
    verification, site authority, past outcomes) with its features, ranked per campaign.

    Every campaign that is not stopped or completed is ranked over its organisation's addresses that pass
    hygiene now; `moods:` of the organisation's discovery files count for relevance. Re-scoring replaces the
    campaign's ranking. Metadata: prospects per campaign and the top ranked with their features.
    """
    db = warehouse.client()
    _ensure(db)
    db.ensure(TRACKS)
    specs, _ = _specs(data_dir)
    moods: dict[str, list[str]] = {}
    for spec in specs:
        moods.setdefault(spec.org_id, []).extend(m for m in spec.moods if m not in moods.get(spec.org_id, []))
    campaigns = db.query(
        "SELECT campaign_id, org_id FROM outreach.campaigns WHERE status NOT IN ('stopped', 'completed') "
        "AND track_id IS NOT NULL ORDER BY campaign_id"
    )
    accepted: dict[str, set[tuple[str, str]]] = {}
    lines, top, scored = [], [], 0
    for campaign_id, org in campaigns.iter_rows():
        if org not in accepted:
            accepted[org] = accepted_candidate_emails(db, org)
        signals = load_prospect_signals(db, org, accepted=accepted[org])
        try:
            ranked = score_campaign(db, org, campaign_id, signals, moods=moods.get(org, []))
        except ValueError as exc:
            lines.append(f"{campaign_id}: not scored: {exc}")
            continue
        store_scores(db, org, campaign_id, ranked)
        scored += len(ranked)
        lines.append(f"{campaign_id} ({org}): {len(ranked)} prospects ranked")
        for s in ranked[:TOP_RANKED]:
            top.append(f"**{campaign_id} #{s.rank}** {s.email} — {s.score:.1f}: " + "; ".join(s.explanation()))
    return MaterializeResult(
        metadata={
            "dagster/row_count": _count(db, PROSPECT_SCORES),
            "campaigns_scored": sum(1 for line in lines if "ranked" in line),
            "prospects_scored": scored,
            "campaigns": _md(lines),
            "top_ranked": _md(top),
        }
    )


PROSPECTING_ASSETS = [candidates, candidate_emails, prospect_scores]
