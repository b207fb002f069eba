"""Catalog: artists and recordings, the reference everything downstream is matched and paid against."""

from dagster import Definitions

from assets.catalog.assets import catalog_artists, catalog_tracks, tracks_have_unique_ids_and_isrcs

defs = Definitions(assets=[catalog_artists, catalog_tracks], asset_checks=[tracks_have_unique_ids_and_isrcs])
