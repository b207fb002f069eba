"""`backbeat rights review list|approve|reject`: split sets waiting for a person, and their decisions.

`list` reads the warehouse (rights.review_tasks and rights.validation_issues). `approve` and `reject` append a
row to today's file in `inbox/rights/review_decisions/` (written atomically); the rights sensor sees the new
file and re-runs the rights assets, which apply it. `rights` is a module-level click group that
`backbeat.cli` attaches to the `backbeat` group.
"""

from __future__ import annotations

from pathlib import Path

import click

from backbeat.settings import Settings

TASK_COLUMNS = (
    "task_id",
    "status",
    "subject_type",
    "subject_id",
    "source_file",
    "decided_by",
    "rule_code",
    "severity",
    "message",
    "row_number",
)
OPEN_STATUSES = ("open",)
ALL_STATUSES = ("open", "blocked", "approved", "rejected")


@click.group()
def rights() -> None:
    """Rights: split sets, reviews and approved splits."""


@rights.group()
def review() -> None:
    """Review split sets the rules could not approve on their own."""


def _warehouse(settings: Settings):
    from integrations.warehouse import Warehouse

    return Warehouse(settings.warehouse_url)


def _tasks(settings: Settings, statuses: tuple[str, ...], task_id: str | None = None):
    """Review tasks with their findings, or None when the rights assets have not run yet."""
    import polars as pl

    db = _warehouse(settings)
    exists = db.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'rights' "
        "AND table_name IN ('review_tasks', 'validation_issues')"
    )
    if exists != 2:
        return None
    marks = ", ".join("?" for _ in statuses)
    where = f"t.status IN ({marks})" + (" AND t.task_id = ?" if task_id else "")
    return db.query(
        "SELECT t.task_id, t.status, t.subject_type, t.subject_id, t.source_file, t.decided_by, "
        "i.rule_code, i.severity, i.message, i.row_number "
        "FROM rights.review_tasks t LEFT JOIN rights.validation_issues i ON i.split_set_id = t.task_id "
        f"WHERE {where} ORDER BY t.task_id, i.severity, i.rule_code, i.row_number",
        [*statuses, *([task_id] if task_id else [])],
        schema={name: pl.Int64 if name == "row_number" else pl.Utf8 for name in TASK_COLUMNS},
    )


@review.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also blocked, approved and rejected split sets.")
def list_command(show_all: bool) -> None:
    """Split sets waiting for a reviewer, and why (the rules that fired)."""
    rows = _tasks(Settings.from_env(), ALL_STATUSES if show_all else OPEN_STATUSES)
    if rows is None:
        raise click.ClickException("no review tasks yet: materialize the rights assets first")
    if rows.is_empty():
        click.echo("no split sets wait for review")
        return
    current = None
    for task_id, status, kind, subject, source, decided_by, code, severity, message, row in rows.iter_rows():
        if task_id != current:
            current = task_id
            by = f" by {decided_by}" if decided_by else ""
            click.echo(f"{task_id}  [{status}{by}]  {kind} {subject}  ({source})")
        if code:
            where = f" row {row}" if row is not None else ""
            click.echo(f"    {code} {severity}{where}: {message}")


def _decide(task_id: str, decision: str, reviewer: str, note: str | None) -> None:
    from backbeat.rights.review import append_decision

    settings = Settings.from_env()
    rows = _tasks(settings, ALL_STATUSES, task_id)
    if rows is None or rows.is_empty():
        raise click.ClickException(f"no review task {task_id!r} (see `backbeat rights review list`)")
    status = rows["status"][0]
    if status == "blocked":
        codes = ", ".join(sorted({c for c in rows["rule_code"].to_list() if c}))
        raise click.ClickException(f"{task_id} is blocked by {codes}: errors need a corrected sheet, not a review")
    folder = Path(settings.data_dir) / "inbox" / "rights" / "review_decisions"
    path = append_decision(folder, task_id, decision, reviewer, note)
    previously = f" (was {status})" if status != "open" else ""
    click.echo(f"{decision} {task_id}{previously} by {reviewer} -> {path}; the rights sensor will apply it")


@review.command("approve")
@click.argument("task_id")
@click.option("--reviewer", required=True, help="Who decides (recorded with the decision).")
@click.option("--note", default=None, help="Why, for the record.")
def approve_command(task_id: str, reviewer: str, note: str | None) -> None:
    """Approve split set TASK_ID: its shares move money once the rights assets have run."""
    _decide(task_id, "approve", reviewer, note)


@review.command("reject")
@click.argument("task_id")
@click.option("--reviewer", required=True, help="Who decides (recorded with the decision).")
@click.option("--note", default=None, help="Why, for the record.")
def reject_command(task_id: str, reviewer: str, note: str | None) -> None:
    """Reject split set TASK_ID: its plays stay in suspense until a corrected sheet is approved."""
    _decide(task_id, "reject", reviewer, note)
