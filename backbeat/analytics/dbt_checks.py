"""Plain-language descriptions of dbt data tests, shown on the Dagster asset checks they become."""

import re
from collections.abc import Mapping
from typing import Any

_REF = re.compile(r"""ref\(\s*['"]([^'"]+)['"]\s*\)""")
_SOURCE = re.compile(r"""source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)""")


def _relation(text: str) -> str:
    """`ref('dim_tracks')` -> dim_tracks, `source('airplay', 'playlogs')` -> airplay.playlogs."""
    if found := _REF.search(text):
        return found.group(1)
    if found := _SOURCE.search(text):
        return f"{found.group(1)}.{found.group(2)}"
    return text


def _columns(names: Any) -> str:
    return ", ".join(str(n) for n in names) if isinstance(names, list | tuple) else str(names)


def _generic(name: str, kwargs: Mapping[str, Any], column: str | None, model: str) -> str:
    """A sentence for a generic test from its name and arguments (dbt's built-ins and tests/generic/)."""
    col = f"`{column}` of `{model}`"
    if name == "not_null":
        return f"{col} is never null."
    if name == "unique":
        return f"{col} is unique: no value occurs twice."
    if name == "accepted_values":
        return f"{col} only takes the values {_columns(kwargs.get('values', []))} (or null)."
    if name == "relationships":
        return f"Every non-null {col} exists as `{kwargs.get('field')}` in `{_relation(str(kwargs.get('to', '')))}`."
    if name == "unique_combination":
        return f"No two rows of `{model}` share the same ({_columns(kwargs.get('columns', []))})."
    if name == "sums_to_zero":
        return f"{col} sums to 0 for each ({_columns(kwargs.get('group_by', []))})."
    if name == "sums_to":
        return f"{col} sums to {kwargs.get('value')} for each ({_columns(kwargs.get('group_by', []))})."
    if name == "equals_sum_of":
        return f"On every row {col} equals {' + '.join(str(c) for c in kwargs.get('columns', []))}."
    target = col if column else f"`{model}`"
    return f"dbt test `{name}` on {target}: fails for every row its query returns."


def describe_dbt_test(test: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    """What a dbt test asserts, as a sentence: its yml description when it has one, else one built from the
    generic test and its arguments; a warn-severity test says it does not block."""
    text = (test.get("description") or "").strip() or (test.get("meta") or {}).get("description") or ""
    if not text:
        metadata = test.get("test_metadata") or {}
        attached = manifest.get("nodes", {}).get(test.get("attached_node") or "", {})
        model = attached.get("name") or _relation(str((metadata.get("kwargs") or {}).get("model", "")))
        if metadata.get("name"):
            text = _generic(metadata["name"], metadata.get("kwargs") or {}, test.get("column_name"), model)
        else:
            text = f"Singular dbt test `{test['name']}`: fails for every row its query returns."
    if str((test.get("config") or {}).get("severity", "error")).lower() == "warn":
        text += " Severity warn: a failure is reported but does not block downstream assets."
    return text
