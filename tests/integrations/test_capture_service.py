"""`backbeat capture-all` as a service against local Icecast stand-ins: the health endpoint, SIGTERM and a
restart that loses and duplicates nothing (the air time between is logged as a gap), SIGKILL and a restart
that clears the unfinished chunk, the session rows, and a second service refused for a station already taken.

The service runs as a real subprocess writing a DuckDB warehouse under tmp_path; chunks are 1 s to keep the
test short. Waits are for events (chunks written, the health answer), bounded only to catch a hang.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf
from click.testing import CliRunner
from support_modules import load_support_module

from backbeat.airplay.capture_health import HealthServer
from backbeat.airplay.capture_service import CaptureService, ServiceOptions
from backbeat.airplay.capture_sessions import LIVE_STATES, SessionStore
from backbeat.airplay.tables import CAPTURE_SESSIONS
from backbeat.commands.capture import status
from integrations.radio import CaptureConfig, Station
from integrations.radio.chunker import START_TAG
from integrations.radio.gaps import read_gaps
from integrations.retry import Backoff
from integrations.warehouse import Warehouse

servers = load_support_module(Path(__file__).parent / "radio_support" / "servers.py", "radio_support_servers")
REPO = Path(__file__).parents[2]
CHUNK = 1.0
STATIONS = ("alpha-fm", "beta-fm")
ENTRY = (
    "import sys; from backbeat.commands.capture import capture_all; "
    "capture_all.main(sys.argv[1:], prog_name='capture-all')"
)


@pytest.fixture(scope="module")
def mp3(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return servers.make_mp3(tmp_path_factory.mktemp("mp3"), seconds=8).read_bytes()


@dataclass(frozen=True)
class Span:
    """A chunk in the landing folder: its exact start (the chunker's FLAC tag) and end, epoch seconds."""

    name: str
    start: float
    end: float


def spans(landing: Path, station_id: str) -> list[Span]:
    found = []
    for path in sorted(landing.glob(f"{station_id}_*.flac")):
        with sf.SoundFile(path) as audio:
            assert audio.comment.startswith(START_TAG), path.name
            start = float(audio.comment[len(START_TAG) :])
            found.append(Span(path.name, start, start + audio.frames / audio.samplerate))
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2.0)
    except httpx.HTTPError:
        return 0, {}
    return response.status_code, response.json()


@contextmanager
def service(tmp_path: Path, stations_csv: Path, port: int, log_name: str) -> Iterator[subprocess.Popen[bytes]]:
    """`capture-all` as a subprocess (output in a log file); killed if the test leaves it running."""
    log = (tmp_path / log_name).open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            ENTRY,
            "--stations",
            str(stations_csv),
            "--landing",
            str(tmp_path / "landing"),
            "--chunk-seconds",
            str(CHUNK),
            "--warehouse-url",
            f"duckdb:///{tmp_path / 'w.duckdb'}",
            "--heartbeat-seconds",
            "0.5",
            "--health-port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        log.close()


def wait_running(port: int, landing: Path, chunks_after: dict[str, int], process: subprocess.Popen[bytes]) -> dict:
    """Wait until /health answers 200 and every station has written two chunks more than `chunks_after`.

    Both sides must show them: the files in the landing folder and the session's count in the health answer
    (the service counts a chunk just after renaming its file, so the two can differ for a moment)."""
    seen: dict[str, Any] = {}

    def ready() -> bool:
        assert process.poll() is None, "the service exited"
        code, body = health(port)
        seen.update(code=code, body=body)
        counts = {s: len(list(landing.glob(f"{s}_*.flac"))) for s in STATIONS}
        session_chunks = {s: body.get("stations", {}).get(s, {}).get("chunks", 0) for s in STATIONS}
        return code == 200 and all(counts[s] >= chunks_after.get(s, 0) + 2 and session_chunks[s] >= 2 for s in STATIONS)

    assert servers.wait_for(ready, timeout=90, interval=0.2), f"never healthy: {seen}"
    return seen["body"]


