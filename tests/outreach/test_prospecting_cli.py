"""`backbeat outreach discover|enrich|score|preview|drafts|approve|reject|consent grant` through the real command
line (`backbeat.cli.main`) against the local SERP, email-finder and text-generation stand-ins and DuckDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from backbeat.catalog.tables import TRACKS
from backbeat.cli import main
from backbeat.demo.standins._http import FaultPlan
from backbeat.demo.standins.emailfinder_server import FakeEmailFinder
from backbeat.demo.standins.serp_server import FakeSerp
from backbeat.demo.standins.textgen_server import FakeTextGen
from backbeat.outreach.campaigns import add_template
from backbeat.outreach.compose import TemplateVersion
from backbeat.outreach.generation import DraftRequest, GenerationSettings, generate_draft
from backbeat.outreach.tables import CAMPAIGNS, OUTREACH_TABLES
from integrations.warehouse import Warehouse

ORG = "label"
NOW = datetime(2026, 12, 5, 8, 0)


@dataclass
class Env:
    tmp: Path
    warehouse: Warehouse
    serp: FakeSerp
    finder: FakeEmailFinder
    runner: CliRunner

    def run(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(main, ["outreach", "--data-dir", str(self.tmp / "data"), *args])
        assert result.exit_code == code, result.output + repr(result.exception)
        return result


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    warehouse = Warehouse(url)
    warehouse.ensure(*OUTREACH_TABLES)
    warehouse.replace(
        TRACKS, TRACKS.from_rows([dict.fromkeys(TRACKS.column_names) | {"track_id": "t1", "genre": "indie"}])
    )
    row = dict.fromkeys(CAMPAIGNS.column_names) | {"campaign_id": "spring", "org_id": ORG, "track_id": "t1"}
    warehouse.replace(CAMPAIGNS, CAMPAIGNS.from_rows([row | {"status": "active"}]))
    with FakeSerp("login", "pass", FaultPlan()) as serp, FakeEmailFinder(credits=None) as finder:
        for name, value in {
            "BACKBEAT_WAREHOUSE_URL": url,
            "BACKBEAT_DATA_DIR": str(tmp_path / "data"),
            "DATAFORSEO_LOGIN": "login",
            "DATAFORSEO_PASSWORD": "pass",
            "DATAFORSEO_URL": serp.url,
            "BACKBEAT_EMAILFINDER_API_KEY": "test-key",
            "BACKBEAT_EMAILFINDER_URL": finder.api_url,
        }.items():
            monkeypatch.setenv(name, value)
        yield Env(tmp_path, warehouse, serp, finder, CliRunner())


def discovery_file(env: Env, text: str) -> Path:
    path = env.tmp / "discover.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_discover_enrich_score_and_consent(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    path = discovery_file(env, f"org: {ORG}\nkeywords: [indie radio]\nlocation: 2840\ndepth: 5\n")
    out = env.run("discover", str(path)).output
    assert "serp: succeeded; 1 requests, $0.002; 5 results, 5 new candidates, 0 rejected" in out
    assert "search skipped: the same query was searched on" in env.run("discover", str(path)).output  # not paid twice
    assert "0 new candidates" in env.run("discover", str(path), "--refresh").output  # a re-run never duplicates

    out = env.run("enrich", ORG, "--budget", "2").output
    spent = env.warehouse.scalar("SELECT sum(credits) FROM outreach.credit_ledger WHERE provider = 'emailfinder'")
    assert 0 < spent <= 2 and "budget_exhausted" in out and f"{spent:g} credits spent" in out
    out = env.run("enrich", ORG, "--budget", "50").output
    assert "completed" in out and "hygiene:" in out and "role_account" in out

    out = env.run("score", "spring", "--mood", "radio", "--top", "2").output
    ranked = env.warehouse.query("SELECT rank, email FROM outreach.prospect_scores ORDER BY rank")
    assert f"campaign spring: {ranked.height} prospects ranked" in out
    assert f"#1 {ranked['email'][0]} " in out and "relevance +" in out and "verification +" in out
    assert "no campaign 'autumn'" in env.run("score", "autumn", code=1).output

    vendor = env.warehouse.query("SELECT email FROM outreach.org_contacts WHERE provenance = 'vendor' ORDER BY email")
    email = vendor["email"][0]
    out = env.run("consent", "grant", ORG, email, "nobody@else.example", "--by", "ann", "--basis", "programmer").output
    assert "consent granted for 1 of 2 address(es)" in out
    assert env.warehouse.scalar("SELECT consent FROM outreach.org_contacts WHERE email = ?", [email]) is True
    assert "needs" in env.run("consent", "grant", ORG, email, "--by", " ", "--basis", "x", code=1).output

    monkeypatch.delenv("DATAFORSEO_LOGIN")
    out = env.run("discover", str(path), "--refresh").output
    assert "search skipped: SERP not configured (set DATAFORSEO_LOGIN)" in out
    monkeypatch.delenv("BACKBEAT_EMAILFINDER_API_KEY")
    assert "set BACKBEAT_EMAILFINDER_API_KEY" in env.run("enrich", ORG, "--budget", "5", code=1).output


def test_bad_discovery_file_names_its_fields(env: Env) -> None:
    path = discovery_file(env, "org: label\ndepth: 0\nlanguage: English\n")
    out = env.run("discover", str(path), code=1).output
    assert "discover.yaml: depth: must be a whole number from 1 to 700, got 0" in out
    assert "discover.yaml: language: must be a language code" in out
    assert "discover.yaml: keywords: no source" in out


def test_preview_drafts_approve_reject(env: Env) -> None:
    add_template(env.warehouse, ORG, "intro", "$track for $company", "Hi $first_name,\nListen to $track.\n", now=NOW)
    context = env.tmp / "context.json"
    context.write_text(json.dumps({"first_name": "Ann", "company": "Radio One"}), encoding="utf-8")
    assert "track" in env.run("preview", "intro", "1", "--context", str(context), code=1).output
    context.write_text(json.dumps({"first_name": "Ann", "company": "Radio One", "track": "Glow"}), encoding="utf-8")
    out = env.run("preview", "intro", "1", "--context", str(context)).output
    assert "Subject: Glow for Radio One" in out and "Hi Ann," in out and "checks: passed" in out

    template = TemplateVersion("intro", 2, "{{ track }}", "Hi {{ first_name }},\n{{ track }}.\n{{ unsubscribe_url }}\n")
    with FakeTextGen(api_keys=("k",)) as textgen:
        settings = GenerationSettings(enabled=True, api_key="k", base_url=textgen.url)
        drafts = [
            generate_draft(
                env.warehouse,
                settings,
                template,
                DraftRequest(ORG, "spring", 1, email, {"first_name": "Ann", "track": "Glow"}, candidate_id=email),
                now=NOW,
            )
            for email in ("ann@radio.example", "bo@fm.example")
        ]
    assert {d.status for d in drafts} == {"pending_approval"}
    assert env.run("drafts", "--status", "pending_approval").output.count("pending_approval") == 2
    assert "approved by ann" in env.run("approve", drafts[0].draft_id, "--by", "ann").output
    assert "rejected by bo" in env.run("reject", drafts[1].draft_id, "--by", "bo").output
    assert "cannot become approved" in env.run("approve", drafts[1].draft_id, "--by", "ann", code=1).output
    out = env.run("drafts", "--org", ORG).output
    assert f"{drafts[0].draft_id}  {ORG}/spring step 1  ann@radio.example  approved" in out
    assert "no drafts" in env.run("drafts", "--status", "sent").output
