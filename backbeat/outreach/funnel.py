"""The prospecting funnel from discovery to airplay, in the lines the demo summary prints.

Per organisation: candidates found by each source, what the searches and the email finder cost, addresses
found and refused by each hygiene rule, prospects ranked, vendor contacts a person approved; then, from the
dbt mart `analytics.fct_outreach_airplay_conversions`, each contacted station: whether it played the promoted
track after the first email, after how many days, how often and what it earned, beside the stations not
contacted (the baseline). Read-only; a table or mart that does not exist yet is skipped.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from backbeat.common.built_tables import query_if_built
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from integrations.warehouse import Warehouse

CONVERSIONS_MART = "analytics.fct_outreach_airplay_conversions"


def _count(frame: pl.DataFrame | None) -> dict[str, int]:
    return {str(k): int(n) for k, n in frame.iter_rows()} if frame is not None else {}


def _money(minor: int | None, currency: str | None) -> str:
    if minor is None or currency is None:
        return "0"
    return f"{Decimal(int(minor)).scaleb(-MINOR_UNIT_EXPONENT.get(currency, 2))} {currency}"


def prospecting_lines(warehouse: Warehouse) -> list[str]:
    """One line per organisation with candidates: discovery → enrichment → hygiene → ranking → approval."""
    orgs = query_if_built(warehouse, "SELECT DISTINCT org_id FROM outreach.candidates ORDER BY org_id")
    lines = []
    for (org,) in orgs.iter_rows() if orgs is not None else []:
        found = _count(
            query_if_built(
                warehouse,
                "SELECT provenance, count(*) FROM outreach.candidates WHERE org_id = ? GROUP BY 1 ORDER BY 1",
                [org],
            )
        )
        spend = query_if_built(
            warehouse,
            "SELECT provider, count(*) AS requests, sum(credits) AS credits, sum(cost_usd) AS usd "
            "FROM outreach.credit_ledger WHERE org_id = ? GROUP BY provider ORDER BY provider",
            [org],
        )
        spent = {r["provider"]: r for r in spend.iter_rows(named=True)} if spend is not None else {}
        addresses = query_if_built(warehouse, "SELECT count(*) FROM outreach.candidate_emails WHERE org_id = ?", [org])
        refused = _count(
            query_if_built(
                warehouse,
                "SELECT rule, count(*) FROM outreach.hygiene_rejects WHERE org_id = ? GROUP BY 1 ORDER BY 1",
                [org],
            )
        )
        ranked = query_if_built(warehouse, "SELECT count(*) FROM outreach.prospect_scores WHERE org_id = ?", [org])
        approved = query_if_built(
            warehouse,
            "SELECT count(*) FROM outreach.org_contacts WHERE org_id = ? AND provenance = 'vendor' AND consent",
            [org],
        )
        serp = spent.get("serp", {})
        finder = spent.get("emailfinder", {})
        lines.append(
            f"prospecting {org}: "
            + ", ".join(f"{n} candidates from {source}" for source, n in found.items())
            + f" ({serp.get('requests', 0)} searches, ${Decimal(serp.get('usd') or 0).normalize()}); "
            f"{addresses.item() if addresses is not None else 0} addresses found for "
            f"{finder.get('credits') or 0:g} email-finder credits; refused by hygiene: "
            + (", ".join(f"{n} {rule}" for rule, n in refused.items()) or "none")
            + f"; {ranked.item() if ranked is not None else 0} prospects ranked; "
            f"{approved.item() if approved is not None else 0} found contacts approved by a person"
        )
    return lines


def conversion_lines(warehouse: Warehouse) -> list[str]:
    """Per campaign: the contacted stations' plays of the promoted track after the first email, and the
    stations not contacted over the same window (from the dbt mart; none before dbt has built it)."""
    rows = query_if_built(
        warehouse, f"SELECT * FROM {CONVERSIONS_MART} ORDER BY campaign_id, is_contacted DESC, station_id"
    )
    lines = []
    for campaign, group in rows.group_by("campaign_id", maintain_order=True) if rows is not None else []:
        parts = []
        for r in group.iter_rows(named=True):
            if r["is_contacted"]:
                played = (
                    f"first played {r['first_play_at']:%Y-%m-%d %H:%M} UTC, {r['days_to_first_play']} days after "
                    f"the first email; {r['play_count']} plays, {r['airtime_s']:.0f} s airtime, royalties "
                    f"{_money(r['royalty_amount_minor'], r['royalty_currency'])}"
                    if r["is_played"]
                    else "not played (yet)"
                )
                parts.append(f"{r['station_id']} contacted {r['first_sent_at']:%Y-%m-%d}: {played}")
            else:
                parts.append(f"{r['station_id']} not contacted (baseline): {r['play_count']} plays")
        track = group["track_title"][0] or group["track_id"][0]
        lines.append(f"airplay after outreach {campaign[0]} ({track}): " + "; ".join(parts))
    return lines
