# ruff: noqa: E501  (frozen SQL, as declared when the revision was written)
"""Revision 0010: airplay.playlogs.aired_start_utc: when the song began on air, as its fingerprints place it.

Frozen: drafted by `backbeat.migrations.draft` from the declarations of the day, never regenerated.
"""

from __future__ import annotations

from backbeat.migrations.frozen import FrozenTable, complete_tables
from integrations.warehouse import WarehouseConnection

REVISION = "0010"
DESCRIPTION = "airplay.playlogs.aired_start_utc: when the song began on air, as its fingerprints place it"
ALTERS: tuple[str, ...] = ("ALTER TABLE airplay.playlogs ADD COLUMN IF NOT EXISTS aired_start_utc TIMESTAMP",)


def upgrade(conn: WarehouseConnection) -> str:
    """Create the new tables, add the new nullable columns; say what was done."""
    done = [f"{name} {what or 'present'}" for name, what in complete_tables(conn, TABLES).items()]
    for sql in ALTERS:
        conn.execute(sql)
        done.append(sql.removeprefix("ALTER TABLE ").replace(" ADD COLUMN IF NOT EXISTS ", " + "))
    return "; ".join(done)


TABLES: tuple[FrozenTable, ...] = ()
