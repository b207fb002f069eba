"""`backbeat warehouse snapshot`: a copy of the DuckDB warehouse for readers, so they never block the pipeline.

Open the copy in a notebook, DuckDB's CLI or a BI tool for as long as you like; take a new one to see newer
data. With PostgreSQL as the warehouse there is nothing to copy: readers connect to the database.
"""

from __future__ import annotations

from pathlib import Path

import click

from backbeat.settings import Settings, duckdb_path


def snapshot_folder(settings: Settings) -> Path:
    return settings.data_dir / "snapshots"


def take_snapshot(settings: Settings, folder: Path | None = None) -> Path:
    """Snapshot the DuckDB warehouse into `folder` (default `data/snapshots/`); PostgreSQL has nothing to copy."""
    from integrations.warehouse.snapshot import snapshot_duckdb

    if settings.warehouse_kind != "duckdb":
        raise click.ClickException("the warehouse is PostgreSQL: readers connect to it directly, nothing to copy")
    return snapshot_duckdb(duckdb_path(settings.warehouse_url), folder or snapshot_folder(settings))


@click.group()
def warehouse() -> None:
    """The warehouse: copies for readers."""


@warehouse.command("snapshot")
@click.option(
    "--to",
    "folder",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for the copy (default: data/snapshots/).",
)
def snapshot_command(folder: Path | None) -> None:
    """Copy the DuckDB warehouse (a second or so), so a reader never holds the pipeline's file."""
    path = take_snapshot(Settings.from_env(), folder)
    click.echo(f"snapshot: {path} (open it read-only: duckdb.connect('{path}', read_only=True))")
