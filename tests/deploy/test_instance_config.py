"""`make` creates `$DAGSTER_HOME/dagster.yaml` once and never replaces an instance config that exists."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "deploy" / "dagster.local.yaml"


def make_instance_config(home: Path) -> subprocess.CompletedProcess[str]:
    """Run only the Makefile rule for the instance config (no venv, no dbt), with `home` as DAGSTER_HOME."""
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), f"DAGSTER_HOME={home}", str(home / "dagster.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_creates_the_local_config_once_and_never_overwrites_one(tmp_path):
    fresh = tmp_path / "fresh"
    done = make_instance_config(fresh)
    assert done.returncode == 0, done.stderr
    assert (fresh / "dagster.yaml").read_text() == LOCAL.read_text()

    production = tmp_path / "production"
    production.mkdir()
    config = production / "dagster.yaml"
    config.write_text("# production instance: PostgreSQL storage\nrun_storage: {}\n")
    old = LOCAL.stat().st_mtime - 86_400  # older than the shipped file, as after a `git pull`
    os.utime(config, (old, old))
    done = make_instance_config(production)
    assert done.returncode == 0, done.stderr
    assert config.read_text() == "# production instance: PostgreSQL storage\nrun_storage: {}\n"
