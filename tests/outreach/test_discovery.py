"""Discovery from the three sources (SERP stand-in, a CSV file, airplay.stations) into outreach.candidates:
normalised keys, provenance, cost in the ledger, bad CSV rows quarantined, and re-runs that never duplicate."""

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from backbeat.airplay.tables import STATIONS
from backbeat.common.quarantine import QUARANTINE
from backbeat.demo.standins._http import FaultPlan
from backbeat.demo.standins.clock import ManualClock
from backbeat.demo.standins.serp_server import LOCATIONS, FakeSerp, expected_organic
from backbeat.outreach.discovery import (
    CSV_ASSET,
    DiscoveryFailed,
    SerpSearchSource,
    candidates_of,
    discover_from_csv,
    discover_from_search,
    discover_from_stations,
    normalise_url,
)
from backbeat.outreach.discovery_file import load_discovery_file, run_discovery_spec
from backbeat.outreach.prospecting_tables import CANDIDATES, CREDIT_LEDGER, DISCOVERY_RUNS
from integrations.resilience import CircuitBreaker, RetryPolicy, TokenBucket
from integrations.serp import SerpClient
from integrations.warehouse import Warehouse

ORG = "org-a"
LONDON = "London,England,United Kingdom"
KEYWORDS = ["indie radio london", "new music blog uk"]


