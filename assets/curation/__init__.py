"""Curation: daily plans, playlist snapshots under policy rules, and their sync to many Spotify accounts."""

from dagster import Definitions

from assets.curation.assets import playlist_plan, playlist_snapshots, playlist_sync
from assets.curation.checks import CURATION_CHECKS

defs = Definitions(assets=[playlist_plan, playlist_snapshots, playlist_sync], asset_checks=CURATION_CHECKS)
