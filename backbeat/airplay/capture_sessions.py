"""Capture sessions: one row per run of one station's capture (`airplay.capture_sessions`), and its status.

The capture service keeps each station's session in memory and writes every row on each heartbeat, so the
table says what runs where, when it last wrote a chunk and what went wrong. It is a record, not a control:
capture never waits on it (the landing folder, not this table, says where a restart resumes), and a row
whose heartbeat is more than `STALE_BEATS` beats old belongs to a service that is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

import polars as pl

from backbeat.airplay.tables import CAPTURE_SESSIONS
from integrations.warehouse import Warehouse

LIVE_STATES = ("queued", "connecting", "running", "reconnecting", "restarting")
STALE_BEATS = 3


def utc_naive(epoch_seconds: float | None) -> datetime | None:
    """Epoch seconds as the warehouse stores times: naive UTC."""
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(epoch_seconds, UTC).replace(tzinfo=None)


@dataclass
class Session:
    """One station's capture session as the service sees it; change it only while holding `lock`."""

    session_id: str
    station_id: str
    host: str
    pid: int
    started_at: datetime
    state: str = "queued"
    detail: str | None = None
    stopped_at: datetime | None = None
    resumed_after_utc: datetime | None = None
    last_chunk_id: str | None = None
    last_chunk_at: datetime | None = None
    chunks: int = 0
    gaps: int = 0
    restarts: int = 0
    last_error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def row(self, heartbeat_at: datetime, heartbeat_seconds: float) -> dict[str, object]:
        """The session as a row of `airplay.capture_sessions`."""
        with self.lock:
            values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lock"}
        return {**values, "heartbeat_at": heartbeat_at, "heartbeat_seconds": heartbeat_seconds}


class SessionStore:
    """Reads and writes `airplay.capture_sessions`; every write is one short transaction."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def close_previous(self, station_ids: Sequence[str], now: datetime) -> int:
        """Mark the stations' sessions still recorded as live `interrupted` (their service is gone: the caller
        holds the stations' capture locks); returns how many rows changed."""
        if not station_ids:
            return 0
        marks = ", ".join("?" for _ in station_ids)
        live = ", ".join(f"'{s}'" for s in LIVE_STATES)
        with self.warehouse.connect() as conn:
            conn.ensure(CAPTURE_SESSIONS)
            where = f"station_id IN ({marks}) AND state IN ({live})"
            count = conn.scalar(f"SELECT count(*) FROM {CAPTURE_SESSIONS.qualified_name} WHERE {where}", station_ids)
            conn.execute(
                f"UPDATE {CAPTURE_SESSIONS.qualified_name} SET state = 'interrupted', "
                "detail = 'the service stopped without closing the session (killed, or the machine went down)', "
                f"stopped_at = coalesce(heartbeat_at, ?) WHERE {where}",
                [now, *station_ids],
            )
        return int(count or 0)

    def save(self, sessions: Iterable[Session], heartbeat_seconds: float, now: datetime) -> int:
        """Write every session's row as it is now (replacing the row written at the previous heartbeat)."""
        rows = [s.row(now, heartbeat_seconds) for s in sessions]
        if not rows:
            return 0
        frame = CAPTURE_SESSIONS.from_rows(rows)
        ids = frame["session_id"].to_list()
        with self.warehouse.connect() as conn:
            conn.ensure(CAPTURE_SESSIONS)
            conn.execute(
                f"DELETE FROM {CAPTURE_SESSIONS.qualified_name} WHERE session_id IN ({', '.join('?' for _ in ids)})",
                ids,
            )
            return conn.insert(CAPTURE_SESSIONS, frame)

    def latest(self) -> pl.DataFrame:
        """Each station's most recent session (the row of the service capturing it now, or the last one)."""
        frame = self.warehouse.read(CAPTURE_SESSIONS)
        if frame.is_empty():
            return frame
        return frame.sort("started_at").group_by("station_id", maintain_order=True).last().sort("station_id")


def effective_state(row: dict[str, object], now: datetime) -> str:
    """The row's state, or `stale` when it claims to be live but its service has stopped writing."""
    state = str(row["state"])
    heartbeat, beat = row.get("heartbeat_at"), row.get("heartbeat_seconds")
    if state not in LIVE_STATES or not isinstance(heartbeat, datetime) or not isinstance(beat, float | int):
        return state
    return "stale" if now - heartbeat > timedelta(seconds=STALE_BEATS * float(beat)) else state


def status_lines(frame: pl.DataFrame, now: datetime) -> list[str]:
    """One line per station: state, last chunk, counts, where it runs and why it is not running."""
    if frame.is_empty():
        return ["no capture sessions recorded (start `backbeat capture-all`)"]
    lines = []
    for row in frame.iter_rows(named=True):
        state = effective_state(row, now)
        last = row["last_chunk_at"]
        ago = f"{(now - last).total_seconds():.0f} s ago" if isinstance(last, datetime) else "none yet"
        line = (
            f"{row['station_id']}: {state} - last chunk {ago} ({row['last_chunk_id'] or '-'}); "
            f"{row['chunks']} chunks, {row['gaps']} gaps, {row['restarts']} restarts this session; "
            f"{row['host']}:{row['pid']} since {row['started_at']:%Y-%m-%d %H:%M:%S} UTC"
        )
        if state == "stale":
            line += f"; no heartbeat since {row['heartbeat_at']:%H:%M:%S} UTC"
        if row["detail"]:
            line += f"; {row['detail']}"
        if row["last_error"]:
            line += f"; last error: {row['last_error']}"
        lines.append(line)
    return lines
