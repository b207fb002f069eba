"""Writing royalties tables a window at a time, and finding the station-day of plays."""

from datetime import date

import polars as pl

from backbeat.airplay.tables import PLAYLOGS
from integrations.warehouse import Table, Warehouse

IN_CHUNK = 1000


def play_station_days(db: Warehouse, play_ids: list[str]) -> dict[str, tuple[str, date]]:
    """Station and day of each of `play_ids` found in airplay.playlogs."""
    found: dict[str, tuple[str, date]] = {}
    with db.connect() as conn:
        conn.ensure(PLAYLOGS)
        for start in range(0, len(play_ids), IN_CHUNK):
            chunk = play_ids[start : start + IN_CHUNK]
            frame = conn.query(
                f"SELECT play_id, station_id, play_date FROM {PLAYLOGS.qualified_name} "
                f"WHERE play_id IN ({', '.join('?' for _ in chunk)})",
                chunk,
            )
            found.update({p: (s, d) for p, s, d in frame.iter_rows()})
    return found


def replace_tables(
    db: Warehouse, frames: dict[Table, pl.DataFrame], where: str = "", params: list[object] | None = None
) -> None:
    """Replace each table's rows matching `where` (all when empty) with its frame, all in one transaction."""
    with db.connect() as conn:
        for table, frame in frames.items():
            conn.ensure(table)
            conn.execute(f"DELETE FROM {table.qualified_name}" + (f" WHERE {where}" if where else ""), params or [])
            conn.insert(table, frame)
