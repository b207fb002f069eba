"""No deprecation or Dagster beta/preview warning comes out of loading, snapshotting, scheduling and materializing.

The third-party warnings we cannot fix are silenced by message and module (`backbeat/warning_filters.py`); the
same text raised from our own modules must still show.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest

from backbeat.airplay.shards import shard_of
from backbeat.warning_filters import KNOWN_THIRD_PARTY_WARNINGS, ignore_known_third_party_warnings

REPO = Path(__file__).parents[2]

# What Dagster does with the code location: import it (as the webserver and the daemon do), snapshot it (the UI's
# view of jobs and schedules), evaluate a schedule of the multi-partitioned day × shard job, and materialize a
# day × shard partition. Every warning is recorded, each occurrence ("always"); filters installed by the
# `orchestration` package come first, as in production.
SCRIPT = r"""
import json
import warnings
from datetime import datetime

warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from orchestration.definitions import defs  # the entry point: installs the known-warning filters first

    from dagster import (BetaWarning, DagsterInstance, PreviewWarning, SupersessionWarning, build_schedule_context,
                         materialize)
    from dagster._core.remote_representation.external_data import RepositorySnap

    from assets.airplay.assets import airplay_stations, stream_chunks
    from assets.airplay.schedules import daily_chain_schedule

    # A library that turns every DeprecationWarning on for the whole process would override the filters.
    leaked = [f[0] for f in warnings.filters
              if f[0] in ("always", "default") and f[2] is DeprecationWarning and f[1] is None and f[3] is None]
    repository = defs.get_repository_def()
    snapshot = RepositorySnap.from_def(repository)
    with DagsterInstance.get() as instance:
        stations = materialize([airplay_stations], resources=defs.resources, instance=instance)
        context = build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 11, 3, 2),
                                         repository_def=repository, resources=defs.resources)
        requests = list(daily_chain_schedule.evaluate_tick(context).run_requests or [])
        chunks = materialize([stream_chunks], resources=defs.resources, instance=instance,
                             partition_key=str(requests[0].partition_key))

FLAGGED = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, BetaWarning, PreviewWarning,
           SupersessionWarning)
print(json.dumps({
    "leaked_filters": leaked,
    "schedules_in_snapshot": len(snapshot.schedules),
    "materialized": [stations.success, chunks.success],
    "request_tags": dict(requests[0].tags),
    "warnings": [[w.category.__name__, w.filename, w.lineno, str(w.message), issubclass(w.category, FLAGGED)]
                 for w in caught],
}))
"""


@pytest.fixture
def code_location_run(tmp_path) -> dict:
    """Run SCRIPT in a fresh interpreter (import-time warnings happen once per process) on a one-station inbox."""
    data_dir, home = tmp_path / "data", tmp_path / "dagster_home"
    (data_dir / "inbox" / "airplay").mkdir(parents=True)
    (data_dir / "inbox" / "airplay" / "stations.csv").write_text(
        "station_id,name,stream_url,active,timezone\nradio-north,Radio North,http://127.0.0.1:9/north,true,UTC\n"
    )
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "deploy" / "dagster.local.yaml").read_text())
    env = {**os.environ, "BACKBEAT_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(home)}
    env.pop("BACKBEAT_WAREHOUSE_URL", None)
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_scheduling_and_materializing_raise_no_deprecation_or_beta_warning(code_location_run):
    run = code_location_run
    # The paths that used to warn were really taken: schedules snapshotted, multi-partition tags set, runs done.
    assert run["schedules_in_snapshot"] >= 2
    assert run["request_tags"]["dagster/partition/date"] == "2026-11-02"
    assert run["request_tags"]["dagster/partition/shard"] == shard_of("radio-north")
    assert run["materialized"] == [True, True]
    assert run["leaked_filters"] == []
    flagged = [w[:4] for w in run["warnings"] if w[4]]  # deprecations, Dagster beta/preview/supersession
    assert flagged == [], "\n".join(f"{c} {f}:{n}: {m[:200]}" for c, f, n, m in flagged)


SAMPLES = {
    r"AssetExecutionContext\.op is deprecated": (
        "AssetExecutionContext.op is deprecated and will be removed in a future release.",
        "dagster_dbt.asset_utils",
    ),
    r"sqlglotrs is deprecated": ("sqlglotrs is deprecated and no longer maintained.", "sqlglotrs"),
    r"Property `ScheduleDefinition\.environment_vars` is deprecated": (
        "Property `ScheduleDefinition.environment_vars` is deprecated and will be removed in 2.0.",
        "dagster._core.remote_representation.external_data",
    ),
    r"Non-compliant tag keys like \['dagster/partition/": (
        "Non-compliant tag keys like ['dagster/partition/date', 'dagster/partition/station'] are deprecated.",
        "dagster._core.definitions.run_request",
    ),
}


@pytest.mark.parametrize("known", KNOWN_THIRD_PARTY_WARNINGS, ids=lambda k: k.message[:30])
def test_known_warnings_are_silenced_only_where_the_library_raises_them(known):
    text, library_module = SAMPLES[known.message]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ignore_known_third_party_warnings()
        for module in (library_module, "assets.airplay.assets", "assets.airplay.schedules", "backbeat.pipeline"):
            warnings.warn_explicit(text, known.category, f"{module.replace('.', '/')}.py", 1, module=module)
        warnings.warn_explicit("Some other thing is deprecated", known.category, "x.py", 1, module=library_module)
    assert [(w.filename, str(w.message)) for w in caught] == [
        ("assets/airplay/assets.py", text),
        ("assets/airplay/schedules.py", text),
        ("backbeat/pipeline.py", text),
        ("x.py", "Some other thing is deprecated"),
    ]


def test_pytest_silences_the_same_known_warnings():
    """pytest resets warning filters around each test, so pyproject.toml must list the same filters."""
    configured = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    expected = [f"ignore:{k.message}:{k.category.__name__}:{k.module}" for k in KNOWN_THIRD_PARTY_WARNINGS]
    assert [line for line in expected if line not in configured["filterwarnings"]] == []
