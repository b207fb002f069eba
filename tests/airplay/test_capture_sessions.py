"""Capture sessions in the warehouse (DuckDB and PostgreSQL), their status lines, and where a restarted
capture resumes (read from the landing folder). The service itself is tested against live stream stand-ins
in tests/integrations/test_capture_service.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from backbeat.airplay.capture_service import resume_point
from backbeat.airplay.capture_sessions import Session, SessionStore, effective_state, status_lines
from backbeat.airplay.tables import CAPTURE_SESSIONS
from integrations.radio.chunker import Chunker
from integrations.radio.gaps import Gap, record_gap
from integrations.radio.resume import latest_chunk_paths, read_last_chunk
from integrations.warehouse import Warehouse

T0 = datetime(2026, 12, 5, 10, 0, 0)


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'w.duckdb'}"
    return request.getfixturevalue("postgres_server").create_database("capture_sessions")


def session(station_id: str, started: datetime, state: str) -> Session:
    return Session(f"{station_id}-{started:%H%M%S}", station_id, "host-a", 4242, started, state=state)


def test_sessions_are_rewritten_each_beat_and_left_open_ones_marked_interrupted(warehouse_url: str) -> None:
    store = SessionStore(Warehouse(warehouse_url))
    alpha, beta = session("alpha-fm", T0, "running"), session("beta-fm", T0, "stopped")
    beta.stopped_at = T0 + timedelta(seconds=5)
    store.save([alpha, beta], 10.0, T0 + timedelta(seconds=10))
    alpha.chunks, alpha.last_chunk_id = 3, "alpha-fm_20261205T100030Z"
    alpha.last_chunk_at = T0 + timedelta(seconds=30, microseconds=250_000)
    store.save([alpha, beta], 10.0, T0 + timedelta(seconds=40))

    rows = {r["station_id"]: r for r in store.latest().to_dicts()}
    assert len(store.warehouse.read(CAPTURE_SESSIONS)) == 2  # one row per session, replaced at each beat
    assert (rows["alpha-fm"]["chunks"], rows["alpha-fm"]["heartbeat_at"]) == (3, T0 + timedelta(seconds=40))
    assert rows["alpha-fm"]["last_chunk_at"] == T0 + timedelta(seconds=30, microseconds=250_000)

    # The service holding alpha's lock died: a new one closes its session at its last heartbeat.
    assert store.close_previous(["alpha-fm", "beta-fm"], T0 + timedelta(minutes=5)) == 1
    rows = {r["station_id"]: r for r in store.latest().to_dicts()}
    assert (rows["alpha-fm"]["state"], rows["alpha-fm"]["stopped_at"]) == ("interrupted", T0 + timedelta(seconds=40))
    assert (rows["beta-fm"]["state"], rows["beta-fm"]["stopped_at"]) == ("stopped", T0 + timedelta(seconds=5))

    later = session("alpha-fm", T0 + timedelta(minutes=5), "connecting")
    store.save([later], 10.0, T0 + timedelta(minutes=5))
    latest = {r["station_id"]: r["session_id"] for r in store.latest().to_dicts()}
    assert latest == {"alpha-fm": later.session_id, "beta-fm": beta.session_id}


def test_status_says_stale_when_a_live_session_stopped_beating() -> None:
    row = session("alpha-fm", T0, "running").row(T0 + timedelta(seconds=20), 10.0)
    row |= {"last_chunk_at": T0 + timedelta(seconds=19), "last_chunk_id": "alpha-fm_20261205T100018Z", "chunks": 2}
    assert effective_state(row, T0 + timedelta(seconds=49)) == "running"
    assert effective_state(row, T0 + timedelta(seconds=51)) == "stale"  # 3 beats of 10 s missed
    assert effective_state(row | {"state": "stopped"}, T0 + timedelta(hours=1)) == "stopped"

    [line] = status_lines(pl.DataFrame([row]), T0 + timedelta(seconds=60))
    assert line.startswith("alpha-fm: stale - last chunk 41 s ago (alpha-fm_20261205T100018Z); 2 chunks")
    assert "host-a:4242" in line and "no heartbeat since 10:00:20 UTC" in line
    assert status_lines(pl.DataFrame(), T0) == ["no capture sessions recorded (start `backbeat capture-all`)"]


def write_chunk(landing: Path, station_id: str, start: float, seconds: float) -> None:
    chunker = Chunker(station_id, landing, 30.0, 44100, 2)
    chunker.begin(start)
    chunker.feed(np.zeros((round(seconds * 44100), 2), dtype="<i2").tobytes())
    chunker.end()


def test_a_restart_resumes_after_the_last_chunk_or_gap_and_clears_a_killed_partial(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    start = datetime(2026, 12, 5, 10, 0, 7, 250_000, tzinfo=UTC).timestamp()  # not on a whole second
    write_chunk(landing, "alpha-fm", start - 60, 2.0)
    write_chunk(landing, "alpha-fm", start, 1.5)
    write_chunk(landing, "alpha-fm-2", start + 100, 1.0)  # another station sharing the prefix
    latest = latest_chunk_paths(landing, ["alpha-fm", "beta-fm"])
    assert list(latest) == ["alpha-fm"] and latest["alpha-fm"].name == "alpha-fm_20261205T100007Z.flac"
    last = read_last_chunk(latest["alpha-fm"])
    assert last is not None and last.exact and last.end_utc == pytest.approx(start + 1.5, abs=1e-5)

    resume = resume_point(landing, "alpha-fm", latest["alpha-fm"])
    assert resume is not None and resume.reason == "capture restarted"
    assert resume.after == pytest.approx(start + 1.5, abs=1e-5)  # the exact end, not the name's second

    # A capture killed mid-chunk: its partial is removed; a later logged gap (an outage until its stop) wins.
    (landing / ".alpha-fm_20261205T100009Z.flac.part").write_bytes(b"half a chunk")
    (landing / ".alpha-fm-2_20261205T100009Z.flac.part").write_bytes(b"another station's")
    gap_end = datetime.fromtimestamp(start + 20, UTC)
    record_gap(landing, Gap("alpha-fm", datetime.fromtimestamp(start + 1.5, UTC), gap_end, "HTTP 503 (x2)", 2))
    resume = resume_point(landing, "alpha-fm", latest["alpha-fm"])
    assert resume is not None and resume.reason == "capture restarted after being killed"
    assert resume.after == pytest.approx(start + 20, abs=1e-3)
    assert sorted(p.name for p in landing.glob(".*.part")) == [".alpha-fm-2_20261205T100009Z.flac.part"]
    assert resume_point(landing, "beta-fm", None) is None  # never captured: no gap to log
