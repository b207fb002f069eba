"""Data minimisation for outreach: message bodies only under a retention policy, export and purge of an org.

**Bodies.** Outreach stores metadata and normalised signals (subject, template version, the body's sha256,
outcomes); a body is kept only when the organisation's `body_retention_days` (`outreach.organisations`) is set
and above zero. Bodies live in the warehouse table `outreach.message_bodies` (declared by the send engine's
`tables.py`, so they are exported and purged with everything else, on both engines) with an `expires_at`;
`keep_body` refuses to store one the policy does not allow and `expire_bodies` (the retention job) deletes
bodies past their `expires_at`, or older than a policy that was since shortened, or of an organisation whose
policy no longer allows bodies.

**Export.** `export_organisation` writes every outreach table's rows of one organisation to Parquet, one file
per table, plus `manifest.json` (rows, columns and sha256 of each file), all read in one snapshot. The shared
`outreach.contacts` table (the CSV import, not per organisation) is left out; the organisation's own register of
people is `org_contacts`.

**Purge.** `purge_organisation` deletes every outreach row of the organisation in one transaction, with one
exception: its suppressions stay, each address or domain replaced by `address_hash` (sha256 of the value salted
with the org id), so a purged person is still never emailed again while their address is gone; `is_suppressed`
matches those hashes. The append-only tables' PostgreSQL triggers are disabled for the purge's own statements
inside its transaction (erasure is the one sanctioned exception) and enabled again before it commits. The audit
rows of the organisation go too (they name prospects and mailboxes); one `purge` activity row, without personal
data, records that it happened (earlier purge rows stay). On DuckDB (no triggers) the same statements run.
Given the token store, the purge also deletes the encrypted OAuth tokens of the organisation's mailboxes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from backbeat.outreach.clock import utcnow as _now
from backbeat.outreach.ids import suppression_id
from backbeat.outreach.store import insert_row
from backbeat.outreach.suppression import HASH_PREFIX, address_hash, record_activity
from backbeat.outreach.tables import (
    ACTIVITY,
    MAILBOXES,
    MESSAGE_BODIES,
    ORGANISATIONS,
    OUTREACH_TABLES,
    SUPPRESSIONS,
)
from integrations.resilience.secrets import TokenStore
from integrations.warehouse import Table, Warehouse

DIRECTIONS = ("outbound", "inbound")
MANIFEST = "manifest.json"


def org_tables() -> tuple[Table, ...]:
    """The outreach tables holding rows per organisation (every one with an `org_id` column)."""
    return tuple(t for t in OUTREACH_TABLES if "org_id" in t.column_names)


# ---- Bodies -------------------------------------------------------------------------------------------


def retention_days(db: Any, org_id: str) -> int | None:
    """The organisation's body retention in days, or None when bodies must not be stored (null, 0, no org)."""
    days = db.query(f"SELECT body_retention_days FROM {ORGANISATIONS.qualified_name} WHERE org_id = ?", [org_id])
    value = days.item(0, 0) if days.height else None
    return int(value) if value else None


