"""The cluster files agree with the code: `BACKBEAT_EXECUTOR` picks the executor they name, and the Dockerfile,
the compose file, the celery worker config and the Helm values set the variables, module, paths and images the
code reads. No Docker nor Kubernetes here: the files are parsed, not run (deploy/EXECUTORS.md says what is
tested how)."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
import yaml
from dagster_celery.cli import get_validated_config

from backbeat.settings import REPO_ROOT, Settings
from orchestration.definitions import (
    CELERY_BACKEND_ENV,
    CELERY_BROKER_ENV,
    CELERY_CONFIG_SOURCE,
    EXECUTOR_ENV,
    EXECUTORS,
    select_executor,
)

DEPLOY = REPO_ROOT / "deploy"
PG_URL = "postgresql://backbeat:secret@db.internal:5432/backbeat"
DUCKDB = Settings.from_env({"BACKBEAT_DATA_DIR": "/tmp/backbeat-data"})
POSTGRES = Settings.from_env({"BACKBEAT_WAREHOUSE_URL": PG_URL})
CELERY_ENV = {CELERY_BROKER_ENV: "sqla+postgresql://b:p@h/celery", CELERY_BACKEND_ENV: "db+postgresql://b:p@h/celery"}
SETTINGS_ENV = {"DAGSTER_HOME", "BACKBEAT_DATA_DIR", "BACKBEAT_WAREHOUSE_URL"}  # what Settings.from_env reads
# The keys chart 1.13's values.schema.json allows under runLauncher.config.k8sRunLauncher (additionalProperties:
# false): a key outside them fails `helm upgrade`.
K8S_RUN_LAUNCHER_KEYS = {
    "envConfigMaps",
    "envSecrets",
    "envVars",
    "failPodOnRunFailure",
    "image",
    "imagePullPolicy",
    "jobNamespace",
    "kubeconfigFile",
    "labels",
    "loadInclusterConfig",
    "resources",
    "runK8sConfig",
    "schedulerName",
    "securityContext",
    "volumeMounts",
    "volumes",
}


def _yaml(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


def _env_refs(config: Any) -> set[str]:
    """The variables a Dagster config file reads (`{env: NAME}`), anywhere in it."""
    if isinstance(config, dict):
        if set(config) == {"env"}:
            return {config["env"]}
        return set().union(*(_env_refs(value) for value in config.values()))
    if isinstance(config, list):
        return set().union(*(_env_refs(value) for value in config))
    return set()


def _dockerfile_env() -> dict[str, str]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            pairs.update(re.findall(r"(\w+)=(\S+)", line))
    return pairs


def _module_name() -> str:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]


# ---- executor selection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "environ", "expected"),
    [
        (DUCKDB, {}, "in_process"),
        (POSTGRES, {}, "multiprocess"),
        (POSTGRES, {EXECUTOR_ENV: "in_process"}, "in_process"),
        (POSTGRES, {EXECUTOR_ENV: "celery", **CELERY_ENV}, "celery"),
        (POSTGRES, {EXECUTOR_ENV: "k8s"}, "k8s"),
    ],
)
def test_backbeat_executor_picks_the_executor(settings, environ, expected):
    assert select_executor(settings, environ).name == expected


@pytest.mark.parametrize(
    ("settings", "environ", "message"),
    [
        (DUCKDB, {EXECUTOR_ENV: "celery", **CELERY_ENV}, "needs a PostgreSQL warehouse"),
        (DUCKDB, {EXECUTOR_ENV: "multiprocess"}, "needs a PostgreSQL warehouse"),
        (POSTGRES, {EXECUTOR_ENV: "celery", CELERY_BROKER_ENV: "redis://r"}, f"needs {CELERY_BACKEND_ENV}"),
        (POSTGRES, {EXECUTOR_ENV: "dask"}, "expected one of in_process, multiprocess, celery, k8s"),
    ],
)
def test_backbeat_executor_refuses_what_cannot_work(settings, environ, message):
    with pytest.raises(ValueError, match=message):
        select_executor(settings, environ)


def test_celery_workers_use_the_executors_broker_backend_and_settings(monkeypatch):
    config = _yaml("celery.yaml")["execution"]["config"]
    assert config == {
        "broker": {"env": CELERY_BROKER_ENV},
        "backend": {"env": CELERY_BACKEND_ENV},
        "config_source": CELERY_CONFIG_SOURCE,
    }
    for key, value in CELERY_ENV.items():
        monkeypatch.setenv(key, value)
    validated = get_validated_config(str(DEPLOY / "celery.yaml"))  # what `dagster-celery worker start -y` reads
    assert validated["broker"] == CELERY_ENV[CELERY_BROKER_ENV]


# ---- image and compose --------------------------------------------------------------------------------


def test_image_holds_every_package_and_serves_the_code_location():
    text = (DEPLOY / "Dockerfile").read_text()
    packages = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    for folder in [pattern.rstrip("*") for pattern in packages["include"]] + ["dbt_project", "deploy"]:
        assert f"COPY {folder} ./{folder}" in text, folder
    assert '--module-name", "orchestration.definitions"' in text and _module_name() == "orchestration.definitions"
    env = _dockerfile_env()
    assert env["BACKBEAT_EXECUTOR"] in EXECUTORS
    assert {"DAGSTER_HOME", "BACKBEAT_DATA_DIR"} <= set(env)


def test_compose_sets_what_every_backbeat_process_reads():
    compose = _yaml("docker-compose.yml")
    services = compose["services"]
    assert set(services) == {"postgres", "codeserver", "webserver", "daemon", "worker", "broker-tables"}
    image_env = _dockerfile_env()
    instance = _yaml("dagster.compose.yaml")
    needed = SETTINGS_ENV | _env_refs(instance) | _env_refs(_yaml("celery.yaml")) | {EXECUTOR_ENV}
    for name, service in services.items():
        if name == "postgres":
            continue
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["image"] == services["codeserver"]["image"]
        env = {**image_env, **service["environment"]}
        assert needed <= set(env), (name, needed - set(env))
        assert env[EXECUTOR_ENV] == "celery"
        mounts = dict(volume.split(":")[:2][::-1] for volume in service["volumes"])
        assert mounts[env["BACKBEAT_DATA_DIR"]] == "data"  # one shared data volume
        assert mounts[f"{env['DAGSTER_HOME']}/dagster.yaml"] == "./dagster.compose.yaml"
        for source in mounts.values():
            assert source == "data" or (DEPLOY / source).is_file(), source
    assert services["codeserver"]["command"][-3:] == ["orchestration.definitions", "--working-directory", "/app"]
    assert "/app/deploy/celery.yaml" in services["worker"]["command"]
    assert services["worker"]["depends_on"]["broker-tables"]["condition"] == "service_completed_successfully"
    grpc = _yaml("workspace.compose.yaml")["load_from"][0]["grpc_server"]
    assert grpc["host"] == "codeserver" and str(grpc["port"]) in services["codeserver"]["command"]
    for process in ("webserver", "daemon"):
        assert "/app/workspace.compose.yaml" in services[process]["command"]


def test_compose_databases_exist_on_the_postgres_service():
    services = _yaml("docker-compose.yml")["services"]
    env = services["codeserver"]["environment"]
    created = set(re.findall(r"CREATE DATABASE (\w+)", (DEPLOY / "postgres-init.sql").read_text()))
    created.add(services["postgres"]["environment"]["POSTGRES_DB"])
    wanted = {env["DAGSTER_PG_DB"]} | {
        url.rsplit("/", 1)[1] for key, url in env.items() if key in SETTINGS_ENV | set(CELERY_ENV) and "://" in url
    }
    assert wanted == created == {"dagster", "backbeat", "celery"}


# ---- Helm ---------------------------------------------------------------------------------------------


def test_helm_values_use_the_k8s_run_launcher_and_executor_on_the_code_location():
    values = _yaml("helm/values.yaml")
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    config = launcher["config"]["k8sRunLauncher"]
    assert set(config) <= K8S_RUN_LAUNCHER_KEYS
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == _module_name()
    deployment_env = {item["name"]: item["value"] for item in deployment["env"]}
    run_env = dict(item.split("=", 1) for item in config["envVars"])
    assert deployment_env == run_env  # code server, run pods and (inherited) step pods alike
    assert run_env[EXECUTOR_ENV] == "k8s"
    assert select_executor(POSTGRES, run_env).name == "k8s"
    for holder in (deployment, config):
        assert {mount["mountPath"] for mount in holder["volumeMounts"]} == {run_env["BACKBEAT_DATA_DIR"]}
        assert holder["envSecrets"] == [{"name": "backbeat-env"}]  # BACKBEAT_WAREHOUSE_URL, BACKBEAT_SECRET_KEY
    assert values["postgresql"]["enabled"] is False and values["generatePostgresqlPasswordSecret"] is False
    assert values["telemetry"]["enabled"] is False


def test_deploy_files_hold_no_secret():
    names = ("celery.yaml", "dagster.compose.yaml", "docker-compose.yml", "helm/values.yaml", "Dockerfile")
    for path in [DEPLOY / name for name in names]:
        text = path.read_text()
        assert not re.search(r"://[^:/\s]+:(?!\$\{|\.\.\.@)[^@\s]+@", text), path  # a password in a URL
        assert not re.search(r"(?i)password:[ \t]*['\"]?[\w]", text.replace(": ${POSTGRES_PASSWORD", ":")), path


def test_compose_instance_config_is_valid_for_dagster(tmp_path, monkeypatch):
    from dagster._core.instance.config import dagster_instance_config

    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster.compose.yaml").read_text())
    for name in _env_refs(_yaml("dagster.compose.yaml")):
        monkeypatch.setenv(name, "5432" if name.endswith("PORT") else "x")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["run_launcher"] == {"module": "dagster", "class": "DefaultRunLauncher"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
