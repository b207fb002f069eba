"""Refuse to export from a warehouse that lacks a relation the export is built from.

A dbt mart is a table: it keeps its rows after a view it was built from is dropped (dbt-postgres replaces a
relation with `drop ... cascade`), so reading the marts alone would publish stale figures as a success.
"""

from __future__ import annotations

from collections.abc import Iterable

from integrations.warehouse import Warehouse


class MissingRelationError(RuntimeError):
    """Relations an export reads (or is built from) are missing from the warehouse."""


def missing_relations(db: Warehouse, schema: str, names: Iterable[str]) -> list[str]:
    """Which of the tables or views `schema.<name>` do not exist (sorted, qualified)."""
    present = set(
        db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema])[
            "table_name"
        ].to_list()
    )
    return sorted(f"{schema}.{name}" for name in set(names) if name not in present)


def require_relations(db: Warehouse, schema: str, names: Iterable[str], hint: str) -> None:
    """Raise `MissingRelationError` naming every missing relation, with `hint` saying how to rebuild them."""
    missing = missing_relations(db, schema, names)
    if missing:
        raise MissingRelationError(f"missing in the warehouse: {', '.join(missing)}; {hint}")