def keep_body_in(
    conn: Any, org_id: str, message_id: str, direction: str, body: str, *, now: datetime | None = None
) -> datetime | None:
    """Store `body` in the open transaction `conn` if the org's policy allows; its expiry, or None if not kept.

    Storing the same message again keeps the first copy and its expiry.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    days = retention_days(conn, org_id)
    if days is None:
        return None
    stored = now or _now()
    expires = stored + timedelta(days=days)
    insert_row(
        conn,
        MESSAGE_BODIES,
        {
            "org_id": org_id,
            "message_id": message_id,
            "direction": direction,
            "body": body,
            "stored_at": stored,
            "expires_at": expires,
        },
        ignore_conflict=True,
    )
    return expires


def keep_body(
    warehouse: Warehouse, org_id: str, message_id: str, direction: str, body: str, *, now: datetime | None = None
) -> datetime | None:
    """`keep_body_in` in its own transaction."""
    with warehouse.connect() as conn:
        conn.ensure(ORGANISATIONS)
        conn.ensure(MESSAGE_BODIES)
        return keep_body_in(conn, org_id, message_id, direction, body, now=now)


def read_body(db: Any, org_id: str, message_id: str, direction: str, *, now: datetime | None = None) -> str | None:
    """The stored body, or None (never stored, or past its expiry even if the job has not run yet)."""
    rows = db.query(
        f"SELECT body FROM {MESSAGE_BODIES.qualified_name} "
        "WHERE org_id = ? AND message_id = ? AND direction = ? AND expires_at > ?",
        [org_id, message_id, direction, now or _now()],
    )
    return rows.item(0, 0) if rows.height else None


def expire_bodies(warehouse: Warehouse, *, now: datetime | None = None, actor: str = "retention") -> dict[str, int]:
    """The retention job: delete the bodies no policy keeps any more; bodies deleted per organisation.

    A body goes when its `expires_at` has passed, when it is older than its organisation's current policy (the
    policy was shortened), or when the organisation no longer allows bodies (policy null or 0, or no such
    organisation). Each organisation with deletions gets one `expire_bodies` activity row.
    """
    moment = now or _now()
    deleted: dict[str, int] = {}
    with warehouse.connect() as conn:
        for t in (ORGANISATIONS, MESSAGE_BODIES, ACTIVITY):
            conn.ensure(t)
        orgs = conn.query(f"SELECT DISTINCT org_id FROM {MESSAGE_BODIES.qualified_name}")["org_id"].to_list()
        for org_id in orgs:
            days = retention_days(conn, org_id)
            if days is None:
                where, params = "org_id = ?", [org_id]
            else:
                cutoff = moment - timedelta(days=days)
                where = "org_id = ? AND (expires_at <= ? OR stored_at IS NULL OR stored_at <= ?)"
                params = [org_id, moment, cutoff]
            count = conn.scalar(f"SELECT count(*) FROM {MESSAGE_BODIES.qualified_name} WHERE {where}", params)
            if not count:
                continue
            conn.execute(f"DELETE FROM {MESSAGE_BODIES.qualified_name} WHERE {where}", params)
            deleted[org_id] = int(count)
            record_activity(
                conn,
                org_id,
                actor=actor,
                action="expire_bodies",
                subject_type="organisation",
                subject_id=org_id,
                detail={"deleted": int(count), "retention_days": days},
                at=moment,
            )
    return deleted


# ---- Export -------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_org_rows(conn: Any, tables: Sequence[Table], org_id: str) -> dict[str, pl.DataFrame]:
    frames = {}
    for t in tables:
        conn.ensure(t)
        frames[t.name] = conn.query(
            f"SELECT {', '.join(t.column_names)} FROM {t.qualified_name} WHERE org_id = ? "
            f"ORDER BY {', '.join(t.primary_key or t.column_names[:1])}",
            [org_id],
            t.polars_schema,
        )
    return frames


def export_organisation(
    warehouse: Warehouse, org_id: str, out_dir: str | Path, *, actor: str = "system", now: datetime | None = None
) -> Path:
    """Write every outreach row of `org_id` to `out_dir` (`<table>.parquet` + `manifest.json`); the manifest.

    All tables are read in one snapshot (REPEATABLE READ on PostgreSQL; DuckDB transactions are snapshots).
    The directory is created private (0700); an existing export there is never overwritten (FileExistsError).
    The manifest is written last, so its presence means the export is complete. An `export` activity row
    records it.
    """
    out = Path(out_dir)
    if (out / MANIFEST).exists():
        raise FileExistsError(f"{out / MANIFEST} exists: export into an empty directory")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    moment = now or _now()
    tables = org_tables()
    with warehouse.connect() as conn:
        if conn.kind == "postgres":
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        frames = _read_org_rows(conn, tables, org_id)
    entries = []
    for t in tables:
        path = out / f"{t.name}.parquet"
        frames[t.name].write_parquet(path)
        os.chmod(path, 0o600)
        entries.append(
            {
                "table": t.qualified_name,
                "file": path.name,
                "rows": frames[t.name].height,
                "sha256": _sha256(path),
                "columns": [{"name": c.name, "type": c.type, "description": c.description} for c in t.columns],
            }
        )
    manifest = {
        "org_id": org_id,
        "exported_at": moment.isoformat(),
        "format": "parquet",
        "tables": entries,
        "not_included": {
            "outreach.contacts": "shared CSV import, not per organisation; the organisation's contacts are in "
            "org_contacts"
        },
    }
    manifest_path = out / MANIFEST
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(manifest_path)
    with warehouse.connect() as conn:
        conn.ensure(ACTIVITY)
        record_activity(
            conn,
            org_id,
            actor=actor,
            action="export",
            subject_type="organisation",
            subject_id=org_id,
            detail={"rows": {e["table"]: e["rows"] for e in entries}, "manifest_sha256": _sha256(manifest_path)},
            at=moment,
        )
    return manifest_path


# ---- Purge --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeReport:
    """Rows deleted per table, the suppressions kept (as hashes) so the people stay unmailed, and the mailboxes'
    OAuth token files deleted."""

    org_id: str
    deleted: dict[str, int] = field(default_factory=dict)
    suppressions_kept: int = 0
    tokens_deleted: tuple[str, ...] = ()


def _hashed_suppressions(org_id: str, rows: pl.DataFrame) -> list[dict[str, Any]]:
    kept = []
    for row in rows.iter_rows(named=True):
        value = address_hash(org_id, row["value"])
        kept.append(
            {
                "suppression_id": suppression_id(org_id, row["kind"], value, row["reason"], row["source"] or ""),
                "org_id": org_id,
                "kind": row["kind"],
                "value": value,
                "reason": row["reason"],
                "source": row["source"],
                "campaign_id": None,
                "actor": row["actor"],
                "created_at": row["created_at"],
            }
        )
    return kept


_KEEP = {
    SUPPRESSIONS.name: f" AND value NOT LIKE '{HASH_PREFIX}%'",
    ACTIVITY.name: " AND action <> 'purge'",
}


def purge_organisation(
    warehouse: Warehouse,
    org_id: str,
    *,
    actor: str,
    tokens: TokenStore | None = None,
    now: datetime | None = None,
) -> PurgeReport:
    """Delete every outreach row of `org_id`, keeping its suppressions as hashes; one transaction.

    `actor` is who asked (e.g. `cli:ann`). Returns the rows deleted per table (suppressions count the clear
    rows replaced by hashes) and the number of hashed suppressions the organisation keeps. Bodies go with
    `outreach.message_bodies`. With `tokens`, the encrypted OAuth token files its mailboxes name are deleted
    too, once the transaction has committed. Export first (`export_organisation`) if the data must be handed
    over.
    """
    moment = now or _now()
    deleted: dict[str, int] = {}
    with warehouse.connect() as conn:
        tables = org_tables()
        for t in tables:
            conn.ensure(t)
        token_names = [
            name
            for name in conn.query(
                f"SELECT token_name FROM {MAILBOXES.qualified_name} WHERE org_id = ? ORDER BY mailbox_id", [org_id]
            )["token_name"].to_list()
            if name
        ]
        clear = conn.query(
            f"SELECT kind, value, reason, source, actor, created_at FROM {SUPPRESSIONS.qualified_name} "
            f"WHERE org_id = ? AND value NOT LIKE '{HASH_PREFIX}%'",
            [org_id],
        )
        for t in reversed(tables):
            # Kept: suppressions already hashed by an earlier purge, and earlier purges' own audit rows.
            where = "org_id = ?" + _KEEP.get(t.name, "")
            count = int(conn.scalar(f"SELECT count(*) FROM {t.qualified_name} WHERE {where}", [org_id]) or 0)
            if not count:
                continue
            trigger = f"{t.name}_append_only"
            if t.append_only and conn.kind == "postgres":
                conn.execute(f"ALTER TABLE {t.qualified_name} DISABLE TRIGGER {trigger}")
            conn.execute(f"DELETE FROM {t.qualified_name} WHERE {where}", [org_id])
            if t.append_only and conn.kind == "postgres":
                conn.execute(f"ALTER TABLE {t.qualified_name} ENABLE TRIGGER {trigger}")
            deleted[t.qualified_name] = count
        for row in _hashed_suppressions(org_id, clear):
            insert_row(conn, SUPPRESSIONS, row, ignore_conflict=True)
        kept = int(conn.scalar(f"SELECT count(*) FROM {SUPPRESSIONS.qualified_name} WHERE org_id = ?", [org_id]) or 0)
        record_activity(
            conn,
            org_id,
            actor=actor,
            action="purge",
            subject_type="organisation",
            subject_id=org_id,
            detail={
                "deleted": deleted,
                "suppressions_kept_hashed": kept,
                "tokens_deleted": len(token_names) if tokens else 0,
            },
            at=moment,
        )
    if tokens is not None:
        for name in token_names:
            tokens.delete(name)
    return PurgeReport(org_id, deleted, kept, tuple(token_names) if tokens is not None else ())
