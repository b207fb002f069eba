"""`backbeat curation account ...` (tokens encrypted from an env var, never printed) and the curation schedules."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from dagster import Definitions, build_schedule_context, instance_for_test

from assets.common.paths import DataDirResource
from assets.curation.jobs import CURATION_JOBS
from assets.curation.schedules import CURATION_SCHEDULES
from backbeat.commands.curation import curation
from integrations.resilience import TokenStore
from integrations.spotify.accounts import SpotifyAccountsResource
from integrations.spotify.playlists import token_name
from integrations.warehouse import WarehouseResource

SECRET = "AQDsecret-refresh-token-value"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    inbox = tmp_path / "data" / "inbox" / "curation"
    inbox.mkdir(parents=True)
    (inbox / "accounts.json").write_text(
        json.dumps(
            {
                "accounts": [
                    {"account_id": "main", "spotify_user_id": "user-main", "max_playlists": 5, "active": True},
                    {"account_id": "dev", "spotify_user_id": "user-dev", "max_playlists": 1, "development_mode": True},
                ]
            }
        )
    )
    return tmp_path / "data"


def test_account_connect_encrypts_the_token_from_an_env_var(data_dir: Path, monkeypatch) -> None:
    key = TokenStore.generate_key()
    monkeypatch.setenv("BACKBEAT_SECRET_KEY", key)
    monkeypatch.delenv("BACKBEAT_TOKEN_DIR", raising=False)
    monkeypatch.setenv("MAIN_REFRESH", SECRET)
    runner = CliRunner()
    base = ["--data-dir", str(data_dir), "account"]

    result = runner.invoke(curation, [*base, "connect", "main", "--refresh-token-env", "MAIN_REFRESH"])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    store = TokenStore(data_dir / "secrets" / "spotify", key)
    path = store.path(token_name("main"))
    assert path.stat().st_mode & 0o777 == 0o600 and SECRET.encode() not in path.read_bytes()
    assert store.load(token_name("main"))["refresh_token"] == SECRET

    listing = runner.invoke(curation, [*base, "list"])
    assert listing.exit_code == 0 and SECRET not in listing.output
    assert "main: Spotify user user-main, up to 5 playlists, connected" in listing.output
    assert "dev: Spotify user user-dev, up to 1 playlists, not connected (development-mode app)" in listing.output

    unknown = runner.invoke(curation, [*base, "connect", "nobody", "--refresh-token-env", "MAIN_REFRESH"])
    assert unknown.exit_code != 0 and "no account 'nobody' in accounts.json (known: main, dev)" in unknown.output
    empty = runner.invoke(curation, [*base, "connect", "dev", "--refresh-token-env", "UNSET_VARIABLE"])
    assert empty.exit_code != 0 and "$UNSET_VARIABLE is not set or empty" in empty.output
    monkeypatch.delenv("BACKBEAT_SECRET_KEY")
    keyless = runner.invoke(curation, [*base, "connect", "main", "--refresh-token-env", "MAIN_REFRESH"])
    assert keyless.exit_code != 0 and "$BACKBEAT_SECRET_KEY is not set" in keyless.output

    monkeypatch.setenv("BACKBEAT_SECRET_KEY", key)
    gone = runner.invoke(curation, [*base, "disconnect", "main"])
    assert gone.exit_code == 0 and not path.exists()


def test_schedules_follow_the_documented_utc_cadence(tmp_path: Path) -> None:
    from assets.curation import defs as curation_defs

    resources = {
        "data_dir": DataDirResource(data_dir=str(tmp_path / "data")),
        "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'w.duckdb'}"),
        "spotify_accounts": SpotifyAccountsResource(),
    }
    defs = Definitions.merge(curation_defs, Definitions(resources=resources))  # curation's own jobs and schedules
    crons = {s.name: (s.cron_schedule, s.execution_timezone) for s in CURATION_SCHEDULES}
    assert crons == {
        "curation_token_refresh_schedule": ("*/30 * * * *", "UTC"),
        "curation_plan_schedule": ("0 2 * * *", "UTC"),
        "curation_ingest_schedule": ("0 3 * * *", "UTC"),
        "curation_enrich_schedule": ("30 3 * * *", "UTC"),
        "curation_snapshots_schedule": ("0 4 * * *", "UTC"),
        "curation_sync_schedule": ("10 4 * * *", "UTC"),
    }
    repository = defs.get_repository_def()
    with instance_for_test() as instance:

        def tick(name: str, hour: int, minute: int):
            schedule = repository.get_schedule_def(name)
            when = datetime(2026, 11, 21, hour, minute, tzinfo=UTC)
            return schedule.evaluate_tick(
                build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=repository)
            )

        plan = tick("curation_plan_schedule", 2, 0).run_requests[0]
        assert (plan.partition_key, plan.run_key) == ("2026-11-21", "curation-plan|2026-11-21")  # today, not yesterday
        assert tick("curation_snapshots_schedule", 4, 0).run_requests[0].partition_key == "2026-11-21"
        waiting = tick("curation_sync_schedule", 4, 10)
        assert not waiting.run_requests and "no materialization for 2026-11-21" in waiting.skip_message
    for job in CURATION_JOBS:
        defs.resolve_job_def(job.name)  # every job resolves against the curation assets and resources
    assert {j.name for j in CURATION_JOBS} >= {
        "curation_plan_job",
        "curation_snapshots_job",
        "curation_sync_job",
        "curation_token_refresh_job",
        "curation_day_job",
    }
