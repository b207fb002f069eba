"""Curation: daily playlist snapshots under policy rules."""

from dagster import Definitions

from assets.curation.assets import playlist_snapshots
from assets.curation.checks import snapshots_respect_their_policies

defs = Definitions(assets=[playlist_snapshots], asset_checks=[snapshots_respect_their_policies])
