# ruff: noqa: E501  (frozen SQL, as declared when the revision was written)
"""Revision 0006: contracts that pay (issue 18, item 3).

New tables royalties.contract_terms (a party's financial terms per contract, with validity dates) and
royalties.contract_ledger (append-only: advances, shares, recoupment, reserves held and released).

Frozen: written from the declarations of the day, never regenerated.
"""

from __future__ import annotations

from backbeat.migrations.frozen import FrozenTable, complete_tables
from integrations.warehouse import WarehouseConnection

REVISION = "0006"
DESCRIPTION = "royalties: contract terms and the contract ledger (advances, recoupment, reserves)"


def upgrade(conn: WarehouseConnection) -> str:
    """Create the new tables; say what was done."""
    return "; ".join(f"{name} {what or 'present'}" for name, what in complete_tables(conn, TABLES).items())


TABLES: tuple[FrozenTable, ...] = (
    FrozenTable(
        "royalties.contract_terms",
        (
            ("term_id", "VARCHAR", False),
            ("contract_id", "VARCHAR", False),
            ("party_id", "VARCHAR", False),
            ("currency", "VARCHAR", False),
            ("valid_from", "DATE", False),
            ("valid_to", "DATE", True),
            ("source_party_id", "VARCHAR", True),
            ("share_bp", "BIGINT", True),
            ("advance_minor", "BIGINT", True),
            ("minimum_payout_minor", "BIGINT", True),
            ("reserve_bp", "BIGINT", True),
            ("reserve_periods", "BIGINT", True),
            ("note", "VARCHAR", True),
        ),
        primary_key=("term_id",),
        constraints=(
            (
                "contract_terms_currency_allowed",
                "CONSTRAINT contract_terms_currency_allowed CHECK (currency IN ('CHF', 'DKK', 'EUR', 'GBP', 'JPY', 'NOK', 'SEK', 'USD'))",
            ),
            (
                "contract_terms_share_range",
                "CONSTRAINT contract_terms_share_range CHECK (share_bp IS NULL OR (share_bp >= 0 AND share_bp <= 10000))",
            ),
            (
                "contract_terms_reserve_range",
                "CONSTRAINT contract_terms_reserve_range CHECK (reserve_bp IS NULL OR (reserve_bp >= 0 AND reserve_bp <= 10000))",
            ),
        ),
        pg_triggers=(),
    ),
    FrozenTable(
        "royalties.contract_ledger",
        (
            ("batch_id", "VARCHAR", False),
            ("line_no", "BIGINT", False),
            ("batch_kind", "VARCHAR", False),
            ("revision", "BIGINT", True),
            ("contract_id", "VARCHAR", True),
            ("term_id", "VARCHAR", True),
            ("for_period", "VARCHAR", True),
            ("accounting_period", "VARCHAR", True),
            ("posted_for", "DATE", True),
            ("account", "VARCHAR", True),
            ("party_id", "VARCHAR", True),
            ("amount_minor", "BIGINT", True),
            ("currency", "VARCHAR", True),
            ("reason", "VARCHAR", True),
            ("posted_at", "TIMESTAMP", True),
        ),
        primary_key=("batch_id", "line_no"),
        constraints=(
            (
                "contract_ledger_account_allowed",
                "CONSTRAINT contract_ledger_account_allowed CHECK (account IN ('party_payable', 'advance_recoupable', 'reserve', 'cash'))",
            ),
            (
                "contract_ledger_kind_allowed",
                "CONSTRAINT contract_ledger_kind_allowed CHECK (batch_kind IN ('advance', 'share', 'recoupment', 'reserve_hold', 'reserve_release'))",
            ),
            (
                "contract_ledger_currency_allowed",
                "CONSTRAINT contract_ledger_currency_allowed CHECK (currency IN ('CHF', 'DKK', 'EUR', 'GBP', 'JPY', 'NOK', 'SEK', 'USD'))",
            ),
        ),
        pg_triggers=(
            "CREATE OR REPLACE FUNCTION royalties.contract_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF false THEN RETURN NEW; END IF; RAISE EXCEPTION '% on %.% refused: the table is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$",
            "CREATE OR REPLACE TRIGGER contract_ledger_append_only BEFORE UPDATE OR DELETE ON royalties.contract_ledger FOR EACH ROW EXECUTE FUNCTION royalties.contract_ledger_append_only()",
            "CREATE OR REPLACE TRIGGER contract_ledger_no_truncate BEFORE TRUNCATE ON royalties.contract_ledger FOR EACH STATEMENT EXECUTE FUNCTION royalties.contract_ledger_append_only()",
        ),
    ),
)
