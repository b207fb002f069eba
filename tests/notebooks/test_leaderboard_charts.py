"""The finance notebook charts the leaderboards a published finance export holds, and skips those it does not.

The export is the finance test's (`finance_tables`) plus two leaderboard marts, tracks and stations, with columns
as the marts document them: two whole weeks and a week still running. The notebook must chart the latest whole
week (2024-06-24), not the running one, with each entry's rank and rank change, as Vega-Lite charts (Altair).
"""

from __future__ import annotations

import json
from datetime import date

import nbformat
import polars as pl
from nbclient import NotebookClient

from backbeat.exports.finance import publish, write_export
from tests.notebooks.test_finance_notebook import (  # noqa: F401  (venv_kernel is a fixture)
    NOTEBOOK,
    documented_columns,
    finance_tables,
    venv_kernel,
)

W1, W2, W3 = date(2024, 6, 17), date(2024, 6, 24), date(2024, 7, 1)
REPORT = "import json\nprint(json.dumps(leaderboard_tops))"


def leaderboard(key: str, names: dict[str, dict[str, str]], rows: list[tuple]) -> pl.DataFrame:
    """Week rows of a leaderboard mart from (week, partial, entry id, plays, rank, rank change, growth, new entry);
    `names` holds each entry's descriptive columns (title, artist, station name)."""
    counts = ["play_count", "play_rank", "rank_change"]
    frame = pl.DataFrame(
        [row[:6] for row in rows],
        schema={"period_start": pl.Date, "is_partial_period": pl.Boolean, key: pl.String}
        | dict.fromkeys(counts, pl.Int64),
        orient="row",
    )
    described = [{key: entry, **columns} for entry, columns in names.items()]
    return frame.join(pl.DataFrame(described), on=key).with_columns(
        grain=pl.lit("week"),
        play_growth=pl.Series([row[6] for row in rows], dtype=pl.Float64).cast(pl.Decimal(12, 4)),  # as dbt types it
        is_new_entry=pl.Series([row[7] for row in rows]),
    )


TRACKS = {
    "T1": {"track_title": "Night Drive", "artist_name": "Nina Nova"},
    "T2": {"track_title": "Loop Song", "artist_name": "The Loops"},
    "T3": {"track_title": "B-Side", "artist_name": "The Loops"},
}
LEADERBOARDS = {
    "fct_leaderboard_tracks": leaderboard(
        "track_id",
        TRACKS,
        [
            (W1, False, "T1", 3, 1, None, None, True),
            (W1, False, "T2", 2, 2, None, None, True),
            (W2, False, "T2", 4, 1, 1, 1.0, False),
            (W2, False, "T1", 2, 2, -1, -0.3333, False),
            (W2, False, "T3", 1, 3, None, None, True),
            (W3, True, "T3", 3, 1, 2, 2.0, False),
        ],
    ),
    "fct_leaderboard_stations": leaderboard(
        "station_id",
        {"S1": {"station_name": "Radio Un"}, "S2": {"station_name": "Beat FM"}},
        [
            (W1, False, "S1", 5, 1, None, None, True),
            (W2, False, "S1", 6, 1, 0, 0.2, False),
            (W2, False, "S2", 1, 2, None, None, True),
        ],
    ),
}


def test_the_test_leaderboards_have_the_columns_the_marts_document():
    documented = documented_columns()
    for name, frame in LEADERBOARDS.items():
        assert set(frame.columns) <= documented[name], f"{name}: {set(frame.columns) - documented[name]}"


def test_notebook_charts_the_latest_whole_week_of_each_exported_leaderboard(tmp_path, venv_kernel, monkeypatch):  # noqa: F811
    data_dir = tmp_path / "data"
    exports = data_dir / "exports"
    write_export({**finance_tables(), **LEADERBOARDS}, exports / ".staging" / "test" / "finance")
    publish(exports / ".staging" / "test" / "finance", exports / "finance")
    monkeypatch.setenv("BACKBEAT_DATA_DIR", str(data_dir))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    NotebookClient(
        nb, kernel_name=venv_kernel, timeout=120, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()

    assert json.loads(nb.cells[-1].outputs[0]["text"]) == {  # artists and programmes are not in this export
        "tracks": [
            ["Loop Song - The Loops", 1, 1],
            ["Night Drive - Nina Nova", 2, -1],
            ["B-Side - The Loops", 3, None],
        ],
        "stations": [["Radio Un", 1, 0], ["Beat FM", 2, None]],
    }
    (chart,) = [o for o in nb.cells[-2].outputs if o.get("output_type") == "execute_result"]
    spec = chart["data"]["application/vnd.vegalite.v5+json"]  # drawn offline by JupyterLab
    titles = json.dumps(spec)
    assert spec["$schema"].endswith("v5.json")
    assert "Top tracks, week of 2024-06-24" in titles and "Top stations, week of 2024-06-24" in titles
    assert "Weekly rank of the top tracks" in titles
    assert "programmes" not in titles
