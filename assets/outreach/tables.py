"""Warehouse tables owned by the outreach domain."""

from integrations.warehouse import Column, table

CONTACTS = table(
    "outreach",
    "contacts",
    Column("contact_id", "text", "Stable id: hash of the lower-cased email.", nullable=False),
    Column("email", "text", "Email address, lower-cased."),
    Column("name", "text", "Contact name."),
    Column("company", "text", "Company or station."),
    Column("country", "text", "Country code."),
    Column("consent", "boolean", "Whether the contact agreed to be emailed."),
    Column("source_file", "text", "File the contact came from."),
    Column("source_row", "bigint", "Line in that file."),
    primary_key=("contact_id",),
    description="One row per prospect that campaigns may address.",
)
