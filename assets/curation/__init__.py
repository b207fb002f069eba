"""Curation: daily plans, playlist snapshots under policy rules, and their sync to many Spotify accounts; the jobs
and the UTC schedules that run them."""

from dagster import Definitions

from assets.curation.assets import playlist_plan, playlist_snapshots, playlist_sync
from assets.curation.checks import CURATION_CHECKS
from assets.curation.jobs import CURATION_JOBS
from assets.curation.schedules import CURATION_SCHEDULES

defs = Definitions(
    assets=[playlist_plan, playlist_snapshots, playlist_sync],
    asset_checks=CURATION_CHECKS,
    jobs=CURATION_JOBS,
    schedules=CURATION_SCHEDULES,
)
