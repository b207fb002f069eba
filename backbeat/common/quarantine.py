"""One quarantine table for every asset: bad input is kept, named and explained, never silently dropped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
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


LOGGED_EXAMPLES = 5


def summarise_rejects(asset: str, rejects: Sequence[Reject], examples: int = LOGGED_EXAMPLES) -> list[str]:
    """A few log lines for many rejects: the count by file and reason, then the first `examples` of them.

    A junk file of ten thousand rows is one problem for a person, not ten thousand warnings.
    """
    if not rejects:
        return []
    if len(rejects) <= examples:
        return [f"{asset} rejected: {reject}" for reject in rejects]
    files = Counter(r.source_file for r in rejects)
    reasons = Counter(r.reason for r in rejects)
    top = "; ".join(f"{count:,} x {reason}" for reason, count in reasons.most_common(3))
    lines = [
        f"{asset} rejected {len(rejects):,} rows or fields in {len(files):,} file(s) "
        f"(every one is in {QUARANTINE.qualified_name}): {top}"
    ]
    lines += [
        f"{asset} rejected (example {n} of {len(rejects):,}): {reject}"
        for n, reject in enumerate(rejects[:examples], start=1)
    ]
    return lines


def log_reject_summary(asset: str, rejects: Sequence[Reject], log: Callable[[str], object]) -> None:
    """Log `summarise_rejects` line by line."""
    for line in summarise_rejects(asset, rejects):
        log(line)


def record_rejects(
    warehouse: Warehouse,
    asset: str,
    partition_key: str,
    rejects: list[Reject],
    log: Callable[[str], object] | None = None,
) -> int:
    """Replace this asset partition's rejects with `rejects` (so a re-run does not pile them up), logging a
    summary: the table keeps every reject, the log keeps a few examples."""
    if log:
        log_reject_summary(asset, rejects, log)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [{**asdict(r), "asset": asset, "partition_key": partition_key, "recorded_at": now} for r in rejects]
    frame = QUARANTINE.from_rows(rows)
    return warehouse.replace(QUARANTINE, frame, "asset = ? AND partition_key = ?", [asset, partition_key])
