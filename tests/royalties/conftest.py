"""A small royalty world on a real warehouse (DuckDB file or PostgreSQL): tariffs, plays, splits, disputes.

Fixtures only (tests import nothing from here: pytest runs with --import-mode=importlib); the ledger tests
repeat DAY and BOOKED.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from backbeat.airplay.tables import PLAYLOGS
from backbeat.rights.roles import ROLE_GROUP
from backbeat.rights.tables import RECORDINGS, SPLITS
from backbeat.royalties.ledger import PostingSummary, post_station_days
from backbeat.royalties.tables import DISPUTES, LEDGER, LEDGER_BATCHES, TARIFFS
from integrations.warehouse import Warehouse

DAY = date(2026, 3, 2)  # the day of the `world` fixture's plays
BOOKED = datetime(2026, 3, 3, 2, 0)  # when the daily run posts it


@pytest.fixture(params=["duckdb", "postgres"])
def ledger_warehouse(request: pytest.FixtureRequest, tmp_path) -> Warehouse:
    """An empty warehouse: a new DuckDB file, or a freshly created database on the session's PostgreSQL."""
    if request.param == "duckdb":
        return Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    return Warehouse(request.getfixturevalue("postgres_server").create_database("royalties_test"))


@dataclass
class World:
    """Writes the ledger's inputs the way their owning assets would, and reads what the ledger posted."""

    db: Warehouse

    def tariff(self, station: str, rate: str, effective_from: date = date(2026, 1, 1), currency: str = "EUR") -> str:
        """Add (or re-rate) a station's tariff from `effective_from`; effective_to follows like the tariffs asset."""
        current = self.db.read(TARIFFS).filter(
            ~((pl.col("station_id") == station) & (pl.col("effective_from") == effective_from))
        )
        tariff_id = f"{station}:{effective_from}"
        row = pl.DataFrame(
            {
                "tariff_id": [tariff_id],
                "station_id": [station],
                "currency": [currency],
                "rate_per_second": [Decimal(rate)],
                "effective_from": [effective_from],
                "effective_to": [None],
            },
            schema=TARIFFS.polars_schema,
        )
        frame = (
            pl.concat([current, row])
            .sort("station_id", "effective_from")
            .with_columns(effective_to=pl.col("effective_from").shift(-1).over("station_id"))
        )
        self.db.replace(TARIFFS, frame)
        return tariff_id

    def plays(self, station: str, day: date, plays: Iterable[tuple[str, str, int]]) -> None:
        """(play_id, track_id, duration_s) played one after another from 06:00 on `day`."""
        start = datetime(day.year, day.month, day.day, 6)
        rows = []
        for play_id, track_id, duration in plays:
            rows.append(
                {
                    "play_id": play_id,
                    "station_id": station,
                    "track_id": track_id,
                    "play_date": day,
                    "start_utc": start,
                    "end_utc": start + timedelta(seconds=duration),
                    "duration_s": duration,
                }
            )
            start += timedelta(seconds=duration + 5)
        frame = PLAYLOGS.from_rows([{c: r.get(c) for c in PLAYLOGS.column_names} for r in rows])
        with self.db.connect() as conn:
            conn.ensure(PLAYLOGS)
            conn.insert(PLAYLOGS, frame)

    def recording(self, recording_id: str, work_id: str | None) -> None:
        with self.db.connect() as conn:
            conn.ensure(RECORDINGS)
            conn.insert(
                RECORDINGS,
                RECORDINGS.from_rows([{"recording_id": recording_id, "isrc": None, "work_id": work_id, "title": None}]),
            )

    def split(
        self,
        split_set_id: str,
        subject_type: str,
        subject_id: str,
        shares: Iterable[tuple[str, str, int]],
        valid_from: date | None = None,
        valid_to: date | None = None,
    ) -> None:
        """An approved split set: (party_id, role, share_bp) rows; role group from the role."""
        rows = [
            {
                "split_set_id": split_set_id,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "party_id": party,
                "role": role,
                "role_group": ROLE_GROUP[role],
                "share_bp": bp,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "source_file": "sheet.csv",
                "source_row": i + 2,
                "approved_by": "rules",
            }
            for i, (party, role, bp) in enumerate(shares)
        ]
        with self.db.connect() as conn:
            conn.ensure(SPLITS)
            conn.insert(SPLITS, SPLITS.from_rows(rows))

    def withdraw_split(self, split_set_id: str) -> None:
        self.db.replace(SPLITS, SPLITS.empty_frame(), "split_set_id = ?", [split_set_id])

    def dispute(
        self, dispute_id: str, play_id: str, station: str, day: date, status: str, resolution: str | None = None
    ) -> None:
        """The dispute's current step, as the disputes asset keeps it (one row per dispute)."""
        row = {
            "dispute_id": dispute_id,
            "play_id": play_id,
            "station_id": station,
            "play_date": day,
            "opened_by": "station",
            "opened_at": BOOKED,
            "status": status,
            "resolution": resolution,
            "updated_at": BOOKED,
        }
        self.db.replace(DISPUTES, DISPUTES.from_rows([row]), "dispute_id = ?", [dispute_id])

    def post(self, *station_days: tuple[str, date], booked_at: datetime = BOOKED, reason: str = "") -> PostingSummary:
        return post_station_days(self.db, list(station_days) or [("s1", DAY)], booked_at, reason)

    def lines(self) -> pl.DataFrame:
        return self.db.read(LEDGER).sort("batch_id", "line_no")

    def batches(self) -> pl.DataFrame:
        return self.db.read(LEDGER_BATCHES).sort("posted_at", "batch_id")

    def net(self, station: str = "s1", day: date = DAY) -> dict[tuple[str, str | None, str | None], int]:
        """Net amount per (play, account, party) over every batch of the station-day, zero nets left out."""
        sums = (
            self.lines()
            .filter((pl.col("station_id") == station) & (pl.col("posted_for") == day))
            .group_by("play_id", "account", "party_id")
            .agg(pl.col("amount_minor").sum())
            .filter(pl.col("amount_minor") != 0)
        )
        return {(p, a, party): int(v) for p, a, party, v in sums.iter_rows()}


@pytest.fixture
def world(ledger_warehouse: Warehouse) -> World:
    """Station s1 at 0.0125 EUR/s; work W1 split 3 × 33.33 % (+0.01 % to the first); T1 → W1, T2 has no split."""
    return populated(World(ledger_warehouse))


@pytest.fixture
def postgres_world(postgres_server) -> World:
    """The same world, on PostgreSQL only."""
    return populated(World(Warehouse(postgres_server.create_database("royalties_pg_only"))))


@pytest.fixture
def duckdb_world(tmp_path) -> World:
    """The same world, on DuckDB only (for probes PostgreSQL refuses outright)."""
    return populated(World(Warehouse(f"duckdb:///{tmp_path / 'duckdb_world.duckdb'}")))


def populated(w: World) -> World:
    w.tariff("s1", "0.0125")
    w.recording("T1", "W1")
    w.recording("T2", "W2")
    # Each writer is also their own publisher (same shares): both pools of the work are covered, so nothing of
    # W1 goes to suspense (posting: a missing pool is never someone else's money).
    w.split(
        "SS-W1",
        "work",
        "W1",
        [
            ("A", "writer", 3334),
            ("B", "writer", 3333),
            ("C", "writer", 3333),
            ("A", "publisher", 3334),
            ("B", "publisher", 3333),
            ("C", "publisher", 3333),
        ],
    )
    w.plays("s1", DAY, [("p1", "T1", 181), ("p2", "T2", 95), ("p3", "T1", 200)])
    return w
