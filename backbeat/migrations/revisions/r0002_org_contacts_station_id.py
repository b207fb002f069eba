"""Revision 0002: `outreach.org_contacts.station_id`, the monitored station whose programmer the contact is."""

from __future__ import annotations

from integrations.warehouse import WarehouseConnection

REVISION = "0002"
DESCRIPTION = "outreach.org_contacts gains station_id (nullable text)"


def upgrade(conn: WarehouseConnection) -> str:
    """Add the nullable column; existing contacts keep their rows with station_id null."""
    conn.execute("ALTER TABLE outreach.org_contacts ADD COLUMN IF NOT EXISTS station_id VARCHAR")
    return "outreach.org_contacts.station_id added"
