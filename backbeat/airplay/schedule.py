"""Programme schedules: weekly windows in a station's local time, and which programme a play belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl

from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60


class DaysError(f.FieldError):
    pass


def weekdays(value: str) -> tuple[int, ...]:
    """`mon-fri`, `sat,sun`, `mon-sun` or `tue` as weekday numbers (Monday = 0)."""
    days: list[int] = []
    for part in value.strip().lower().split(","):
        ends = part.strip().split("-")
        if not all(e in WEEKDAYS for e in ends) or len(ends) > 2:
            raise DaysError("must be days like mon-fri or sat,sun")
        first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        days.extend(range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)])
    return tuple(sorted(set(days)))


def minute_of_day(value: str) -> int:
    """`HH:MM` (24:00 allowed as an end) as minutes after local midnight."""
    try:
        hours, minutes = (int(x) for x in value.strip().split(":"))
    except ValueError:
        raise f.FieldError("must be a time HH:MM") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > MINUTES_PER_DAY:
        raise f.FieldError("must be a time between 00:00 and 24:00")
    return hours * 60 + minutes


PROGRAM_FIELDS = {
    "station_id": f.text,
    "program_id": f.text,
    "name": f.text,
    "days": weekdays,
    "start_local": minute_of_day,
    "end_local": minute_of_day,
}


def expand_windows(rows: list[dict]) -> tuple[list[dict], list[Reject]]:
    """One window per weekday, split at local midnight; a window overlapping an earlier one is rejected."""
    windows: list[dict] = []
    rejects: list[Reject] = []
    for row in rows:
        start, end = row["start_local"], row["end_local"]
        if start == end:
            rejects.append(Reject(row["_source_file"], row["_row"], "end_local", str(end), "window is empty"))
            continue
        pieces = []
        for day in row["days"]:
            if start < end:
                pieces.append((day, start, end))
            else:  # crosses local midnight: the tail belongs to the next weekday
                pieces += [(day, start, MINUTES_PER_DAY), ((day + 1) % 7, 0, end)]
        clash = next(
            (
                w
                for w in windows
                for d, s, e in pieces
                if w["station_id"] == row["station_id"]
                and w["weekday"] == d
                and s < w["end_minute"]
                and w["start_minute"] < e
            ),
            None,
        )
        if clash:
            rejects.append(
                Reject(
                    row["_source_file"],
                    row["_row"],
                    "start_local",
                    row["program_id"],
                    f"overlaps {clash['program_id']} on {WEEKDAYS[clash['weekday']]}",
                )
            )
            continue
        windows += [
            {
                "station_id": row["station_id"],
                "program_id": row["program_id"],
                "name": row["name"],
                "weekday": d,
                "start_minute": s,
                "end_minute": e,
            }
            for d, s, e in pieces
        ]
    return windows, rejects


@dataclass(frozen=True)
class Attribution:
    program_id: str | None
    program_name: str | None
    source: str  # override, schedule or unscheduled
    changed_by: str | None = None
    changed_at: datetime | None = None


def attribute(
    station_id: str,
    start_utc: datetime,
    end_utc: datetime,
    timezone: str,
    windows: pl.DataFrame,
    overrides: pl.DataFrame,
) -> Attribution:
    """The programme a play belongs to, judged at its midpoint: a manual override first (the latest change
    wins), else the station's weekly window in its local time, else unscheduled."""
    middle = start_utc + (end_utc - start_utc) / 2
    hits = overrides.filter(
        (pl.col("station_id") == station_id) & (pl.col("start_utc") <= middle) & (pl.col("end_utc") > middle)
    ).sort("changed_at", descending=True)
    if hits.height:
        row = hits.row(0, named=True)
        names = windows.filter(pl.col("program_id") == row["program_id"])["name"]
        return Attribution(
            row["program_id"],
            names[0] if names.len() else row["program_id"],
            "override",
            row["changed_by"],
            row["changed_at"],
        )
    local = middle.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone))
    minute = local.hour * 60 + local.minute
    found = windows.filter(
        (pl.col("station_id") == station_id)
        & (pl.col("weekday") == local.weekday())
        & (pl.col("start_minute") <= minute)
        & (pl.col("end_minute") > minute)
    )
    if found.height:
        row = found.row(0, named=True)
        return Attribution(row["program_id"], row["name"], "schedule")
    return Attribution(None, None, "unscheduled")
