"""The schema revisions, oldest first. A revision is a module with `REVISION` ("0001", "0002", …),
`DESCRIPTION` and `upgrade(conn) -> str` (runs in the transaction the runner opens, returns what it did).

To change the schema: change the declaration in `backbeat/<domain>/tables.py`, add the next module here with
the DDL that turns the previous revision into the new declaration, and list it below. The test
`tests/migrations/test_migrations.py` fails until both agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from backbeat.migrations.revisions import (
    r0001_release_d6a27fb,
    r0002_org_contacts_station_id,
    r0003_royalties_periods,
    r0004_capture_sessions,
    r0005_alerts,
    r0006_royalties_contract_terms,
    r0007_dispute_evidence,
    r0008_fx_conversion,
    r0009_station_day_status,
    r0010_playlogs_aired_start,
)
from integrations.warehouse import WarehouseConnection


@dataclass(frozen=True)
class Revision:
    """One step of the schema's history."""

    id: str
    description: str
    upgrade: Callable[[WarehouseConnection], str]


def _revision(module: ModuleType) -> Revision:
    return Revision(module.REVISION, module.DESCRIPTION, module.upgrade)


REVISIONS: tuple[Revision, ...] = tuple(
    _revision(m)
    for m in (
        r0001_release_d6a27fb,
        r0002_org_contacts_station_id,
        r0003_royalties_periods,
        r0004_capture_sessions,
        r0005_alerts,
        r0006_royalties_contract_terms,
        r0007_dispute_evidence,
        r0008_fx_conversion,
        r0009_station_day_status,
        r0010_playlogs_aired_start,
    )
)
HEAD = REVISIONS[-1].id
RELEASE_TABLES = tuple(t.qualified_name for t in r0001_release_d6a27fb.TABLES)
"""The tables of the last unversioned release: one of them without a version table means revision 0001."""

if [r.id for r in REVISIONS] != [f"{n:04d}" for n in range(1, len(REVISIONS) + 1)]:
    raise RuntimeError(f"revisions must be numbered 0001, 0002, … in order: {[r.id for r in REVISIONS]}")