def stall_then_terminate(process: subprocess.Popen[bytes], plans: list[Any]) -> None:
    """Stop the streams mid-chunk (so every byte sent is decoded), then SIGTERM; the service must exit 0.

    The stalled connections stay stalled: their server threads would otherwise count a burst of bytes that
    the stopped service never reads."""
    stall_at = math.floor(time.time() + 1.0) + 0.5  # half-way through a 1 s chunk
    for plan in plans:
        plan.stall_at = stall_at
    assert servers.wait_for(lambda: time.time() > stall_at + 1.0, timeout=10)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0


def session_rows(tmp_path: Path) -> list[dict[str, Any]]:
    frame = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}").read(CAPTURE_SESSIONS)
    return frame.sort("started_at", "station_id").to_dicts()


def write_stations(tmp_path: Path, url: str) -> Path:
    stations_csv = tmp_path / "stations.csv"
    rows = "".join(f"{s},{s},{url}/{s}.mp3,true,UTC\n" for s in STATIONS)
    stations_csv.write_text("station_id,name,stream_url,active,timezone\n" + rows)
    return stations_csv


def test_sigterm_and_restart_lose_and_duplicate_no_audio(mp3: bytes, tmp_path: Path) -> None:
    landing, port = tmp_path / "landing", free_port()
    sent = dict.fromkeys(STATIONS, 0.0)  # seconds of audio the server sent each station, both services together

    def fresh_mounts(server: Any) -> list[Any]:
        """New stream plans (a stalled connection of the stopped service stays stalled) for one service run."""
        plans = [servers.StreamPlan(mp3) for _ in STATIONS]
        for station_id, plan in zip(STATIONS, plans, strict=True):
            server.mounts[f"/{station_id}.mp3"] = plan
        return plans

    def count_sent(plans: list[Any]) -> None:
        for station_id, plan in zip(STATIONS, plans, strict=True):
            assert plan.streams_opened == 1
            sent[station_id] += plan.audio_bytes_sent / servers.MP3_BYTES_PER_SECOND

    with servers.RadioServer() as server:
        stations_csv = write_stations(tmp_path, server.url)
        plans = fresh_mounts(server)
        with service(tmp_path, stations_csv, port, "first.log") as first:
            body = wait_running(port, landing, {}, first)
            stall_then_terminate(first, plans)
        count_sent(plans)
        assert body["status"] == "ok" and {s["state"] for s in body["stations"].values()} == {"running"}
        assert body["stations"]["alpha-fm"]["chunks"] >= 2 and body["sessions_table"] == "ok"
        first_spans = {s: spans(landing, s) for s in STATIONS}
        first_rows = session_rows(tmp_path)

        # From the stall on, the air time until the next service's first audio is captured by nobody: a gap.
        plans = fresh_mounts(server)
        with service(tmp_path, stations_csv, port, "second.log") as second:
            wait_running(port, landing, {s: len(first_spans[s]) for s in STATIONS}, second)
            stall_then_terminate(second, plans)
        count_sent(plans)

    assert not list(landing.glob(".*.part"))
    rows = session_rows(tmp_path)
    assert [(r["station_id"], r["state"]) for r in first_rows] == [(s, "stopped") for s in STATIONS]
    assert len(rows) == 4 and {r["state"] for r in rows} == {"stopped"}
    for station_id in STATIONS:
        chunks = spans(landing, station_id)
        before, after = first_spans[station_id], chunks[len(first_spans[station_id]) :]
        assert chunks[: len(before)] == before and len(after) >= 2
        # Nothing written twice: no chunk's audio overlaps the next one's.
        for current, following in zip(chunks, chunks[1:], strict=False):
            assert current.end <= following.start + 1e-3, f"{current.name} overlaps {following.name}"
        # Nothing lost: every second the server sent (to both services) is in a chunk.
        assert abs(sum(c.end - c.start for c in chunks) - sent[station_id]) < 0.2
        # The air time between the two services is one gap, from the last audio to the first.
        [gap] = read_gaps(landing, station_id)
        assert gap.reason == "capture restarted" and gap.attempts == 0
        assert abs(gap.start_utc.timestamp() - before[-1].end) < 2e-3
        assert abs(gap.end_utc.timestamp() - after[0].start) < 2e-3 and gap.seconds >= 1.0
        # The session rows: one per service run, counting exactly the chunks each wrote.
        old, new = (r for r in rows if r["station_id"] == station_id)
        assert (old["chunks"], old["gaps"], old["last_chunk_id"]) == (len(before), 0, before[-1].name[:-5])
        assert (new["chunks"], new["gaps"], new["last_chunk_id"]) == (len(after), 1, chunks[-1].name[:-5])
        assert old["resumed_after_utc"] is None and old["stopped_at"] <= new["started_at"]
        assert abs(new["resumed_after_utc"].replace(tzinfo=UTC).timestamp() - before[-1].end) < 2e-3

    outcome = CliRunner().invoke(status, ["--warehouse-url", f"duckdb:///{tmp_path / 'w.duckdb'}"])
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    assert [line.split(" - ")[0] for line in lines] == [f"{s}: stopped" for s in STATIONS]
    outcome = CliRunner().invoke(status, ["--warehouse-url", f"duckdb:///{tmp_path / 'w.duckdb'}", "--json"])
    stations = json.loads(outcome.output)["stations"]
    assert [(s["station_id"], s["state"], s["gaps"]) for s in stations] == [(s, "stopped", 1) for s in STATIONS]


