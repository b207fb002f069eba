"""The single entry point: every domain's definitions (assets, checks, jobs, schedules, sensors) merged with the
resources, the executor and the policy applied to all of them."""

import os
from collections.abc import Mapping

from dagster import Definitions, ExecutorDefinition, in_process_executor, multiprocess_executor

import assets.airplay
import assets.alerts
import assets.analytics
import assets.catalog
import assets.curation
import assets.exports
import assets.outreach
import assets.reference
import assets.rights
import assets.royalties
from assets.analytics.freshness import with_freshness_policies
from backbeat.settings import Settings
from integrations.resilience import calllog
from orchestration.column_schema import with_column_schemas
from orchestration.resources import build_resources

DOMAINS = (
    assets.catalog,
    assets.airplay,
    assets.rights,
    assets.royalties,
    assets.curation,
    assets.outreach,
    assets.exports,
    assets.analytics,
    assets.reference,
    assets.alerts,
)
"""Every package under assets/ that exports a `defs`; each holds its own jobs, schedules and sensors."""


EXECUTOR_ENV = "BACKBEAT_EXECUTOR"
"""in_process, multiprocess, celery or k8s; unset: in_process on DuckDB, multiprocess on PostgreSQL."""
CELERY_BROKER_ENV = "BACKBEAT_CELERY_BROKER"
"""The celery broker, e.g. `sqla+postgresql://...` (kombu's SQLAlchemy transport) or `redis://...`."""
CELERY_BACKEND_ENV = "BACKBEAT_CELERY_BACKEND"
"""Where celery workers store step results, e.g. `db+postgresql://...`."""
EXECUTORS = ("in_process", "multiprocess", "celery", "k8s")
CELERY_CONFIG_SOURCE = {
    # a worker takes one step at a time: a queued step goes to whichever worker is free, not to one that
    # reserved it while busy (kombu's SQLAlchemy transport polls every second and takes no polling option)
    "worker_prefetch_multiplier": 1,
}
"""Celery settings shared by the run (the executor) and the workers (`deploy/celery.yaml` holds the same)."""


def select_executor(settings: Settings, environ: Mapping[str, str] | None = None) -> ExecutorDefinition:
    """The executor `BACKBEAT_EXECUTOR` names. The distributed ones (celery: steps on celery workers; k8s: each
    step in its own Kubernetes pod) run steps in processes that load this code location themselves, so they need
    the PostgreSQL warehouse (DuckDB allows one writer process). Broker and backend stay env references: each
    process reads its own value when the run starts."""
    env = os.environ if environ is None else environ
    name = env.get(EXECUTOR_ENV) or ("in_process" if settings.warehouse_kind == "duckdb" else "multiprocess")
    if name not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV}={name!r}: expected one of {', '.join(EXECUTORS)}")
    if name == "in_process":
        return in_process_executor
    if settings.warehouse_kind == "duckdb":
        raise ValueError(f"{EXECUTOR_ENV}={name} needs a PostgreSQL warehouse: DuckDB allows one writer process")
    if name == "multiprocess":
        return multiprocess_executor
    if name == "k8s":
        from dagster_k8s import k8s_job_executor  # imported only where the executor is chosen

        return k8s_job_executor
    if missing := [key for key in (CELERY_BROKER_ENV, CELERY_BACKEND_ENV) if not env.get(key)]:
        raise ValueError(f"{EXECUTOR_ENV}=celery needs {' and '.join(missing)}")
    from dagster_celery import celery_executor

    return celery_executor.configured(
        {
            "broker": {"env": CELERY_BROKER_ENV},
            "backend": {"env": CELERY_BACKEND_ENV},
            "config_source": CELERY_CONFIG_SOURCE,
        }
    )


def build_definitions(settings: Settings, environ: Mapping[str, str] | None = None) -> Definitions:
    """All of Backbeat for one environment, on the executor `select_executor` picks from `environ` (default: the
    process environment). Every asset owning a declared warehouse table publishes its columns."""
    executor = select_executor(settings, environ)
    if calllog.installed() is None:  # outside API calls of this process are counted for the failure-rate alert
        calllog.install(calllog.CallLog(settings.warehouse_url))
    merged = Definitions.merge(
        *(domain.defs for domain in DOMAINS),
        Definitions(resources=build_resources(settings), executor=executor),
    )
    return with_freshness_policies(with_column_schemas(merged))


defs = build_definitions(Settings.from_env())
