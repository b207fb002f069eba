"""Queue station-days whose royalty batch may need correcting after an upstream change.

The asset that sees a change (a split approved or corrected, a dispute step, a tariff fixed) queues the
station-days of the plays it affects; `ledger_restatement_sensor` turns the queue into ledger runs, and the
ledger posts reversing and correcting batches only where what should be paid really changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from backbeat.royalties.tables import RESTATEMENT_QUEUE
from integrations.warehouse import Warehouse


def queue_restatements(db: Warehouse, station_days: Iterable[tuple[str, date]], reason: str) -> int:
    """Append one queue row per distinct (station, day); returns how many were queued."""
    pairs = sorted(set(station_days))
    if not pairs:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    frame = RESTATEMENT_QUEUE.from_rows(
        [{"station_id": s, "play_date": d, "reason": reason, "requested_at": now} for s, d in pairs]
    )
    with db.connect() as conn:
        conn.ensure(RESTATEMENT_QUEUE)
        return conn.insert(RESTATEMENT_QUEUE, frame)


def station_days_of_recordings(db: Warehouse, recording_ids: Iterable[str]) -> list[tuple[str, date]]:
    """Distinct (station, day) of every play of the given recordings (catalog track ids)."""
    ids = sorted(set(recording_ids))
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    frame = db.query(f"SELECT DISTINCT station_id, play_date FROM airplay.playlogs WHERE track_id IN ({marks})", ids)
    return [(s, d) for s, d in frame.iter_rows()]
