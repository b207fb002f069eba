from datetime import datetime

import polars as pl
import pytest

from backbeat.airplay.schedule import attribute, expand_windows, minute_of_day, weekdays
from backbeat.common.csvfiles import FieldError

OVERRIDE_SCHEMA = {
    "station_id": pl.Utf8,
    "start_utc": pl.Datetime("us"),
    "end_utc": pl.Datetime("us"),
    "program_id": pl.Utf8,
    "changed_by": pl.Utf8,
    "changed_at": pl.Datetime("us"),
}


def window_rows(*specs):
    return [
        {
            "station_id": "s",
            "program_id": pid,
            "name": pid.title(),
            "days": weekdays(days),
            "start_local": minute_of_day(start),
            "end_local": minute_of_day(end),
            "_source_file": "programs.csv",
            "_row": i + 2,
        }
        for i, (pid, days, start, end) in enumerate(specs)
    ]


def test_weekday_and_time_parsing():
    assert weekdays("mon-fri") == (0, 1, 2, 3, 4)
    assert weekdays("sat,sun") == (5, 6)
    assert weekdays("fri-mon") == (0, 4, 5, 6)
    assert minute_of_day("24:00") == 1440
    with pytest.raises(FieldError):
        weekdays("weekdays")
    with pytest.raises(FieldError):
        minute_of_day("25:00")


def test_windows_crossing_midnight_split_and_overlaps_are_rejected():
    windows, rejects = expand_windows(
        window_rows(
            ("night", "sun", "22:00", "06:00"),
            ("breakfast", "mon", "06:00", "10:00"),
            ("clash", "mon", "05:00", "07:00"),
        )
    )
    assert {(w["program_id"], w["weekday"], w["start_minute"], w["end_minute"]) for w in windows} == {
        ("night", 6, 1320, 1440),
        ("night", 0, 0, 360),
        ("breakfast", 0, 360, 600),
    }
    assert [(r.row_number, r.reason) for r in rejects] == [(4, "overlaps night on mon")]


def test_attribution_uses_local_time_with_daylight_saving_and_overrides_win():
    windows = pl.DataFrame(
        expand_windows(
            window_rows(("breakfast", "mon-fri", "06:00", "10:00"), ("daytime", "mon-fri", "10:00", "16:00"))
        )[0]
    )
    no_overrides = pl.DataFrame(schema=OVERRIDE_SCHEMA)
    # 08:30 UTC is 10:30 in Amsterdam in summer (CEST) and 09:30 in winter (CET)
    summer = attribute(
        "s", datetime(2026, 6, 1, 8, 29), datetime(2026, 6, 1, 8, 31), "Europe/Amsterdam", windows, no_overrides
    )
    winter = attribute(
        "s", datetime(2026, 11, 2, 8, 29), datetime(2026, 11, 2, 8, 31), "Europe/Amsterdam", windows, no_overrides
    )
    assert (summer.program_id, winter.program_id) == ("daytime", "breakfast")
    assert (
        attribute(
            "s", datetime(2026, 11, 7, 8, 0), datetime(2026, 11, 7, 8, 3), "Europe/Amsterdam", windows, no_overrides
        ).source
        == "unscheduled"
    )  # a Saturday

    overrides = pl.DataFrame(
        {
            "station_id": ["s", "s"],
            "start_utc": [datetime(2026, 11, 2, 8), datetime(2026, 11, 2, 8)],
            "end_utc": [datetime(2026, 11, 2, 9), datetime(2026, 11, 2, 9)],
            "program_id": ["live", "special"],
            "changed_by": ["ana", "bo"],
            "changed_at": [datetime(2026, 11, 3, 9), datetime(2026, 11, 4, 9)],
        },
        schema=OVERRIDE_SCHEMA,
    )
    found = attribute(
        "s", datetime(2026, 11, 2, 8, 29), datetime(2026, 11, 2, 8, 31), "Europe/Amsterdam", windows, overrides
    )
    assert (found.program_id, found.source, found.changed_by) == ("special", "override", "bo")
