"""The prospecting assets materialized for real (`dagster.materialize`) against the local SERP and email-finder
stand-ins and a DuckDB warehouse: a discovery file → candidates (SERP and stations), enrichment under the file's
credit budget and hygiene → candidate emails and vendor contacts, then the campaign's ranking with its features;
a re-run adds nothing and spends no credit twice; unconfigured providers make their part do nothing and say why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from dagster import ExecuteInProcessResult, materialize

from assets.common.keys import OUTREACH_CANDIDATE_EMAILS, OUTREACH_CANDIDATES, OUTREACH_PROSPECT_SCORES
from assets.common.paths import DataDirResource
from assets.outreach.prospecting import PROSPECTING_ASSETS
from assets.outreach.prospecting_resources import OptionalEmailFinderResource, OptionalSerpResource
from backbeat.airplay.tables import STATIONS
from backbeat.catalog.tables import TRACKS
from backbeat.demo.standins._http import FaultPlan
from backbeat.demo.standins.emailfinder_server import FakeEmailFinder
from backbeat.demo.standins.serp_server import FakeSerp, expected_organic
from backbeat.outreach.discovery import normalise_url
from backbeat.outreach.prospecting_tables import CANDIDATES
from backbeat.outreach.tables import CAMPAIGNS
from integrations.warehouse import Warehouse, WarehouseResource

ORG = "label"
KEYWORDS = ("indie radio submit music", "college radio music director")
DEPTH = 5


@dataclass
class Env:
    warehouse: Warehouse
    data_dir: Path
    serp: FakeSerp
    finder: FakeEmailFinder

    def discovery_file(self, budget: float, name: str = "label.yaml") -> None:
        folder = self.data_dir / "inbox" / "outreach" / "discovery"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(
            f"org: {ORG}\nkeywords: {json.dumps(list(KEYWORDS))}\nlocation: 2840\nlanguage: en\ndepth: {DEPTH}\n"
            f"stations: true\nbudget: {budget}\nmoods: [radio, indie]\n",
            encoding="utf-8",
        )

    def resources(self, configured: bool = True) -> dict:
        serp = OptionalSerpResource(login="login", password="pass", base_url=self.serp.url)
        finder = OptionalEmailFinderResource(api_key="test-key", base_url=self.finder.api_url)
        return {
            "warehouse": WarehouseResource(url=self.warehouse.url),
            "data_dir": DataDirResource(data_dir=str(self.data_dir)),
            "serp": serp if configured else OptionalSerpResource(),
            "emailfinder": finder if configured else OptionalEmailFinderResource(),
        }

    def run(self, configured: bool = True) -> ExecuteInProcessResult:
        result = materialize(PROSPECTING_ASSETS, resources=self.resources(configured))
        assert result.success
        return result

    def credits(self) -> float:
        return float(
            self.warehouse.scalar(
                "SELECT coalesce(sum(credits), 0) FROM outreach.credit_ledger WHERE provider = ?", ["emailfinder"]
            )
        )


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    warehouse = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    stations = pl.DataFrame(
        [("radio-north", "Radio North", "https://radionorth.example/live.mp3", True, "Europe/London")],
        schema=STATIONS.column_names,
        orient="row",
    )
    warehouse.replace(STATIONS, STATIONS.conform(stations))
    warehouse.replace(
        TRACKS,
        TRACKS.from_rows(
            [dict.fromkeys(TRACKS.column_names) | {"track_id": "trk1", "title": "Lights", "genre": "indie"}]
        ),
    )
    warehouse.replace(
        CAMPAIGNS,
        CAMPAIGNS.from_rows(
            [
                dict.fromkeys(CAMPAIGNS.column_names)
                | {"campaign_id": "spring", "org_id": ORG, "track_id": "trk1", "status": "active"}
            ]
        ),
    )
    with (
        FakeSerp("login", "pass", FaultPlan()) as serp,
        FakeEmailFinder(api_keys=("test-key",), credits=None) as finder,
    ):
        yield Env(warehouse, tmp_path / "data", serp, finder)


def metadata(result: ExecuteInProcessResult, key) -> dict:  # noqa: ANN001
    [event] = [m for m in result.get_asset_materialization_events() if m.asset_key == key]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_discover_enrich_score_chain(env: Env) -> None:
    env.discovery_file(budget=40)
    result = env.run()

    found = env.warehouse.read(CANDIDATES).filter(pl.col("org_id") == ORG)
    serp_keys = {
        normalise_url(item.url) for keyword in KEYWORDS for item in expected_organic(keyword, 2840, "en", DEPTH)
    }
    assert set(found.filter(pl.col("provenance") == "serp").select("domain", "page_url").rows()) == serp_keys
    assert found.filter(pl.col("provenance") == "stations")["domain"].to_list() == ["radionorth.example"]
    discovered = metadata(result, OUTREACH_CANDIDATES)
    assert discovered["requests"] == 2 and discovered["new_candidates"] == found.height
    assert discovered["cost_usd"] == pytest.approx(0.004)

    enriched = metadata(result, OUTREACH_CANDIDATE_EMAILS)
    spent = env.credits()
    assert 0 < spent <= 40 and enriched["credits_spent"] == pytest.approx(spent)
    assert enriched["requests"] > 0 and enriched["addresses_found"] > 0
    assert "label: " in enriched["organisations"] and "of 40 left this month" in enriched["organisations"]
    rejects = env.warehouse.query("SELECT rule, count(*) AS n FROM outreach.hygiene_rejects GROUP BY rule")
    by_rule = dict(rejects.iter_rows())
    assert by_rule.get("role_account", 0) > 0  # the stand-in's info@ addresses
    assert f"- role_account: {by_rule['role_account']}" in enriched["rejected_by_rule"]
    vendor = env.warehouse.query("SELECT consent FROM outreach.org_contacts WHERE provenance = 'vendor'")
    assert vendor.height > 0 and not any(vendor["consent"])  # nobody is written to before a person decides

    ranking = env.warehouse.query(
        "SELECT rank, email, score, features FROM outreach.prospect_scores WHERE campaign_id = 'spring' ORDER BY rank"
    )
    assert ranking.height > 0 and ranking["rank"].to_list() == list(range(1, ranking.height + 1))
    assert ranking["score"].to_list() == sorted(ranking["score"].to_list(), reverse=True)
    assert not any(e.startswith("info@") for e in ranking["email"])  # refused by hygiene, never ranked
    features = json.loads(ranking["features"][0])["features"]
    assert set(features) == {"relevance", "airplay", "verification", "authority", "outcomes"}
    scored = metadata(result, OUTREACH_PROSPECT_SCORES)
    assert scored["prospects_scored"] == ranking.height and scored["campaigns_scored"] == 1
    assert f"**spring #1** {ranking['email'][0]}" in scored["top_ranked"] and "relevance +" in scored["top_ranked"]

    # a second run: no new candidate, no credit spent again (cache and only-new targets), same ranking size
    calls_before = len(env.finder.records)
    again = env.run()
    assert metadata(again, OUTREACH_CANDIDATES)["new_candidates"] == 0
    assert env.credits() == spent and len(env.finder.records) == calls_before
    assert metadata(again, OUTREACH_PROSPECT_SCORES)["prospects_scored"] == ranking.height


def test_the_monthly_budget_is_never_exceeded(env: Env) -> None:
    env.discovery_file(budget=3)
    result = env.run()
    assert env.credits() <= 3
    assert "budget_exhausted" in metadata(result, OUTREACH_CANDIDATE_EMAILS)["organisations"]


def test_unconfigured_providers_do_nothing_and_say_why(env: Env) -> None:
    env.discovery_file(budget=40)
    result = env.run(configured=False)
    discovered = metadata(result, OUTREACH_CANDIDATES)
    assert discovered["not_configured"] == "DATAFORSEO_LOGIN, DATAFORSEO_PASSWORD"
    assert "search skipped: SERP not configured" in discovered["skipped"] and discovered["requests"] == 0
    assert env.serp.tasks_served == 0
    enriched = metadata(result, OUTREACH_CANDIDATE_EMAILS)
    assert enriched["not_configured"] == "BACKBEAT_EMAILFINDER_API_KEY" and enriched["dagster/row_count"] == 0
    assert env.finder.records == []
    # the stations need no provider: they are still candidates
    assert env.warehouse.scalar("SELECT count(*) FROM outreach.candidates WHERE provenance = 'stations'") == 1


def test_a_new_or_changed_discovery_file_asks_for_one_prospecting_run(tmp_path: Path) -> None:
    from dagster import SensorResult, build_sensor_context, instance_for_test

    from assets.outreach.sensors import outreach_discovery_files_sensor

    data_dir = DataDirResource(data_dir=str(tmp_path / "data"))
    folder = tmp_path / "data" / "inbox" / "outreach" / "discovery"
    folder.mkdir(parents=True)

    def tick(cursor: str | None) -> SensorResult:
        with (
            instance_for_test() as instance,
            build_sensor_context(instance=instance, cursor=cursor, resources={"data_dir": data_dir}) as context,
        ):
            result = outreach_discovery_files_sensor(context)
        assert isinstance(result, SensorResult)
        return result

    (folder / "radio.yaml").write_text("org: org-a\nstations: true\n", encoding="utf-8")
    first = tick(None)
    assert [r.job_name for r in first.run_requests or []] in ([None], ["outreach_prospecting_job"])
    assert len(first.run_requests or []) == 1 and first.cursor
    assert not tick(first.cursor).run_requests  # nothing changed: no second run
    (folder / "radio.yaml").write_text("org: org-a\nstations: true\nbudget: 50\n", encoding="utf-8")
    assert len(tick(first.cursor).run_requests or []) == 1
