"""`backbeat db upgrade` and `backbeat db status`: apply pending revisions, one transaction each."""

from __future__ import annotations

import time
from collections.abc import Callable

from backbeat.migrations.revisions import HEAD, REVISIONS
from backbeat.migrations.state import SchemaState, lock_schema, read_state, record, redacted
from integrations.warehouse import Warehouse


def schema_state(url: str) -> SchemaState:
    """The schema state of the warehouse at `url` (read without the schema gate)."""
    with Warehouse(url, check_schema=False).connect() as conn:
        return read_state(conn)


def upgrade(url: str, echo: Callable[[str], None] = print) -> list[str]:
    """Apply every pending revision to the warehouse at `url`, each in its own transaction, and return their ids.

    Idempotent: a second run (or a concurrent one, which waits on the lock) finds nothing pending. A revision
    that fails rolls back alone; the revisions before it stay applied and recorded.
    """
    warehouse = Warehouse(url, check_schema=False)
    state = schema_state(url)
    echo(f"warehouse {redacted(url)}: {state.describe()}")
    if state.recorded is not None and state.recorded > HEAD:
        raise RuntimeError(f"the warehouse is at revision {state.recorded}, newer than this code's {HEAD}")
    applied = []
    for revision in REVISIONS:
        if revision.id not in state.pending:
            continue
        started = time.perf_counter()
        with warehouse.connect() as conn:
            lock_schema(conn)
            if revision.id not in read_state(conn).pending:  # another upgrade ran it while we waited
                continue
            did = revision.upgrade(conn)
            record(conn, revision.id, revision.description, "applied")
        applied.append(revision.id)
        echo(f"  {revision.id} {revision.description}: {did} [{time.perf_counter() - started:.2f} s]")
    echo(f"at revision {HEAD} (head)" + ("" if applied else ": nothing to do"))
    return applied


def status_lines(url: str) -> list[str]:
    """What `backbeat db status` prints: the revision, the head, what was applied and what is pending."""
    state = schema_state(url)
    lines = [f"warehouse {redacted(url)}: {state.describe()}", f"code head: {HEAD}"]
    lines += [f"  {rev} {how} {at:%Y-%m-%d %H:%M:%S} UTC  {desc}" for rev, desc, how, at in state.history]
    pending = [r for r in REVISIONS if r.id in state.pending]
    if state.empty:
        lines.append("the first run stamps it at head; `backbeat db upgrade` creates every table now")
    elif pending:
        lines.append("pending (run `backbeat db upgrade`):")
        lines += [f"  {r.id} {r.description}" for r in pending]
    else:
        lines.append("up to date")
    return lines
