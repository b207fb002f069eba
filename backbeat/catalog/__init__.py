"""Catalog core: ingestion, entity resolution into the golden catalog, DJ exports and the album queue (plain Python)."""
