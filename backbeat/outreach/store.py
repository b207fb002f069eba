"""Small writes shared by the outreach core: one row (optionally ignoring a key conflict) and an activity event."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from backbeat.outreach.tables import ACTIVITY
from integrations.warehouse import Table, WarehouseConnection


def insert_row(
    conn: WarehouseConnection, table: Table, row: Mapping[str, Any], *, ignore_conflict: bool = False
) -> None:
    """INSERT one row of `table` (columns absent from `row` are null); `ignore_conflict`: a duplicate key is a
    no-op (`ON CONFLICT DO NOTHING`, on DuckDB and PostgreSQL alike)."""
    unknown = set(row) - set(table.column_names)
    if unknown:
        raise ValueError(f"{table.qualified_name} has no columns {sorted(unknown)}")
    cols = [c for c in table.column_names if c in row]
    sql = f"INSERT INTO {table.qualified_name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})" + (
        " ON CONFLICT DO NOTHING" if ignore_conflict else ""
    )
    conn.execute(sql, [row[c] for c in cols])


def log_activity(
    conn: WarehouseConnection,
    *,
    org_id: str,
    actor: str,
    action: str,
    subject_type: str | None,
    subject_id: str | None,
    at: datetime,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one audit event to `outreach.activity` (never put a token or a message body in `detail`)."""
    insert_row(
        conn,
        ACTIVITY,
        {
            "event_id": uuid.uuid4().hex,
            "org_id": org_id,
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "detail": json.dumps(dict(detail or {}), sort_keys=True, default=str),
            "occurred_at": at,
        },
    )
