"""The ledger refuses a station-day whose plays overlap (they would bill the same seconds twice), on DuckDB and
PostgreSQL: the check on playlogs blocks the daily job, and this covers restatements and any other caller."""

from datetime import date, datetime

import pytest

from backbeat.airplay.tables import PLAYLOGS

DAY = date(2026, 3, 2)  # as in conftest's `world`: p1 06:00:00-06:03:01, p2 from 06:03:06, p3 after it


def test_overlapping_plays_are_not_posted_and_the_error_names_them(world):
    world.db.replace(
        PLAYLOGS,
        PLAYLOGS.from_rows(
            [
                dict.fromkeys(PLAYLOGS.column_names)
                | {
                    "play_id": "p9",
                    "station_id": "s1",
                    "track_id": "T2",
                    "play_date": DAY,
                    "start_utc": datetime(2026, 3, 2, 6, 2, 59),
                    "end_utc": datetime(2026, 3, 2, 6, 4),
                    "duration_s": 61,
                }
            ]
        ),
        "play_id = ?",
        ["p9"],
    )
    with pytest.raises(ValueError) as refused:
        world.post()
    message = str(refused.value)
    assert "plays of s1 on 2026-03-02 overlap" in message
    assert "play p1 (06:00:00–06:03:01) and play p9 (06:02:59–06:04:00) share 2 s" in message
    assert "(2 overlapping pairs)" in message  # p9 also runs into p2
    assert world.lines().is_empty() and world.batches().is_empty()

    world.db.replace(PLAYLOGS, PLAYLOGS.empty_frame(), "play_id = ?", ["p9"])
    summary = world.post()
    assert summary.plays_posted == 3 and world.lines()["amount_minor"].sum() == 0
