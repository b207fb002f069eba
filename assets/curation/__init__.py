"""Curation: daily playlist snapshots under policy rules."""

from dagster import Definitions

from assets.curation.assets import playlist_snapshots

defs = Definitions(assets=[playlist_snapshots])
