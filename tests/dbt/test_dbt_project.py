"""dbt project: build every model and test against a small hand-made DuckDB warehouse, assert on mart values.

The warehouse holds the source schemas the Dagster assets write (catalog, airplay, rights, royalties, curation,
outreach) with a few rows chosen so every mart has a value worth checking: a play on a track whose work has an
approved 60/40 split, a play whose work has no split (posted to suspense), a play not yet posted, two currencies.
dbt runs in-process through dbtRunner with its target and log paths in a temporary directory.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

def source_ddl() -> str:
    """The source tables exactly as the assets create them (assets.registry), so dbt and assets cannot drift."""
    from assets.registry import SOURCE_TABLES

    schemas = sorted({t.schema for t in SOURCE_TABLES})
    return ";\n".join([*(f"create schema {s}" for s in schemas), *(t.create_sql() for t in SOURCE_TABLES)]) + ";"

SOURCE_ROWS = """
insert into catalog.artists values
    ('A1', 'Nina Nova', 'FR', '2024-05-30 08:00:00'),
    ('A2', 'The Loops', 'GB', '2024-05-30 08:00:00');
insert into catalog.tracks values
    ('T1', 'FRX202400001', 'Night Drive', 'A1', 'Neon', '2024-03-01', 200000, 'electro', false, 61, 'W1',
     'audio/T1.flac', '2024-05-30 08:00:00'),
    ('T2', 'GBX202400002', 'Loop Song', 'A2', 'Loops', '2023-10-10', 150000, 'indie', true, 40, 'W2',
     null, '2024-05-30 08:00:00'),
    ('T3', 'GBX202400003', 'B-Side', 'A2', 'Loops', '2023-10-10', 90000, 'indie', false, 5, null,
     null, '2024-05-30 08:00:00');
insert into airplay.stations values
    ('S1', 'Radio Un', 'http://radio-un.example/stream', true, 'Europe/Paris'),
    ('S2', 'Beat FM', 'http://beat.example/live', false, 'America/New_York');
insert into airplay.playlogs values
    ('PL1', 'S1', 'T1', '2024-06-01', '2024-06-01 10:00:00', '2024-06-01 10:03:00', 180, 0.97, 12, 1.0, null, null),
    ('PL2', 'S1', 'T1', '2024-06-01', '2024-06-01 15:00:00', '2024-06-01 15:03:20', 200, 0.91, 14, 1.02, 'T2', 0.6),
    ('PL3', 'S1', 'T2', '2024-06-01', '2024-06-01 16:00:00', '2024-06-01 16:02:00', 120, 0.88, 8, 1.0, null, null),
    ('PL4', 'S2', 'T1', '2024-06-02', '2024-06-02 01:00:00', '2024-06-02 01:01:40', 100, 0.95, 7, 0.97, null, null),
    ('PL5', 'S1', 'T1', '2024-06-02', '2024-06-02 09:00:00', '2024-06-02 09:01:00', 60, 0.80, 4, 1.0, null, null);
insert into rights.works values
    ('W1', 'T-000.000.001-0', 'Night Drive', 'works_2024.csv'),
    ('W2', 'T-000.000.002-1', 'Loop Song', 'works_2024.csv');
insert into rights.parties values
    ('P1', 'Ada Writer', '00012345678'),
    ('P2', 'Pub Co', null),
    ('P3', 'Idle Party', null);
insert into rights.splits values
    ('W1', 'P1', 'composer', 6000, 'splits_2024.csv', 1),
    ('W1', 'P2', 'publisher', 4000, 'splits_2024.csv', 2);
insert into royalties.tariffs values
    ('TF1', 'S1', 'EUR', 0.040000, '2024-01-01', '2024-06-01'),
    ('TF2', 'S1', 'EUR', 0.050000, '2024-06-01', null),
    ('TF3', 'S2', 'USD', 0.033300, '2024-01-01', null);
