"""Move from station × day partitions to day × shard ones: `backbeat partitions migrate-shards` (which holds the
Dagster-instance half, `backbeat.commands.partitions.migrate_instance`; this module is the warehouse half).

Before release 0009 the airplay and ledger assets were partitioned by UTC day × station (a dynamic partition per
station). Their warehouse rows are keyed by station and day and do not move; what moves is the instance's record
of what is materialized. For every (day, shard) holding a station-day materialized under the old keys, a runless
materialization of the new partition is reported (metadata: the station-days it stands for), unless one is
already there: running it again reports nothing. `airplay.station_day_status` is filled from the warehouse for
the station-days it does not hold yet. Then the `stations` dynamic partitions are deleted (their events stay).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from backbeat.airplay.shards import SHARD_KEYS
from backbeat.airplay.station_days import (
    DAY_COLUMNS,
    LEDGER_STAGE,
    STAGE_TABLES,
    StationDayOutcome,
    record_outcomes,
    station_row_counts,
)
from backbeat.airplay.tables import PLAYLOGS, STATION_DAY_STATUS
from integrations.warehouse import Warehouse

OLD_STATIONS_PARTITIONS = "stations"
"""The dynamic partitions definition of station ids, before 0009."""
DAY_SHARD_ASSETS = (
    "airplay/stream_chunks",
    "airplay/capture_gaps",
    "airplay/station_day_status",
    "airplay/detections",
    "airplay/playlogs",
    "airplay/play_programs",
    "royalties/royalty_ledger",
    "royalties/ledger_batches",
)
"""The assets partitioned by day × shard since 0009 (tests hold this equal to the definitions)."""
MIGRATED_RUN_ID = "migrated-0009"


@dataclass
class ShardMigrationReport:
    """What a migration did, per asset: shard-days reported, and station-days they stand for."""

    reported: dict[str, int] = field(default_factory=dict)
    station_days: dict[str, int] = field(default_factory=dict)
    already: dict[str, int] = field(default_factory=dict)
    status_rows: int = 0
    station_partitions_deleted: int = 0

    def line(self, asset: str) -> str:
        """What was done for one asset."""
        return (
            f"{asset}: {self.reported.get(asset, 0)} day × shard partitions reported for "
            f"{self.station_days.get(asset, 0)} station-days ({self.already.get(asset, 0)} already there)"
        )

    def lines(self) -> list[str]:
        out = [self.line(asset) for asset in DAY_SHARD_ASSETS]
        out.append(f"airplay.station_day_status: {self.status_rows} rows filled from the warehouse")
        out.append(f"station partitions deleted: {self.station_partitions_deleted}")
        return out


def old_station_days(keys: set[str], old_stations: set[str]) -> list[tuple[date, str]]:
    """The (day, station) of the old station × day keys among `keys` (`YYYY-MM-DD|station`). A second part that is a
    shard key is a new key, unless it names a registered old station."""
    found = []
    for key in keys:
        day, _, second = key.partition("|")
        if not second or (second in SHARD_KEYS and second not in old_stations):
            continue
        found.append((date.fromisoformat(day), second))
    return sorted(found)


def fill_station_day_status(db: Warehouse, days: list[date], now: datetime | None = None) -> int:
    """Status rows for the station-days of `days` that have output rows but no status row yet, per stage."""
    db.ensure(STATION_DAY_STATUS)
    written = 0
    for stage, (_, outputs) in STAGE_TABLES.items():
        for day in days:
            counts: dict[str, int] = defaultdict(int)
            for table in outputs:
                for station, n in station_row_counts(db, table, day).items():
                    counts[station] += n
            known = set(
                db.query(
                    "SELECT station_id FROM airplay.station_day_status WHERE stage = ? AND status_date = ?",
                    [stage, day],
                )["station_id"].to_list()
            )
            missing = sorted(set(counts) - known)
            if stage == LEDGER_STAGE:  # the ledger's count is the plays it pays for, as the asset records it
                plays = station_row_counts(db, PLAYLOGS, day)
                counts = defaultdict(int, {station: plays.get(station, 0) for station in missing})
            outcomes = [StationDayOutcome(s, day, counts[s], "filled by the 0009 partition migration") for s in missing]
            written += record_outcomes(db, stage, outcomes, MIGRATED_RUN_ID, now or datetime.now(UTC))
    return written


def days_with_rows(db: Warehouse) -> list[date]:
    """Every UTC day some day × shard stage has output rows for."""
    days: set[date] = set()
    for _, outputs in STAGE_TABLES.values():
        for table in outputs:
            db.ensure(table)
            column = DAY_COLUMNS[table.qualified_name]
            found = db.query(f"SELECT DISTINCT {column} AS day FROM {table.qualified_name} WHERE {column} IS NOT NULL")
            days |= set(found["day"].to_list()) if found.height else set()
    return sorted(days)
