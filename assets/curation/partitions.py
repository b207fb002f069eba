"""The curation calendar: one partition per UTC day, today included.

A day's playlists are planned at 02:00 and published by 04:10 *on that day*, so unlike `daily_partitions` (whose
last partition is yesterday) the curation days end with today (`end_offset=1`).
"""

from dagster import DailyPartitionsDefinition

from assets.common.partitions import HISTORY_START

curation_days = DailyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC", end_offset=1)
"""One partition per UTC day, up to and including today."""
