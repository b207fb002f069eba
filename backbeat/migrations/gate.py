"""The check that stops a process whose code is newer (or older) than the warehouse schema.

Installed into the warehouse client (`install_schema_gate`), it runs once per process and warehouse URL, before
the first transaction: at head it lets everything through; an empty warehouse is stamped at head (the code is
about to create it from declarations that equal head); anything else raises `SchemaVersionError` naming
`backbeat db upgrade`, so a run fails at its first warehouse access instead of writing to an old schema.
"""

from __future__ import annotations

from backbeat.migrations.revisions import HEAD
from backbeat.migrations.state import lock_schema, read_state, redacted, stamp_head
from integrations.warehouse import WarehouseConnection
from integrations.warehouse.client import set_schema_gate


class SchemaVersionError(RuntimeError):
    """The warehouse schema is not at the revision this code declares."""


def check_schema(conn: WarehouseConnection, url: str) -> None:
    """Pass at head, stamp an empty warehouse at head, raise otherwise (in the client's gate transaction)."""
    state = read_state(conn)
    if state.recorded == HEAD:
        return
    if state.empty:
        lock_schema(conn)
        state = read_state(conn)  # another process may have stamped or created it while we waited
        if state.empty:
            stamp_head(conn)
            return
        if state.recorded == HEAD:
            return
    where = redacted(url)
    if state.recorded is not None and state.recorded > HEAD:
        raise SchemaVersionError(
            f"the warehouse {where} is at schema revision {state.recorded}, newer than this Backbeat ({HEAD}): "
            "run the Backbeat release that upgraded it"
        )
    raise SchemaVersionError(
        f"the warehouse {where} is at schema {state.describe()}; this Backbeat needs revision {HEAD}. "
        "Run `backbeat db upgrade` (same BACKBEAT_WAREHOUSE_URL; `backbeat db status` lists what it applies), "
        "then start again."
    )


def install_schema_gate() -> None:
    """Make every `Warehouse` of this process check the schema revision before its first transaction."""
    set_schema_gate(check_schema)
