"""`backbeat capture-all` as a long-lived service: every active station captured in its own supervised session.

- **One capture per station at a time.** A station is captured only by the process holding its lock file
  (`landing/_sessions/{station}.lock`, an exclusive `flock` the kernel releases when the process dies), so a
  second service started by mistake refuses the stations it cannot lock instead of writing them twice.
- **Safe to restart.** Chunks are named by the UTC time of their first sample and renamed into place whole;
  a restart reads where each station's audio ended from the landing folder (`integrations/radio/resume.py`),
  removes a killed capture's unfinished `.part` file, places no audio before that end, and logs the air
  time in between as a gap ("capture restarted"). A station whose capture fails unexpectedly is restarted
  the same way after a backoff.
- **Sessions in the warehouse.** Each station's session (state, host and pid, last chunk, counts, errors) is
  written to `airplay.capture_sessions` on every heartbeat (and within a second of a state change) by the
  service's own thread alone; a warehouse that is down or locked delays the rows, never the capture.
- **Shared storage.** Given a `storage` (`BACKBEAT_STORAGE_URL`), each finished chunk and each station's gap
  log is uploaded as `landing/...` on a thread of its own, so workers on other machines can read them; an
  unreachable store delays the uploads, never the capture.
- **Stop.** Setting `stop` (SIGTERM/SIGINT in the CLI) finishes every open chunk as a short chunk, closes
  the sessions as `stopped` and returns.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from backbeat.airplay.capture_sessions import Session, SessionStore, utc_naive
from integrations.radio import CaptureConfig, CaptureEvents, CaptureResult, Resume, Station, capture_station
from integrations.radio.gaps import gaps_path, read_gaps
from integrations.radio.resume import latest_chunk_paths, read_last_chunk, remove_partials
from integrations.retry import Backoff
from integrations.storage import BackgroundUploader, Storage

log = logging.getLogger(__name__)
SESSIONS_FOLDER = "_sessions"


@dataclass(frozen=True)
class ServiceOptions:
    """How the service runs its stations."""

    max_concurrent: int = 8
    duration: float | None = None  # per station, from when it gets a slot; None: until stopped
    heartbeat_seconds: float = 10.0
    restart_backoff: Backoff = Backoff(base=5.0, factor=2.0, maximum=300.0)


@dataclass
class StationRun:
    """A station in the service: its session, lock and everything its captures produced."""

    station: Station
    session: Session
    resume: Resume | None = None
    lock_file: IO[str] | None = None
    results: list[CaptureResult] = field(default_factory=list)

    @property
    def chunks(self) -> list[Path]:
        return [c for r in self.results for c in r.chunks]


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def lock_station(landing: Path, station_id: str) -> IO[str] | None:
    """The station's capture lock, held until the file is closed or the process ends; None if taken."""
    folder = landing / SESSIONS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    handle = (folder / f"{station_id}.lock").open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{socket.gethostname()} {os.getpid()}\n")
    handle.flush()
    return handle


def lock_holder(landing: Path, station_id: str) -> str:
    """Who holds a station's lock, as its lock file says (`host pid`)."""
    try:
        return (landing / SESSIONS_FOLDER / f"{station_id}.lock").read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return "unknown"


def resume_point(landing: Path, station_id: str, latest: Path | None) -> Resume | None:
    """Where the station's earlier captures stopped: the end of its last chunk or of its last logged gap,
    whichever is later (a capture stopped during an outage logged the outage up to its stop)."""
    killed = bool(remove_partials(landing, station_id))
    ends = []
    if latest is not None and (last := read_last_chunk(latest)) is not None:
        ends.append(last.end_utc)
    ends += [g.end_utc.timestamp() for g in read_gaps(landing, station_id)]
    if not ends:
        return None
    reason = "capture restarted after being killed" if killed else "capture restarted"
    return Resume(after=max(ends), reason=reason)


