"""Incremental writes the catalog's ingestion assets need: upsert by primary key, and quarantine rows appended.

The ingestion assets drain a queue a batch per run, so unlike whole-table assets they must neither replace
what earlier runs wrote nor add a second copy of a row: they upsert. Their quarantine rows accumulate over
runs too (each run sees different albums), so new rejects are appended once instead of replacing the asset's.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime

import polars as pl

from backbeat.common.quarantine import QUARANTINE, Reject, log_reject_summary
from integrations.warehouse import Table, Warehouse, WarehouseConnection

_KEYS_PER_DELETE = 1000


def _chunks(values: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def upsert(conn: WarehouseConnection, table: Table, frame: pl.DataFrame) -> int:
    """Replace the rows of `table` whose primary key is in `frame`, then insert `frame` (in the caller's
    transaction). Rows of `frame` repeating a key keep the first."""
    if not table.primary_key:
        raise ValueError(f"{table.qualified_name} has no primary key to upsert by")
    conn.ensure(table)
    frame = table.conform(frame).unique(list(table.primary_key), keep="first", maintain_order=True)
    if frame.is_empty():
        return 0
    *prefix, last = table.primary_key
    groups = frame.group_by(prefix, maintain_order=True) if prefix else [((), frame)]
    for group_key, group in groups:
        values = group[last].unique(maintain_order=True).to_list()
        for chunk in _chunks(values, _KEYS_PER_DELETE):
            where = [f"{c} = ?" for c in prefix] + [f"{last} IN ({', '.join('?' * len(chunk))})"]
            conn.execute(f"DELETE FROM {table.qualified_name} WHERE {' AND '.join(where)}", [*group_key, *chunk])
    return conn.insert(table, frame)


def append_rejects(
    db: Warehouse, asset: str, rejects: Sequence[Reject], log: Callable[[str], object] | None = None
) -> int:
    """Add the rejects the asset has not recorded before (unpartitioned), leaving its earlier ones; returns how
    many were new. Used by assets that see different input each run, where `record_rejects` would forget."""
    if not rejects:
        return 0
    with db.connect() as conn:
        conn.ensure(QUARANTINE)
        seen = conn.query(
            "SELECT source_file, row_number, field, value, reason FROM quarantine.rejected_rows "
            "WHERE asset = ? AND partition_key = ?",
            [asset, ""],
        )
        known = {Reject(*row) for row in seen.iter_rows()}
        new = list(dict.fromkeys(r for r in rejects if r not in known))
        now = datetime.now(UTC).replace(tzinfo=None)
        conn.insert(
            QUARANTINE,
            QUARANTINE.from_rows([{**asdict(r), "asset": asset, "partition_key": "", "recorded_at": now} for r in new]),
        )
    if log:
        log_reject_summary(asset, new, log)
    return len(new)
