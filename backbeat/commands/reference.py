"""`backbeat reference list|approve`: reference-data changes held for a person, and their approval.

A reference file (tariffs, stations, contracts, contacts, programme schedules, split sheets) that cannot be read
keeps the last good version in force; a valid file that would remove or re-route more than a fifth of the rows in
force is held. `list` reads `quarantine.reference_changes`; `approve` appends the change id to today's file in
`inbox/review/reference_changes/` (written atomically), and the next run of that asset applies it.
"""

from __future__ import annotations

from pathlib import Path

import click

from backbeat.settings import Settings


@click.group()
def reference() -> None:
    """Reference data: changes held for review and the last good versions kept in force."""


def _changes(settings: Settings, change_id: str | None = None):
    from backbeat.common.reference import REFERENCE_CHANGES
    from integrations.warehouse import Warehouse

    db = Warehouse(settings.warehouse_url)
    return db.read(REFERENCE_CHANGES, "change_id = ?" if change_id else "", [change_id] if change_id else [])


@reference.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also changes already applied.")
def list_command(show_all: bool) -> None:
    """Changes held for review (and kept versions), newest first, with what they would remove or re-route."""
    rows = _changes(Settings.from_env()).sort("recorded_at", descending=True)
    if not show_all:
        rows = rows.filter(rows["status"] != "applied")
    if rows.is_empty():
        click.echo("no reference changes wait for review")
        return
    for row in rows.iter_rows(named=True):
        click.echo(
            f"{row['change_id']}  [{row['status']}]  {row['asset']}  before {row['rows_before']}, "
            f"removed {row['rows_removed']}, re-routed {row['rows_rerouted']}, kept {row['rows_kept']}"
        )
        click.echo(f"    {row['reason']}")
        if row["examples"]:
            click.echo(f"    e.g. {row['examples']}")


@reference.command("approve")
@click.argument("change_id")
@click.option("--reviewer", required=True, help="Who approves (recorded with the approval).")
@click.option("--note", default="", help="Why, for the record.")
def approve_command(change_id: str, reviewer: str, note: str) -> None:
    """Approve held change CHANGE_ID: the next run of its asset removes or re-routes those rows."""
    from backbeat.common.reference import append_approval

    settings = Settings.from_env()
    rows = _changes(settings, change_id)
    if rows.is_empty() or rows["status"][0] != "held":
        raise click.ClickException(f"no held change {change_id!r} (see `backbeat reference list`)")
    path = append_approval(Path(settings.data_dir) / "inbox", change_id, reviewer, note)
    click.echo(f"approved {change_id} by {reviewer} -> {path}; the next run of {rows['asset'][0]} applies it")