class CaptureService:
    """Captures `stations` into `landing` until `stop`; see the module docstring."""

    def __init__(
        self,
        stations: Sequence[Station],
        landing: Path,
        store: SessionStore | None,
        *,
        config: CaptureConfig | None = None,
        options: ServiceOptions | None = None,
        storage: Storage | None = None,
    ) -> None:
        config, options = config or CaptureConfig(), options or ServiceOptions()
        if options.max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.landing = landing
        self.store = store
        self.config = config
        self.options = options
        self.storage = storage
        self.uploader: BackgroundUploader | None = None
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.sessions_error: str | None = None
        self._last_beat = 0.0  # time.monotonic() of the last write of the sessions
        started = now_utc()
        stamp = started.strftime("%Y%m%dT%H%M%S")
        self.runs = [
            StationRun(
                s, Session(f"{s.station_id}-{stamp}-{self.host}-{self.pid}", s.station_id, self.host, self.pid, started)
            )
            for s in stations
        ]

    # ---- Running ----------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> list[StationRun]:
        """Capture until `stop` is set (or every station's `duration` is over); returns every station's run."""
        self.landing.mkdir(parents=True, exist_ok=True)
        self.uploader = BackgroundUploader(self.storage) if self.storage else None
        latest = latest_chunk_paths(self.landing, [r.station.station_id for r in self.runs])
        capturing = []
        for run in self.runs:
            station_id = run.station.station_id
            run.lock_file = lock_station(self.landing, station_id)
            if run.lock_file is None:
                holder = lock_holder(self.landing, station_id)
                log.error("%s: already captured by %s; not capturing it here", station_id, holder)
                self._set(run, "refused", f"already captured by {holder}", stopped=True)
                continue
            run.resume = resume_point(self.landing, station_id, latest.get(station_id))
            run.session.resumed_after_utc = utc_naive(run.resume.after) if run.resume else None
            capturing.append(run)
        # A pool hands out the slots in the stations file's order; the others stay `queued` until one frees.
        with ThreadPoolExecutor(max_workers=self.options.max_concurrent, thread_name_prefix="station") as pool:
            futures = [pool.submit(self._station, run, stop) for run in capturing]
            try:
                self._close_previous_sessions()
                self._save()
                while pending := [f for f in futures if not f.done()]:
                    wait(pending, timeout=min(1.0, self.options.heartbeat_seconds))
                    if self._heartbeat_due():
                        self._save()
            finally:
                stop.set()  # an unexpected error here must not leave the captures running
                wait(futures)
                for run in capturing:
                    assert run.lock_file is not None
                    run.lock_file.close()
                self._save()
                if self.uploader:
                    self.uploader.close()
        for future in futures:
            future.result()  # a bug in the supervision itself is not swallowed
        return self.runs

    def _station(self, run: StationRun, stop: threading.Event) -> None:
        station, session = run.station, run.session
        if stop.is_set():
            self._set(run, "stopped", "stopped before its turn", stopped=True)
            return
        deadline = None if self.options.duration is None else time.monotonic() + self.options.duration
        events = CaptureEvents(
            on_state=lambda state, detail: self._set(run, state, detail),
            on_chunk=lambda path, _start, end: self._chunk(run, path, end),
            on_gap=lambda _gap: self._gap(run),
        )
        resume, attempt = run.resume, 0
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            result = capture_station(
                station.station_id,
                station.stream_url,
                self.landing,
                config=self.config,
                stop=stop,
                duration=remaining,
                resume=resume,
                events=events,
            )
            run.results.append(result)
            if result.error is None or stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
                break
            # An unexpected failure (a bug, a full disk): restart from where this capture stopped.
            delay = self.options.restart_backoff.delay(attempt)
            attempt += 1
            with session.lock:
                session.restarts += 1
                session.last_error = result.error
            self._set(run, "restarting", f"capture failed ({result.error}); restarting in {delay:.0f} s")
            ends = [e for e in (result.audio_end_utc, *(g.end_utc.timestamp() for g in result.gaps)) if e]
            resume = Resume(max(ends), "capture failed and restarted") if ends else None
            if stop.wait(delay):
                break
        self._set(run, "stopped", result.error, stopped=True)

    def _set(self, run: StationRun, state: str, detail: str | None, *, stopped: bool = False) -> None:
        with run.session.lock:
            run.session.state, run.session.detail = state, detail
            if stopped:
                run.session.stopped_at = now_utc()
        self._last_beat = 0.0  # a new state is written within a second, not at the next heartbeat

    def _gap(self, run: StationRun) -> None:
        with run.session.lock:
            run.session.gaps += 1
        if self.uploader:
            station_id = run.station.station_id
            self.uploader.submit(gaps_path(self.landing, station_id), f"landing/_gaps/{station_id}.csv")

    def _chunk(self, run: StationRun, path: Path, end: float) -> None:
        with run.session.lock:
            run.session.chunks += 1
            run.session.last_chunk_id = path.stem
            run.session.last_chunk_at = utc_naive(end)
        if self.uploader:
            self.uploader.submit(path, f"landing/{path.name}")

    # ---- Sessions table ---------------------------------------------------------------------------------

    def _heartbeat_due(self) -> bool:
        return time.monotonic() - self._last_beat >= self.options.heartbeat_seconds

    def _close_previous_sessions(self) -> None:
        if self.store is None:
            return
        locked = [r.station.station_id for r in self.runs if r.lock_file is not None]
        try:
            closed = self.store.close_previous(locked, now_utc())
        except Exception as exc:  # the table is a record: capture goes on without it
            self._table_failed(exc)
            return
        if closed:
            log.warning("%d capture sessions left open by a service that is gone are marked interrupted", closed)

    def _save(self) -> None:
        self._last_beat = time.monotonic()
        if self.store is None:
            return
        try:
            self.store.save([r.session for r in self.runs], self.options.heartbeat_seconds, now_utc())
        except Exception as exc:
            self._table_failed(exc)
            return
        if self.sessions_error is not None:
            log.info("capture sessions are written to the warehouse again")
        self.sessions_error = None

    def _table_failed(self, exc: Exception) -> None:
        self.sessions_error = f"{type(exc).__name__}: {exc}"
        log.warning("cannot write capture sessions (%s); capture goes on", self.sessions_error)

    # ---- Health -----------------------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether every station is running, and each station's state as JSON-ready values."""
        now = time.time()
        stations = {}
        for run in self.runs:
            session = run.session
            with session.lock:
                last = session.last_chunk_at
                stations[session.station_id] = {
                    "state": session.state,
                    "detail": session.detail,
                    "session_id": session.session_id,
                    "last_chunk_id": session.last_chunk_id,
                    "last_chunk_at": None if last is None else last.isoformat(timespec="milliseconds") + "Z",
                    "seconds_since_last_chunk": None
                    if last is None
                    else round(now - last.replace(tzinfo=UTC).timestamp(), 1),
                    "chunks": session.chunks,
                    "gaps": session.gaps,
                    "restarts": session.restarts,
                    "last_error": session.last_error,
                }
        healthy = bool(stations) and all(s["state"] == "running" for s in stations.values())
        body = {
            "status": "ok" if healthy else "degraded",
            "host": self.host,
            "pid": self.pid,
            "sessions_table": self.sessions_error or "ok",
            "stations": stations,
        }
        return healthy, body
