"""dbt's sources files are generated from the assets' table declarations; the committed copies must match."""

from backbeat.dbt_sources import STAGING_DIR, load_time_column, sources_by_schema, sources_path
from backbeat.registry import DBT_SOURCE_TABLES


def test_committed_sources_match_the_table_declarations():
    expected = sources_by_schema(DBT_SOURCE_TABLES)
    assert set(expected) == {"catalog", "airplay", "rights", "royalties", "curation", "outreach"}
    for schema, text in expected.items():
        path = sources_path(schema)
        assert path.exists() and path.read_text(encoding="utf-8") == text, (
            f"{path}: run `backbeat dbt sources` and commit the result"
        )


def test_no_stale_sources_file_is_left_behind():
    expected = {sources_path(schema) for schema in sources_by_schema(DBT_SOURCE_TABLES)}
    assert set(STAGING_DIR.rglob("_sources.yml")) == expected


def test_tables_with_a_load_time_have_freshness():
    fresh = {t.qualified_name: load_time_column(t) for t in DBT_SOURCE_TABLES if load_time_column(t)}
    assert fresh == {
        "catalog.artists": "ingested_at",
        "catalog.tracks": "ingested_at",
        "royalties.royalty_ledger": "posted_at",
        "royalties.ledger_batches": "posted_at",
        "curation.playlist_sync": "synced_at",
    }
    royalties = sources_by_schema(DBT_SOURCE_TABLES)["royalties"]
    assert "loaded_at_field: posted_at" in royalties and "error_after:" in royalties


def test_every_source_column_has_a_description():
    missing = [f"{t.qualified_name}.{c.name}" for t in DBT_SOURCE_TABLES for c in t.columns if not c.description]
    assert not missing