-- B1: 2024-06-01, EUR. PL1 and PL2 split 60/40 between P1 and P2; PL3's work has no split -> suspense.
-- B2: 2024-06-02, USD. PL4 split with rounding (199.8 -> 200, 133.2 -> 133). PL5 is not posted yet.
insert into royalties.royalty_ledger values
    ('B1', 1, '2024-06-01', 'S1', 'PL1', 'station_receivable', null, 900, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('B1', 2, '2024-06-01', 'S1', 'PL1', 'party_payable', 'P1', -540, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('B1', 3, '2024-06-01', 'S1', 'PL1', 'party_payable', 'P2', -360, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('B1', 4, '2024-06-01', 'S1', 'PL2', 'station_receivable', null, 1000, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('B1', 5, '2024-06-01', 'S1', 'PL2', 'party_payable', 'P1', -600, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('B1', 6, '2024-06-01', 'S1', 'PL2', 'party_payable', 'P2', -400, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('B1', 7, '2024-06-01', 'S1', 'PL3', 'station_receivable', null, 600, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('B1', 8, '2024-06-01', 'S1', 'PL3', 'suspense', null, -600, 'EUR', 'TF2', '2024-06-02 02:00:00'),
    ('B2', 1, '2024-06-02', 'S2', 'PL4', 'station_receivable', null, 333, 'USD', 'TF3', '2024-06-03 02:00:00'),
    ('B2', 2, '2024-06-02', 'S2', 'PL4', 'party_payable', 'P1', -200, 'USD', 'TF3', '2024-06-03 02:00:00'),
    ('B2', 3, '2024-06-02', 'S2', 'PL4', 'party_payable', 'P2', -133, 'USD', 'TF3', '2024-06-03 02:00:00');
insert into curation.playlist_snapshots values
    ('2024-06-01', 'PLY1', 1, 'T1', 'batch-a'),
    ('2024-06-01', 'PLY1', 2, 'TX', 'batch-a');
insert into outreach.contacts values
    ('C1', ' Ada@Example.com ', 'Ada', 'Pub Co', 'FR', true, 'contacts.csv', 1);
"""

MART_TABLES = {
    "dim_tracks",
    "dim_parties",
    "dim_stations",
    "fct_plays",
    "fct_daily_airplay",
    "fct_ledger_lines",
    "fct_ledger_batches",
    "fct_party_royalties_daily",
    "fct_playlist_snapshots",
}


def make_warehouse(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(source_ddl())
        con.execute(SOURCE_ROWS)


def run_dbt(args: list[str], target_path: Path) -> dbtRunnerResult:
    return dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(target_path),
            "--log-path",
            str(target_path / "logs"),
        ]
    )


def failed_nodes(result: dbtRunnerResult) -> list[str]:
    return [
        f"{r.node.name}: {r.status} {r.message or ''}"
        for r in (result.result or [])
        if str(r.status) in ("error", "fail")
    ]


def query(path: Path, sql: str) -> list[tuple]:
    # dbt-duckdb keeps its database instance open in this process; a connection with the same (default)
    # configuration shares it, a read_only one would be refused.
    with duckdb.connect(str(path)) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """Build the project once against a fresh warehouse; yields (warehouse path, dbt target dir, build result)."""
    tmp = tmp_path_factory.mktemp("dbt")
    warehouse = tmp / "warehouse.duckdb"
    make_warehouse(warehouse)
    target = tmp / "target"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "duckdb")
        mp.setenv("BACKBEAT_DUCKDB_PATH", str(warehouse))
        result = run_dbt(["build"], target)
        assert result.success, failed_nodes(result) or result.exception
        docs = run_dbt(["docs", "generate"], target)
        assert docs.success, docs.exception
    yield warehouse, target, result


def test_build_runs_models_and_tests(built):
    _, _, result = built
    statuses = {r.node.name: str(r.status) for r in result.result}
    assert statuses.keys() >= MART_TABLES
    assert all(statuses[m] == "success" for m in MART_TABLES)
    # data tests ran too (unique/not_null/relationships/sums_to_zero...), and none failed
    n_tests = sum(1 for r in result.result if r.node.resource_type == "test")
    assert n_tests >= 60
    assert not failed_nodes(result)
    # the warn-level relationships (tracks -> works, ledger -> plays) hold on this data too
    assert not [r for r in result.result if str(r.status) == "warn"]


def test_all_models_land_in_analytics_as_declared(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        "select table_name, table_type from information_schema.tables where table_schema = 'analytics'",
    )
    kinds = dict(rows)
    for mart in MART_TABLES:
        assert kinds[mart] == "BASE TABLE", mart
    assert kinds["stg_airplay__plays"] == "VIEW"
    assert kinds["int_plays_enriched"] == "VIEW"


def test_party_royalties_daily(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select party_id, party_name, currency, posted_for, amount_minor, play_count, line_count
           from analytics.fct_party_royalties_daily order by posted_for, currency, party_id""",
    )
    assert rows == [
        ("P1", "Ada Writer", "EUR", date(2024, 6, 1), 1140, 2, 2),
        ("P2", "Pub Co", "EUR", date(2024, 6, 1), 760, 2, 2),
        ("SUSPENSE", "Suspense (no approved split)", "EUR", date(2024, 6, 1), 600, 1, 1),
        ("P1", "Ada Writer", "USD", date(2024, 6, 2), 200, 1, 1),
        ("P2", "Pub Co", "USD", date(2024, 6, 2), 133, 1, 1),
    ]


def test_ledger_batches_balance(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select batch_id, currency, line_count, play_count, debit_minor, credit_minor, balance_minor,
                  suspense_minor, posted_for_from
           from analytics.fct_ledger_batches order by batch_id""",
    )
    assert rows == [
        ("B1", "EUR", 8, 3, 2500, 2500, 0, 600, date(2024, 6, 1)),
        ("B2", "USD", 3, 1, 333, 333, 0, 0, date(2024, 6, 2)),
    ]


def test_ledger_lines_have_names_and_debit_credit(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select ledger_line_id, account, station_name, party_name, amount_minor, debit_minor, credit_minor
           from analytics.fct_ledger_lines where batch_id = 'B1' and line_no in (1, 2, 8) order by line_no""",
    )
    assert rows == [
        ("B1|1", "station_receivable", "Radio Un", None, 900, 900, 0),
        ("B1|2", "party_payable", "Radio Un", "Ada Writer", -540, 0, 540),
        ("B1|8", "suspense", "Radio Un", None, -600, 0, 600),
    ]
    assert query(warehouse, "select count(*) from analytics.fct_ledger_lines") == [(11,)]


def test_daily_airplay(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select daily_airplay_id, station_name, track_title, artist_name, play_count, airplay_seconds
           from analytics.fct_daily_airplay order by play_date, station_id, track_id""",
    )
    assert rows == [
        ("S1|T1|2024-06-01", "Radio Un", "Night Drive", "Nina Nova", 2, 380),
        ("S1|T2|2024-06-01", "Radio Un", "Loop Song", "The Loops", 1, 120),
        ("S1|T1|2024-06-02", "Radio Un", "Night Drive", "Nina Nova", 1, 60),
        ("S2|T1|2024-06-02", "Beat FM", "Night Drive", "Nina Nova", 1, 100),
    ]


def test_plays_carry_royalty_from_receivable_line(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """select play_id, station_name, track_title, artist_name, iswc, royalty_amount_minor,
                  royalty_currency, party_payable_minor, suspense_minor, is_royalty_posted, is_in_suspense
           from analytics.fct_plays order by play_id""",
    )
    assert rows == [
        ("PL1", "Radio Un", "Night Drive", "Nina Nova", "T-000.000.001-0", 900, "EUR", 900, 0, True, False),
        ("PL2", "Radio Un", "Night Drive", "Nina Nova", "T-000.000.001-0", 1000, "EUR", 1000, 0, True, False),
        ("PL3", "Radio Un", "Loop Song", "The Loops", "T-000.000.002-1", 600, "EUR", 0, 600, True, True),
        ("PL4", "Beat FM", "Night Drive", "Nina Nova", "T-000.000.001-0", 333, "USD", 333, 0, True, False),
        ("PL5", "Radio Un", "Night Drive", "Nina Nova", "T-000.000.001-0", None, None, None, None, False, False),
    ]


def test_dimensions(built):
    warehouse, _, _ = built
    assert query(
        warehouse,
        """select track_id, artist_name, iswc, split_party_count, has_approved_split, has_reference_audio
           from analytics.dim_tracks order by track_id""",
    ) == [
        ("T1", "Nina Nova", "T-000.000.001-0", 2, True, True),
        ("T2", "The Loops", "T-000.000.002-1", 0, False, False),
        ("T3", "The Loops", None, 0, False, False),
    ]
    assert query(
        warehouse, "select party_id, work_count, split_count from analytics.dim_parties order by party_id"
    ) == [("P1", 1, 1), ("P2", 1, 1), ("P3", 0, 0)]
    assert query(
        warehouse,
        """select station_id, latest_tariff_id, latest_tariff_currency, cast(latest_tariff_rate_per_second as double)
           from analytics.dim_stations order by station_id""",
    ) == [("S1", "TF2", "EUR", 0.05), ("S2", "TF3", "USD", 0.0333)]
    assert query(
        warehouse,
        "select position, is_in_catalog from analytics.fct_playlist_snapshots order by position",
    ) == [(1, True), (2, False)]


def test_every_model_and_column_is_documented_and_keyed(built):
    _, target, _ = built
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    models = {k: n for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert len(models) >= 20
    tests_by_model: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("attached_node"):
            meta = node.get("test_metadata") or {}
            tests_by_model.setdefault(node["attached_node"], set()).add(f"{meta.get('name')}:{node.get('column_name')}")
    missing = []
    for unique_id, node in models.items():
        if not node["description"].strip():
            missing.append(f"{node['name']}: model description")
        if "grain" not in node["description"].lower():
            missing.append(f"{node['name']}: grain not stated")
        actual_columns = {c.lower() for c in catalog["nodes"][unique_id]["columns"]}
        documented = {c.lower(): v["description"] for c, v in node["columns"].items()}
        missing += [f"{node['name']}.{c}" for c in actual_columns if not documented.get(c, "").strip()]
        missing += [f"{node['name']}.{c}: documented but absent" for c in documented.keys() - actual_columns]
        tests = tests_by_model.get(unique_id, set())
        keyed = {t.split(":")[1] for t in tests if t.startswith("unique:")} & {
            t.split(":")[1] for t in tests if t.startswith("not_null:")
        }
        if not keyed:
            missing.append(f"{node['name']}: no primary key tested unique + not_null")
    assert not missing, missing


def test_unbalanced_batch_fails_the_build(built, tmp_path):
    """The sums_to_zero test can fail: one extra debit in B1 must be reported."""
    warehouse, _, _ = built
    broken = tmp_path / "broken.duckdb"
    query(warehouse, "checkpoint")  # flush the WAL dbt's open connection holds, so the copy is complete
    shutil.copy(warehouse, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute(
            """insert into royalties.royalty_ledger values ('B1', 9, '2024-06-01', 'S1', 'PL1',
               'station_receivable', null, 1, 'EUR', 'TF2', '2024-06-02 02:00:00')"""
        )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "duckdb")
        mp.setenv("BACKBEAT_DUCKDB_PATH", str(broken))
        # staging is a view, so the test sees the new line without rebuilding
        result = run_dbt(["test", "--select", "stg_royalties__ledger_lines"], tmp_path / "target")
    assert not result.success
    failures = {r.node.name for r in result.result if str(r.status) == "fail"}
    assert any(name.startswith("sums_to_zero_stg_royalties__ledger_lines") for name in failures), failures


def test_parse_for_postgres_target(tmp_path):
    """Parse needs no connection: the postgres output of profiles.yml and the project must parse."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "postgres")
        result = run_dbt(["parse"], tmp_path / "target")
    assert result.success, result.exception
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "postgres"
    schemas = {n["schema"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert schemas == {"analytics"}
