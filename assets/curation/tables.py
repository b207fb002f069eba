"""Warehouse tables owned by the curation domain."""

from integrations.warehouse import Column, table

SNAPSHOTS = table(
    "curation",
    "playlist_snapshots",
    Column("snapshot_date", "date", "Day the snapshot is for (the partition).", nullable=False),
    Column("playlist_id", "text", "Logical playlist (policy) id.", nullable=False),
    Column("position", "bigint", "1-based position in the playlist.", nullable=False),
    Column("track_id", "text", "Catalog track."),
    Column("batch_tag", "text", "YYYY-MM-DD tag of the snapshot batch."),
    primary_key=("snapshot_date", "playlist_id", "position"),
    description="One row per track position of a playlist's daily snapshot.",
)