def test_sigkill_then_restart_clears_the_unfinished_chunk_and_logs_the_lost_air_time(
    mp3: bytes, tmp_path: Path
) -> None:
    landing, port = tmp_path / "landing", free_port()
    with servers.RadioServer() as server:
        for station_id in STATIONS:
            server.mounts[f"/{station_id}.mp3"] = servers.StreamPlan(mp3)
        stations_csv = write_stations(tmp_path, server.url)
        with service(tmp_path, stations_csv, port, "first.log") as first:
            wait_running(port, landing, {}, first)
            # Kill while a chunk is being written: wait for the .part of the chunk after the last one.
            assert servers.wait_for(lambda: len(list(landing.glob(".*.part"))) == len(STATIONS), timeout=30)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(30)
        assert len(list(landing.glob(".*.part"))) == len(STATIONS)
        killed = {s: spans(landing, s) for s in STATIONS}
        assert {r["state"] for r in session_rows(tmp_path)} <= set(LIVE_STATES)  # nobody closed them

        with service(tmp_path, stations_csv, port, "second.log") as second:
            wait_running(port, landing, {s: len(killed[s]) for s in STATIONS}, second)
            second.send_signal(signal.SIGTERM)
            assert second.wait(60) == 0

    assert not list(landing.glob(".*.part"))
    rows = session_rows(tmp_path)
    assert [r["state"] for r in rows] == ["interrupted", "interrupted", "stopped", "stopped"]
    assert all(r["stopped_at"] == r["heartbeat_at"] for r in rows[:2])  # ended at their last sign of life
    for station_id in STATIONS:
        chunks = spans(landing, station_id)
        before, after = killed[station_id], chunks[len(killed[station_id]) :]
        assert chunks[: len(before)] == before and after
        [gap] = read_gaps(landing, station_id)
        assert gap.reason == "capture restarted after being killed"
        # From the last whole chunk (the killed one's audio is lost with it) to the first new audio.
        assert abs(gap.start_utc.timestamp() - before[-1].end) < 2e-3
        assert abs(gap.end_utc.timestamp() - after[0].start) < 2e-3


