"""One quarantine table for every asset: bad input is kept, named and explained, never silently dropped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from integrations.warehouse import Column, Warehouse, table

QUARANTINE = table(
    "quarantine",
    "rejected_rows",
    Column("asset", "text", "Asset that rejected the input, e.g. catalog/tracks."),
    Column("partition_key", "text", "Partition being materialized, or '' for unpartitioned assets."),
    Column("source_file", "text", "File the bad input came from."),
    Column("row_number", "bigint", "Line number in the file (header is line 1); null for whole-file problems."),
    Column("field", "text", "Offending field, or '' when the whole row or file is bad."),
    Column("value", "text", "The offending value as read."),
    Column("reason", "text", "Why it was rejected, in words a person can act on."),
    Column("recorded_at", "timestamp", "When the rejection was recorded (UTC)."),
    description="Rows and files rejected by validation, one row per problem.",
)


@dataclass(frozen=True)
class Reject:
    """A problem with one field of one row of one file (row None: the whole file)."""

    source_file: str
    row_number: int | None
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.source_file}" + (f", row {self.row_number}" if self.row_number is not None else "")
        what = f", field {self.field!r} = {self.value!r}" if self.field else ""
        return f"{where}{what}: {self.reason}"


def record_rejects(
    warehouse: Warehouse, asset: str, partition_key: str, rejects: list[Reject],
    log: Callable[[str], object] | None = None,
) -> int:
    """Replace this asset partition's rejects with `rejects` (so a re-run does not pile them up), logging each."""
    for reject in rejects if log else []:
        log(f"{asset} rejected: {reject}")
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [{**asdict(r), "asset": asset, "partition_key": partition_key, "recorded_at": now} for r in rejects]
    frame = QUARANTINE.from_rows(rows)
    return warehouse.replace(QUARANTINE, frame, "asset = ? AND partition_key = ?", [asset, partition_key])
