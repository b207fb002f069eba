"""`backbeat`: the command line."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import click

from backbeat.lazy_grammar import defer_rfc3987_syntax
from backbeat.progress import emit, json_option, track
from backbeat.settings import Settings
from backbeat.warning_filters import ignore_known_third_party_warnings

ignore_known_third_party_warnings()  # before the commands import Dagster, dagster-dbt and sqlglot
defer_rfc3987_syntax()  # before anything imports jsonschema (~1 CPU-s a command)


@click.group()
def main() -> None:
    """Backbeat: catalog, airplay, rights and royalties, curation, outreach and analytics for music."""


@main.group()
def demo() -> None:
    """Generate demo data and run the whole graph on it."""


@demo.command("generate")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Defaults to BACKBEAT_DATA_DIR or data/.")
@click.option("--seed", default=7, show_default=True)
@click.option("--minutes", "minutes_per_station", default=120, show_default=True, help="Minutes of radio per station.")
def demo_generate(data_dir: Path | None, seed: int, minutes_per_station: int) -> None:
    """Write a deterministic demo catalog, audio, radio chunks, rights, tariffs, policies and contacts."""
    from backbeat.demo import generate_demo

    target = data_dir or Settings.from_env().data_dir
    started = time.perf_counter()
    manifest = generate_demo(target, seed=seed, minutes_per_station=minutes_per_station)
    click.echo(
        f"demo data in {target}: {manifest.tracks} tracks ({manifest.tracks_with_audio} with audio), "
        f"{manifest.chunks} radio chunks, {manifest.ground_truth_plays} true plays "
        f"[{time.perf_counter() - started:.1f} s]"
    )


@demo.command("run")
@json_option
def demo_run(as_json: bool) -> None:
    """Materialize every asset for the demo data through Dagster, then print a summary."""
    settings = Settings.from_env()
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    from dagster import DagsterInstance

    from backbeat.demo.actions import DEMO_RUN_CONFIG, second_morning
    from backbeat.demo.outreach import outreach_services, outreach_step
    from backbeat.demo.services import demo_services
    from backbeat.pipeline import run_everything
    from integrations.warehouse import Warehouse
    from orchestration.definitions import build_definitions

    started = time.perf_counter()
    tool_output = settings.dagster_home / "logs" / "demo-tools.log"
    # Spotify and MusicBrainz are out of reach: the demo serves its albums from local fakes speaking their APIs,
    # and the resources are built from the environment those fakes set.
    with (
        demo_services(settings.data_dir),
        outreach_services(settings.data_dir, settings.warehouse_url) as outreach,
        DagsterInstance.get() as instance,
        track("dagster runs", None, unit="runs") as progress,
    ):
        defs = build_definitions(Settings.from_env())
        report = run_everything(
            defs,
            instance,
            curation_days=_demo_days(settings.data_dir),
            tool_output=tool_output,
            log=lambda line: progress.echo(line, err=as_json),  # stdout holds only the JSON with --json
            people=lambda: second_morning(settings.data_dir, Warehouse(settings.warehouse_url)),
            run_config=DEMO_RUN_CONFIG,
            progress=progress.update,
            outreach=outreach_step(outreach),
        )
        progress.summary.update(
            command="demo run",
            runs=len(report.runs),
            shard_days=len(report.shard_days),
            restated=len(report.restatements),
            tool_output=str(tool_output),
        )
    emit(
        progress.summary,
        f"{len(report.runs)} Dagster runs succeeded in {time.perf_counter() - started:.1f} s "
        f"({len(report.shard_days)} day × shard partitions, {len(report.restatements)} restated); "
        f"dbt output in {tool_output}",
        as_json,
    )
    if not as_json:
        _print_summary(settings)


@demo.command("summary")
def demo_summary_command() -> None:
    """Print plays found vs ground truth, ledger balance and export paths."""
    _print_summary(Settings.from_env())


def _print_summary(settings: Settings) -> None:
    from backbeat.summary import demo_summary
    from integrations.warehouse import Warehouse

    click.echo("--- Backbeat demo summary ---")
    for line in demo_summary(Warehouse(settings.warehouse_url), settings.data_dir):
        click.echo(line)


def _demo_days(data_dir: Path) -> list[date]:
    """Days present in the landing folder (the demo's partitions)."""
    from backbeat.airplay.landing import ChunkNameError, list_landing, parse_chunk_name

    days = set()
    for file in list_landing(data_dir / "landing"):
        try:
            days.add(parse_chunk_name(file.path).day)
        except ChunkNameError:
            continue
    return sorted(days)


@main.group()
def dbt() -> None:
    """Run dbt against the configured warehouse (DuckDB file or PostgreSQL)."""


def _dbt(*args: str, warehouse_url: str | None = None) -> None:
    import subprocess

    from backbeat.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, dbt_environment

    settings = Settings.from_env()
    command = [DBT_EXECUTABLE, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    env = {
        **os.environ,
        **dbt_environment(warehouse_url or settings.warehouse_url),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    code = subprocess.run(command, env=env).returncode
    if code:
        raise SystemExit(code)


@dbt.command("parse")
def dbt_parse() -> None:
    """Write dbt_project/target/manifest.json (the Dagster code location reads it)."""
    _dbt("parse", "--quiet")


@dbt.command("sources")
def dbt_sources() -> None:
    """Regenerate models/staging/<source>/_sources.yml from the tables the Dagster assets declare."""
    from backbeat.dbt_sources import write_sources

    for path in write_sources():
        click.echo(f"wrote {path}")


@dbt.command("docs-generate")
def dbt_docs_generate() -> None:
    """Build the dbt docs site (models, columns, lineage) from the warehouse's current tables.

    On DuckDB it reads a snapshot (`backbeat warehouse snapshot`), so it never holds the pipeline's file."""
    from backbeat.commands.warehouse import take_snapshot
    from backbeat.settings import duckdb_path

    settings = Settings.from_env()
    if settings.warehouse_kind == "duckdb" and duckdb_path(settings.warehouse_url).exists():
        _dbt("docs", "generate", warehouse_url=f"duckdb:///{take_snapshot(settings)}")
    else:
        _dbt("docs", "generate")


@dbt.command("docs-serve")
@click.option("--port", default=8080, show_default=True)
def dbt_docs_serve(port: int) -> None:
    """Serve the dbt docs on 127.0.0.1."""
    _dbt("docs", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-browser")


def _attach_commands() -> None:
    from backbeat.commands.capture import capture, capture_all
    from backbeat.commands.catalog import catalog
    from backbeat.commands.curation import curation
    from backbeat.commands.db import db
    from backbeat.commands.fingerprint import fingerprint, playlogs
    from backbeat.commands.outreach import outreach
    from backbeat.commands.partitions import partitions
    from backbeat.commands.reference import reference
    from backbeat.commands.rights import rights
    from backbeat.commands.royalties import royalties
    from backbeat.commands.warehouse import warehouse

    for command in (
        capture,
        capture_all,
        catalog,
        curation,
        db,
        fingerprint,
        outreach,
        partitions,
        playlogs,
        reference,
        rights,
        royalties,
        warehouse,
    ):
        main.add_command(command)


_attach_commands()

if __name__ == "__main__":
    main()
