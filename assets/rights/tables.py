"""Warehouse tables owned by the rights domain."""

from integrations.warehouse import Column, table

WORKS = table(
    "rights",
    "works",
    Column("work_id", "text", "Backbeat work (composition) id.", nullable=False),
    Column("iswc", "text", "International Standard Musical Work Code, T-ddd.ddd.ddd-c."),
    Column("title", "text", "Work title."),
    Column("source_file", "text", "Split sheet the work was read from."),
    primary_key=("work_id",),
    description="One row per musical work (composition).",
)

PARTIES = table(
    "rights",
    "parties",
    Column("party_id", "text", "Backbeat party id.", nullable=False),
    Column("name", "text", "Party name (writer, composer, publisher)."),
    Column("ipi", "text", "IPI name number, 11 digits, when known."),
    primary_key=("party_id",),
    description="One row per rights holder.",
)

SPLITS = table(
    "rights",
    "splits",
    Column("work_id", "text", "Work the split applies to.", nullable=False),
    Column("party_id", "text", "Party receiving the share.", nullable=False),
    Column("role", "text", "writer, composer, publisher, ...", nullable=False),
    Column("share_bp", "bigint", "Share in basis points: 10000 = 100 %."),
    Column("source_file", "text", "Split sheet file."),
    Column("source_row", "bigint", "Line in the split sheet."),
    primary_key=("work_id", "party_id", "role"),
    description="One row per approved share of a work: shares of a work sum to exactly 10000 basis points.",
)