def test_health_is_503_until_every_station_runs_and_a_second_service_is_refused(mp3: bytes, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    store = SessionStore(Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}"))
    config = CaptureConfig(chunk_seconds=CHUNK, backoff=Backoff(base=0.2, factor=2.0, maximum=0.5))
    with servers.RadioServer() as server:
        server.mounts["/alpha.mp3"] = servers.StreamPlan(mp3)
        alpha = Station("alpha-fm", "Alpha", f"{server.url}/alpha.mp3", True)
        dead = Station("dead-fm", "Dead", servers.unused_port_url(), True)
        first = CaptureService(
            [alpha, dead], landing, store, config=config, options=ServiceOptions(heartbeat_seconds=0.2)
        )
        stop = threading.Event()
        runner = threading.Thread(target=first.run, args=(stop,))
        with HealthServer(first.health) as endpoint:
            runner.start()
            try:
                assert servers.wait_for(lambda: first.runs[0].session.chunks >= 1, timeout=60)
                response = httpx.get(endpoint.url, timeout=5)
                # A station taken already is refused by a second service on the same landing folder.
                second = CaptureService([alpha], landing, None)
                [refused] = second.run(threading.Event())
            finally:
                stop.set()
                runner.join(60)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["stations"]["alpha-fm"]["state"] == "running"
    assert body["stations"]["dead-fm"]["state"] in ("connecting", "reconnecting")
    assert body["stations"]["alpha-fm"]["last_chunk_id"].startswith("alpha-fm_")
    assert refused.session.state == "refused" and refused.results == []
    assert refused.session.detail == f"already captured by {socket.gethostname()} {os.getpid()}"
    assert first.health()[1]["stations"]["alpha-fm"]["state"] == "stopped"
    states = {r["station_id"]: r["state"] for r in store.latest().to_dicts()}
    assert states == {"alpha-fm": "stopped", "dead-fm": "stopped"}


def test_a_capture_that_fails_is_restarted_and_the_air_time_in_between_is_logged(
    mp3: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = tmp_path / "landing"
    config = CaptureConfig(chunk_seconds=CHUNK, backoff=Backoff(base=0.2, factor=2.0, maximum=0.5))
    options = ServiceOptions(heartbeat_seconds=0.2, restart_backoff=Backoff(base=0.5, factor=1.0, maximum=0.5))
    with servers.RadioServer() as server:
        server.mounts["/alpha.mp3"] = servers.StreamPlan(mp3)
        alpha = Station("alpha-fm", "Alpha", f"{server.url}/alpha.mp3", True)
        capture_service = CaptureService([alpha], landing, None, config=config, options=options)
        record_chunk = capture_service._chunk

        def disk_full_after_the_second_chunk(run: Any, path: Path, end: float) -> None:
            record_chunk(run, path, end)
            if run.session.chunks == 2 and not run.session.restarts:
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(capture_service, "_chunk", disk_full_after_the_second_chunk)
        stop = threading.Event()
        runner = threading.Thread(target=capture_service.run, args=(stop,))
        runner.start()
        session = capture_service.runs[0].session
        try:
            assert servers.wait_for(lambda: session.restarts == 1 and session.chunks >= 4, timeout=60)
        finally:
            stop.set()
            runner.join(60)

    assert session.last_error == "OSError: [Errno 28] No space left on device"
    chunks, gaps = spans(landing, "alpha-fm"), read_gaps(landing, "alpha-fm")
    assert (session.state, session.gaps, session.restarts) == ("stopped", len(gaps), 1)
    # From the end of chunk 2 (the failed capture's last audio) to the start of chunk 3, the air time is
    # logged without a hole: the failure's own gap up to the moment it failed (none when that moment was
    # within 50 ms of the last audio), then the restart's.
    *failure, restart = gaps
    assert restart.reason == "capture failed and restarted"
    assert [g.reason for g in failure] in (
        [],
        ["OSError: [Errno 28] No space left on device; then capture stopped before audio resumed"],
    )
    assert abs(gaps[0].start_utc.timestamp() - chunks[1].end) < 2e-3
    assert all(a.end_utc == b.start_utc for a, b in zip(gaps, gaps[1:], strict=False))
    assert abs(restart.end_utc.timestamp() - chunks[2].start) < 2e-3