class Clock:
    """Discovery timestamps that move forward a minute per call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 7, 0)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(f"duckdb:///{tmp_path}/w.duckdb")


@pytest.fixture
def serp() -> Iterator[FakeSerp]:
    with FakeSerp("login", "pass", FaultPlan()) as server:
        yield server


def source_for(server: FakeSerp) -> SerpSearchSource:
    client = SerpClient(
        "login",
        "pass",
        base_url=server.url,
        policy=RetryPolicy(sleep=lambda s: None, rng=random.Random(0)),
        breaker=CircuitBreaker("serp"),
        bucket=TokenBucket(1000, 100, clock=ManualClock().now, sleep=lambda s: None),
        timeout=5,
    )
    return SerpSearchSource(client)


def expected_keys(depth: int) -> set[tuple[str, str]]:
    return {
        normalise_url(item.url)
        for keyword in KEYWORDS
        for item in expected_organic(keyword, LOCATIONS[LONDON], "en", depth)
    }


@pytest.mark.parametrize(
    ("url", "domain", "page"),
    [
        (
            "https://WWW.Example.COM./Contact/?utm_source=x&b=2&a=1#top",
            "example.com",
            "https://example.com/Contact?a=1&b=2",
        ),
        ("example.com", "example.com", ""),
        ("http://www.example.com:80/", "example.com", ""),
        ("https://bücher.example/kontakt", "xn--bcher-kva.example", "https://xn--bcher-kva.example/kontakt"),
        ("https://example.com:8443//a//b/", "example.com", "https://example.com:8443/a/b"),
    ],
)
def test_urls_normalise_to_one_key(url: str, domain: str, page: str) -> None:
    assert normalise_url(url) == (domain, page)


@pytest.mark.parametrize("bad", ["ftp://example.com/x", "not a domain", "https://exa_mple..com/", ""])
def test_bad_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_url(bad)


def test_serp_discovery_writes_candidates_and_cost(warehouse: Warehouse, serp: FakeSerp) -> None:
    run = discover_from_search(
        warehouse, ORG, source_for(serp), KEYWORDS, location_name=LONDON, depth=20, clock=Clock()
    )

    found = candidates_of(warehouse, ORG)
    assert set(zip(found["domain"], found["page_url"], strict=True)) == expected_keys(20)
    assert run.status == "succeeded" and run.new_candidates == found.height and run.results == 40
    assert set(found["provenance"]) == {"serp"} and set(found["location"]) == {LONDON}
    assert not any(d.startswith("www.") or d != d.lower() for d in found["domain"])
    assert "ads.example" not in set(found["domain"])
    contact = found.filter(pl.col("page_url").str.ends_with("/contact"))
    assert contact.height and set(contact["contact_method"]) == {"contact_page"}
    assert run.cost_usd == serp.spent_usd == Decimal("0.008") and run.requests == 2

    ledger = warehouse.read(CREDIT_LEDGER)
    assert ledger.height == 2 and set(ledger["provider"]) == {"serp"} and set(ledger["month"]) == {"2026-12"}
    assert sum(ledger["cost_usd"].to_list()) == Decimal("0.008")
    runs = warehouse.read(DISCOVERY_RUNS)
    assert runs.row(0, named=True)["status"] == "succeeded" and runs["cost_usd"][0] == Decimal("0.008")


def write_stations(warehouse: Warehouse) -> None:
    rows = [
        ("radio-north", "Radio North", "http://streams.example.invalid/radio-north.mp3", True, "Europe/London"),
        ("radio-south", "Radio South", "http://streams.example.invalid/radio-south.mp3", True, "Europe/London"),
        ("radio-off", "Radio Off", "http://streams.example.invalid/radio-off.mp3", False, "Europe/London"),
    ]
    frame = pl.DataFrame(rows, schema=STATIONS.column_names, orient="row")
    warehouse.replace(STATIONS, STATIONS.conform(frame))


def test_stations_programmers_are_candidates(warehouse: Warehouse) -> None:
    write_stations(warehouse)
    run = discover_from_stations(warehouse, ORG, websites={"radio-north": "https://www.RadioNorth.example/team"})

    found = candidates_of(warehouse, ORG).sort("station_id")
    assert run.new_candidates == 2 and found["station_id"].to_list() == ["radio-north", "radio-south"]
    north, south = found.iter_rows(named=True)
    assert (north["domain"], north["page_url"], north["contact_method"]) == (
        "radionorth.example",
        "https://radionorth.example/team",
        "website",
    )
    assert (south["domain"], south["contact_method"], south["title"]) == (
        "streams.example.invalid",
        "stream",
        "Radio South",
    )
    assert set(found["provenance"]) == {"stations"}


CSV = (
    "website,title,email,contact_page\n"
    "https://www.indiezine.example/,Indie Zine,Editor@IndieZine.example,\n"
    "ftp://files.example/x,Bad scheme,,\n"
    "northernfm.example,Northern FM,not-an-email,\n"
    "https://basement.example/sessions,Basement Sessions,,https://basement.example/contact\n"
    "indiezine.example,Indie Zine again,,\n"
    ",No website,a@b.example,\n"
)


def test_csv_import_keeps_good_rows_and_quarantines_bad_ones(warehouse: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(CSV, encoding="utf-8")
    run = discover_from_csv(warehouse, ORG, path)

    found = candidates_of(warehouse, ORG).sort("source")
    assert found.select("domain", "page_url", "contact_method", "contact_value", "source").rows() == [
        ("indiezine.example", "", "email", "editor@indiezine.example", "leads.csv:2"),
        (
            "basement.example",
            "https://basement.example/sessions",
            "contact_page",
            "https://basement.example/contact",
            "leads.csv:5",
        ),
    ]
    assert run.results == 3 and run.new_candidates == 2  # row 6 is row 2's candidate again
    assert run.rejected_rows == 3 and run.status == "succeeded"

    rejects = warehouse.read(QUARANTINE, "asset = ?", [CSV_ASSET]).sort("row_number")
    assert rejects.select("source_file", "row_number", "field").rows() == [
        ("leads.csv", 3, "website"),
        ("leads.csv", 4, "email"),
        ("leads.csv", 7, "website"),
    ]
    assert rejects["partition_key"].to_list() == [f"{ORG}:leads.csv"] * 3
    assert "not a website URL" in rejects["reason"][0] and "not an email address" in rejects["reason"][1]


def test_rerunning_every_source_never_duplicates(warehouse: Warehouse, serp: FakeSerp, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(CSV, encoding="utf-8")
    write_stations(warehouse)
    clock = Clock()

    def everything() -> list[int]:
        return [
            discover_from_search(
                warehouse, ORG, source_for(serp), KEYWORDS, location_name=LONDON, depth=10, clock=clock
            ).new_candidates,
            discover_from_csv(warehouse, ORG, path, clock=clock).new_candidates,
            discover_from_stations(warehouse, ORG, clock=clock).new_candidates,
        ]

    first_new = everything()
    first = candidates_of(warehouse, ORG)
    assert all(n > 0 for n in first_new) and first.height == sum(first_new)
    assert everything() == [0, 0, 0]
    second = candidates_of(warehouse, ORG)
    assert second.height == first.height
    assert second["candidate_id"].n_unique() == second.height
    joined = first.join(second, on="candidate_id", suffix="_2")
    assert (joined["discovered_at"] == joined["discovered_at_2"]).all()
    assert (joined["last_seen_at_2"] > joined["last_seen_at"]).all()
    assert warehouse.read(QUARANTINE).height == 3  # the re-import replaced its rejects, did not add to them
    assert warehouse.read(DISCOVERY_RUNS).height == 6 and warehouse.read(CREDIT_LEDGER).height == 4

    other = discover_from_csv(warehouse, "org-b", path, clock=clock)  # another organisation has its own
    assert other.new_candidates == 2 and warehouse.read(CANDIDATES).height == first.height + 2


def test_failed_search_keeps_what_was_paid_for_and_raises(warehouse: Warehouse, serp: FakeSerp) -> None:
    serp.balance_usd = Decimal("0.003")  # one SERP of 10 (0.002), not two
    with pytest.raises(DiscoveryFailed, match="40210") as caught:
        discover_from_search(warehouse, ORG, source_for(serp), KEYWORDS, location_name=LONDON, depth=10)

    result = caught.value.result
    assert result.status == "failed" and result.cost_usd == Decimal("0.002") and result.requests == 2
    run = warehouse.read(DISCOVERY_RUNS).row(0, named=True)
    assert run["status"] == "failed" and "40210" in run["error"] and run["cost_usd"] == Decimal("0.002")
    found = candidates_of(warehouse, ORG)
    assert set(found["query"]) == {KEYWORDS[0]} and found.height == result.new_candidates > 0
    assert warehouse.read(CREDIT_LEDGER)["cost_usd"].to_list() == [Decimal("0.002")]


def test_a_discovery_file_does_not_pay_for_the_same_search_within_refresh_days(
    warehouse: Warehouse, serp: FakeSerp, tmp_path: Path
) -> None:
    path = tmp_path / "radio.yaml"
    path.write_text(f"org: {ORG}\nkeywords: [indie radio london]\nlocation: {LONDON}\nrefresh_days: 7\n", "utf-8")
    spec = load_discovery_file(path)
    clock = Clock()
    first = run_discovery_spec(warehouse, spec, search=source_for(serp), clock=clock)
    assert [r.requests for r in first.results] == [1] and not first.skipped

    clock.now += timedelta(days=6)
    again = run_discovery_spec(warehouse, spec, search=source_for(serp), clock=clock)
    assert again.results == [] and len(again.skipped) == 1
    assert "searched on 2026-12-05 07:0" in again.skipped[0] and "refresh_days: 7" in again.skipped[0]
    assert warehouse.read(CREDIT_LEDGER).height == 1

    other_depth = load_discovery_file(path)
    other_depth = type(other_depth)(**{**other_depth.__dict__, "depth": 20})  # another question is asked
    assert [
        r.requests for r in run_discovery_spec(warehouse, other_depth, search=source_for(serp), clock=clock).results
    ] == [1]

    clock.now += timedelta(days=2)  # eight days after the first search: refreshed
    assert [r.requests for r in run_discovery_spec(warehouse, spec, search=source_for(serp), clock=clock).results] == [
        1
    ]
    assert warehouse.read(CREDIT_LEDGER).height == 3
