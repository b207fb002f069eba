"""`backbeat db status` and `backbeat db upgrade`: the warehouse schema's revision, and bringing it to the code's.

After installing a new Backbeat, run `backbeat db upgrade` once (with the same BACKBEAT_WAREHOUSE_URL as the
pipeline) before starting the daemon: a run that finds an older schema stops and names this command.
"""

from __future__ import annotations

import click

from backbeat.settings import Settings

URL_HELP = "Warehouse URL (default: BACKBEAT_WAREHOUSE_URL, else the data directory's DuckDB file)."


def _url(url: str | None) -> str:
    return url or Settings.from_env().warehouse_url


@click.group()
def db() -> None:
    """The warehouse schema: its revision and the upgrade to the code's."""


@db.command("status")
@click.option("--url", default=None, help=URL_HELP)
def status(url: str | None) -> None:
    """Print the schema revision, what was applied when, and what `upgrade` would apply."""
    from backbeat.migrations import status_lines

    for line in status_lines(_url(url)):
        click.echo(line)


@db.command("upgrade")
@click.option("--url", default=None, help=URL_HELP)
def upgrade(url: str | None) -> None:
    """Apply every pending revision, one transaction each; safe to run again (then it does nothing)."""
    from backbeat.migrations import upgrade as run_upgrade

    try:
        run_upgrade(_url(url), echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
