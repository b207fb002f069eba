"""Dagster wiring; `definitions.py` is the code location's single entry point."""

from backbeat.lazy_grammar import defer_rfc3987_syntax
from backbeat.warning_filters import ignore_known_third_party_warnings

# Dagster imports this package before `definitions`, so the filters are in place before dagster-dbt and sqlglot load,
# and jsonschema (imported by dagster-dbt) finds the stand-in for its optional IRI grammar: ~1 CPU-s less in every
# process that loads the code location (each step process of the multiprocess, celery and k8s executors).
ignore_known_third_party_warnings()
defer_rfc3987_syntax()
