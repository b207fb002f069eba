"""dbt's sources file is generated from the assets' table declarations; the committed copy must match."""

from assets.registry import DBT_SOURCE_TABLES
from backbeat.dbt_sources import SOURCES_FILE, sources_yaml


def test_committed_sources_match_the_table_declarations():
    expected = sources_yaml(DBT_SOURCE_TABLES)
    assert SOURCES_FILE.read_text(encoding="utf-8") == expected, "run `backbeat dbt sources` and commit the result"


def test_every_source_column_has_a_description():
    missing = [f"{t.qualified_name}.{c.name}" for t in DBT_SOURCE_TABLES for c in t.columns if not c.description]
    assert not missing
