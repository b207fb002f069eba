"""Metadata a person can read in the Dagster UI: counts, windows, small previews."""

from __future__ import annotations

from typing import Any

import polars as pl
from dagster import MetadataValue

PREVIEW_ROWS = 10


def preview(frame: pl.DataFrame, rows: int = PREVIEW_ROWS) -> MetadataValue:
    """A Markdown table of the first rows of `frame`."""
    head = frame.head(rows)
    if head.is_empty():
        return MetadataValue.md("_no rows_")
    cols = head.columns
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in head.iter_rows()]
    return MetadataValue.md("\n".join(lines))


def table_metadata(frame: pl.DataFrame, **extra: Any) -> dict[str, Any]:
    """Row count and a preview, plus anything else the asset wants to show."""
    return {"dagster/row_count": frame.height, "preview": preview(frame), **extra}
