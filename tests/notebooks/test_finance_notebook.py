"""`notebooks/finance_export.ipynb` runs against a published finance export, and `make notebook` opens it.

The notebook is executed by nbclient on a kernel of this venv's Python, declared in a temporary Jupyter data dir
so the user's home (kernels, config, IPython profile) is neither read nor written. The export is small and built
with the pipeline's own writer (`write_export` + `publish`), with columns as the dbt marts document them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import nbformat
import polars as pl
import pytest
import yaml
from nbclient import NotebookClient

from backbeat.exports.finance import publish, write_export

REPO = Path(__file__).parents[2]
NOTEBOOK = REPO / "notebooks" / "finance_export.ipynb"
MARTS_DIR = REPO / "dbt_project" / "models" / "marts"
KERNEL = "backbeat-test-venv"
REPORT = """
import json
print(json.dumps({
    "unbalanced_batches": unbalanced_batches,
    "earned_minor": sorted([party, currency, amount] for (party, currency), amount in earned_minor.items()),
    "top_airplay": top_airplay.fetchall()[0][2],
    "data_dir": str(data_dir),
}))
"""


def documented_columns() -> dict[str, set[str]]:
    """Column names of every mart, as the marts' yml files (one per model) document them."""
    columns = {}
    for path in MARTS_DIR.glob("*/*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            columns[model["name"]] = {c["name"] for c in model.get("columns", [])}
    return columns


def finance_tables() -> dict[str, pl.DataFrame]:
    """A small finance export: three EUR batches (one off by 5 minor units), two currencies of party earnings."""
    day, previous_day = date(2026, 11, 2), date(2026, 11, 1)
    return {
        "fct_ledger_lines": pl.DataFrame(
            {
                "batch_id": ["b1", "b1"],
                "line_no": [1, 2],
                "account": ["station_receivable", "party_payable"],
                "party_id": [None, "PTY001"],
                "amount_minor": [150, -150],
                "currency": ["EUR", "EUR"],
            }
        ),
        "fct_ledger_batches": pl.DataFrame(
            {
                "batch_id": ["b1", "b2", "b3"],
                "currency": ["EUR"] * 3,
                "batch_kind": ["posting", "reversal", "posting"],
                "debit_minor": [300, 120, 80],
                "credit_minor": [300, 120, 75],
                "balance_minor": [0, 0, 5],
            }
        ),
        "fct_party_royalties_daily": pl.DataFrame(
            {
                "party_id": ["PTY001", "PTY001", "PTY002", "SUSPENSE", "PTY001"],
                "party_name": [
                    "Northern Publishing",
                    "Northern Publishing",
                    "Elif Kaya",
                    "Suspense (no approved split)",
                    "Northern Publishing",
                ],
                "currency": ["EUR", "EUR", "EUR", "EUR", "GBP"],
                "posted_for": [previous_day, day, day, day, day],
                "amount_minor": [150, 75, 90, 60, 40],
                "play_count": [2, 1, 1, 1, 1],
            }
        ),
        "fct_plays": pl.DataFrame(
            {
                "play_id": ["p1", "p2"],
                "station_id": ["radio-north", "radio-south"],
                "started_at_utc": [datetime(2026, 11, 2, 6, 4), datetime(2026, 11, 2, 6, 9)],
                "track_title": ["Velvet Signal", "Quiet Lantern"],
                "artist_name": ["Tess Hendriks", "Jasper Vos"],
                "royalty_amount_minor": [85, None],
                "royalty_currency": ["EUR", None],
            }
        ),
        "fct_daily_airplay": pl.DataFrame(
            {
                "play_date": [day, day],
                "station_id": ["radio-north", "radio-south"],
                "track_title": ["Velvet Signal", "Quiet Lantern"],
                "artist_name": ["Tess Hendriks", "Jasper Vos"],
                "play_count": [1, 2],
                "airplay_seconds": [180, 246],
            }
        ),
    }


@pytest.fixture
def finance_export(tmp_path) -> Path:
    """A data dir holding only a published finance export, laid out as `exports/finance_export` publishes it."""
    data_dir = tmp_path / "data"
    exports = data_dir / "exports"
    write_export(finance_tables(), exports / ".staging" / "test" / "finance")
    publish(exports / ".staging" / "test" / "finance", exports / "finance")
    return data_dir


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch) -> str:
    """A kernel spec for this venv's Python in a temporary Jupyter data dir (searched before any other)."""
    jupyter = tmp_path / "jupyter"
    spec = jupyter / "data" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Backbeat venv (tests)",
                "language": "python",
            }
        )
    )
    for name, folder in (
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ):
        (jupyter / folder).mkdir(exist_ok=True)
        monkeypatch.setenv(name, str(jupyter / folder))
    return KERNEL


def test_the_tables_the_test_exports_have_the_columns_the_marts_document():
    documented = documented_columns()
    for name, frame in finance_tables().items():
        assert set(frame.columns) <= documented[name], f"{name}: {set(frame.columns) - documented[name]}"


def test_notebook_reports_balances_and_earnings_without_locking_any_duckdb_file(
    finance_export, venv_kernel, monkeypatch
):
    monkeypatch.setenv("BACKBEAT_DATA_DIR", str(finance_export))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = NotebookClient(
        nb, kernel_name=venv_kernel, timeout=120, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        # The kernel is still running: a writer can open the export's DuckDB file, so no reader lock is held.
        duckdb.connect(str(finance_export / "exports" / "finance" / "finance.duckdb")).close()

    report = json.loads(nb.cells[-1].outputs[0]["text"])
    assert report["data_dir"] == str(finance_export)
    assert report["unbalanced_batches"] == 1
    assert report["earned_minor"] == [
        ["PTY001", "EUR", 225],
        ["PTY001", "GBP", 40],
        ["PTY002", "EUR", 90],
        ["SUSPENSE", "EUR", 60],
    ]
    assert report["top_airplay"] == "Quiet Lantern"
    batches_output = nb.cells[3].outputs[0]["text"]
    assert batches_output.strip() == "1 of 3 batches do not balance"


def test_notebook_tells_what_to_run_when_there_is_no_export(tmp_path, venv_kernel, monkeypatch):
    monkeypatch.setenv("BACKBEAT_DATA_DIR", str(tmp_path / "empty"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, kernel_name=venv_kernel, timeout=120, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    with pytest.raises(Exception, match="run `make demo` first"):
        client.execute()


def test_make_notebook_opens_the_notebook_on_loopback_with_the_data_dir():
    dry_run = subprocess.run(
        ["make", "-n", "notebook", "BACKBEAT_DATA_DIR=/srv/backbeat-data"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    command = next(line for line in dry_run.replace("\\\n", " ").splitlines() if "jupyter" in line)
    assert "lab" in command.split() and "--ip=127.0.0.1" in command
    assert "notebooks/finance_export.ipynb" in command
    assert "BACKBEAT_DATA_DIR=/srv/backbeat-data" in command
