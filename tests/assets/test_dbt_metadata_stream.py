"""`with_metadata`: dbt's events come out in dbt's order, each with its fetched metadata, and waiting for dbt or
for a fetch costs no CPU (dagster-dbt's own fetch polls its futures without sleeping)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from assets.analytics import dbt_metadata
from assets.analytics.dbt_metadata import with_metadata


class DuckDBAdapter:
    """Typed like dbt-duckdb's adapter: `with_metadata` waits for dbt to exit before fetching."""

    @classmethod
    def type(cls) -> str:
        return "duckdb"


class PostgresAdapter:
    """Typed like dbt-postgres's adapter: fetches start while dbt runs."""

    @classmethod
    def type(cls) -> str:
        return "postgres"


@dataclass
class FakeInvocation:
    adapter: Any = None
    postprocessing_threadpool_num_threads: int = 4
    manifest: dict = field(default_factory=lambda: {"nodes": {}})


def slow_events(names: list[str], pause_s: float, log: list[str]) -> Iterator[str]:
    for name in names:
        time.sleep(pause_s)  # dbt building the next model
        log.append(f"dbt emitted {name}")
        yield name


def test_events_keep_dbts_order_when_later_fetches_finish_first(monkeypatch):
    def fetch(invocation: Any, event: str) -> str:
        time.sleep({"a": 0.3, "b": 0.1, "c": 0.0}[event])  # the first model's fetch is the slowest
        return event.upper()

    monkeypatch.setattr(dbt_metadata, "enrich_model_event", fetch)
    assert list(with_metadata(FakeInvocation(), iter(["a", "b", "c"]))) == ["A", "B", "C"]


def test_waiting_for_dbt_costs_no_cpu(monkeypatch):
    monkeypatch.setattr(dbt_metadata, "enrich_model_event", lambda invocation, event: event)
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    out = list(with_metadata(FakeInvocation(), slow_events(["a", "b", "c", "d"], 0.3, [])))
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    assert out == ["a", "b", "c", "d"]
    assert wall >= 1.2
    # dagster-dbt's loop (`dagster._core.utils.imap`, 4 threads) spent 1.23 CPU-s over these 1.23 s
    assert cpu < 0.25 * wall, f"{cpu:.2f} CPU-s over {wall:.2f} s of waiting"


def test_waiting_for_slow_fetches_costs_no_cpu(monkeypatch):
    def fetch(invocation: Any, event: str) -> str:
        time.sleep(0.3)  # a query in the warehouse: waiting, not computing
        return event

    monkeypatch.setattr(dbt_metadata, "enrich_model_event", fetch)
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    out = list(with_metadata(FakeInvocation(), iter(["a", "b", "c", "d"]), threads=1))
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    assert out == ["a", "b", "c", "d"]
    assert wall >= 1.2
    assert cpu < 0.25 * wall, f"{cpu:.2f} CPU-s over {wall:.2f} s of waiting"


def test_on_duckdb_nothing_is_fetched_until_dbts_stream_has_ended(monkeypatch):
    log: list[str] = []

    def fetch(invocation: Any, event: str) -> str:
        log.append(f"fetched {event}")
        return event

    monkeypatch.setattr(dbt_metadata, "enrich_model_event", fetch)
    out = list(with_metadata(FakeInvocation(adapter=DuckDBAdapter()), slow_events(["a", "b"], 0.0, log)))
    assert out == ["a", "b"]
    assert log[:2] == ["dbt emitted a", "dbt emitted b"]  # dbt's writer held the file until then

    # on another adapter a fetch starts as soon as its model is built
    log.clear()
    list(with_metadata(FakeInvocation(adapter=PostgresAdapter()), slow_events(["a", "b"], 0.2, log), threads=1))
    assert log.index("fetched a") < log.index("dbt emitted b")


def test_dbts_error_comes_after_the_events_it_emitted_before_failing(monkeypatch):
    monkeypatch.setattr(dbt_metadata, "enrich_model_event", lambda invocation, event: event)

    def failing() -> Iterator[str]:
        yield "a"
        raise RuntimeError("dbt build failed")

    for adapter in (DuckDBAdapter(), PostgresAdapter(), object()):
        received: list[str] = []
        with pytest.raises(RuntimeError, match="dbt build failed"):
            for event in with_metadata(FakeInvocation(adapter=adapter), failing()):
                received.append(event)
        assert received == ["a"]


def test_the_real_adapters_are_told_apart_by_their_type() -> None:
    from dbt.adapters.duckdb import DuckDBAdapter as RealDuckDB
    from dbt.adapters.postgres import PostgresAdapter as RealPostgres

    assert dbt_metadata._is_duckdb(FakeInvocation(adapter=RealDuckDB))
    assert not dbt_metadata._is_duckdb(FakeInvocation(adapter=RealPostgres))
    assert not dbt_metadata._is_duckdb(FakeInvocation(adapter=None))
