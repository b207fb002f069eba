"""The whole lineage graph, materialized through Dagster on the embedded default (DuckDB)."""

import os
import subprocess
import sys
from pathlib import Path


def test_whole_graph_materializes_end_to_end_and_a_rerun_changes_nothing(materialized_backbeat):
    bb, report = materialized_backbeat
    assert report.success
    assert sorted(report.shard_days) == ["2026-11-02|s21", "2026-11-02|s22"]  # radio-north's shard, radio-south's
    bb.assert_demo_outcome()

    before = bb.facts()
    assert bb.run_everything().success
    assert bb.facts() == before


def test_one_day_materializes_from_the_command_line(materialized_backbeat):
    bb, report = materialized_backbeat
    assert report.success
    before = bb.facts()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "asset",
            "materialize",
            "-m",
            "orchestration.definitions",
            "--select",
            "airplay/stream_chunks,airplay/capture_gaps,airplay/station_day_status,airplay/detections,airplay/playlogs,"
            "royalties/royalty_ledger,royalties/ledger_batches",
            "--partition",
            "2026-11-02|s21",  # radio-north's day × shard
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RUN_SUCCESS" in result.stderr + result.stdout
    assert bb.facts()["plays"] == before["plays"]
    assert bb.facts()["ledger"] == before["ledger"]
