"""Dagster wiring; `definitions.py` is the code location's single entry point."""

from backbeat.warning_filters import ignore_known_third_party_warnings

# Dagster imports this package before `definitions`, so the filters are in place before dagster-dbt and sqlglot load.
ignore_known_third_party_warnings()
