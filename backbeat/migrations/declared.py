"""Every warehouse table the code declares: the module-level `Table`s of the domain table modules.

`backbeat.registry.SOURCE_TABLES` lists the tables dbt and the dbt step need, not all of them (outreach's
engine and prospecting tables are ensured by their own code), so the migrations read the modules themselves;
a test fails when a module declaring a table is missing here.
"""

from __future__ import annotations

import importlib

from integrations.warehouse import Table

TABLE_MODULES = (
    "backbeat.catalog.tables",
    "backbeat.airplay.tables",
    "backbeat.rights.tables",
    "backbeat.royalties.tables",
    "backbeat.curation.tables",
    "backbeat.outreach.tables",
    "backbeat.outreach.prospecting_tables",
    "backbeat.common.quarantine",
    "backbeat.common.reference",
    "backbeat.alerts.tables",
)


def declared_tables() -> list[Table]:
    """The declared tables, each once, a referenced table before the tables referencing it."""
    found: dict[str, Table] = {}

    def add(t: Table) -> None:
        for fk in t.foreign_keys:
            add(fk.references)
        if found.setdefault(t.qualified_name, t) != t:
            raise ValueError(f"{t.qualified_name} is declared twice, differently")

    for name in TABLE_MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, Table):
                add(value)
    return list(found.values())
