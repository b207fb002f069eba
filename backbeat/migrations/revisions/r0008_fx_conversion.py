# ruff: noqa: E501  (frozen SQL, as declared when the revision was written)
"""Revision 0008: currencies (issue 18, item 6).

New tables royalties.fx_rates (a dated exchange rate per currency pair and day), royalties.payout_currencies
(the currency a party is paid in, when not the one it earned in) and royalties.fx_ledger (append-only:
conversion batches through fx_clearing, the rounding difference on fx_rounding).

Frozen: drafted by `backbeat.migrations.draft` from the declarations of the day, never regenerated.
"""

from __future__ import annotations

from backbeat.migrations.frozen import FrozenTable, complete_tables
from integrations.warehouse import WarehouseConnection

REVISION = "0008"
DESCRIPTION = "royalties: FX rates, payout currencies and the FX conversion ledger (issue 18, item 6)"
ALTERS: tuple[str, ...] = ()


def upgrade(conn: WarehouseConnection) -> str:
    """Create the new tables, add the new nullable columns; say what was done."""
    done = [f"{name} {what or 'present'}" for name, what in complete_tables(conn, TABLES).items()]
    for sql in ALTERS:
        conn.execute(sql)
        done.append(sql.removeprefix("ALTER TABLE ").replace(" ADD COLUMN IF NOT EXISTS ", " + "))
    return "; ".join(done)


TABLES: tuple[FrozenTable, ...] = (
    FrozenTable(
        "royalties.fx_rates",
        (
            ("base", "VARCHAR", False),
            ("quote", "VARCHAR", False),
            ("effective_on", "DATE", False),
            ("rate", "DECIMAL(18, 6)", True),
            ("source", "VARCHAR", True),
            ("source_file", "VARCHAR", True),
            ("source_row", "BIGINT", True),
        ),
        primary_key=("base", "quote", "effective_on"),
        constraints=(
            (
                "fx_rates_base_allowed",
                "CONSTRAINT fx_rates_base_allowed CHECK (base IN ('CHF', 'DKK', 'EUR', 'GBP', 'JPY', 'NOK', 'SEK', 'USD'))",
            ),
            (
                "fx_rates_quote_allowed",
                "CONSTRAINT fx_rates_quote_allowed CHECK (quote IN ('CHF', 'DKK', 'EUR', 'GBP', 'JPY', 'NOK', 'SEK', 'USD'))",
            ),
            ("fx_rates_pair_differs", "CONSTRAINT fx_rates_pair_differs CHECK (base <> quote)"),
            ("fx_rates_rate_positive", "CONSTRAINT fx_rates_rate_positive CHECK (rate > 0)"),
        ),
        pg_triggers=(),
    ),
    FrozenTable(
        "royalties.payout_currencies",
        (
            ("party_id", "VARCHAR", False),
            ("payout_currency", "VARCHAR", True),
            ("source_file", "VARCHAR", True),
            ("source_row", "BIGINT", True),
        ),
        primary_key=("party_id",),
        constraints=(
            (
                "payout_currencies_currency_allowed",
                "CONSTRAINT payout_currencies_currency_allowed CHECK (payout_currency IS NULL OR payout_currency IN ('CHF', 'DKK', 'EUR', 'GBP', 'JPY', 'NOK', 'SEK', 'USD'))",
            ),
        ),
        pg_triggers=(),
    ),
    FrozenTable(
        "royalties.fx_ledger",
        (
            ("batch_id", "VARCHAR", False),
            ("line_no", "BIGINT", False),
            ("party_id", "VARCHAR", True),
            ("from_currency", "VARCHAR", True),
            ("to_currency", "VARCHAR", True),
            ("rate", "DECIMAL(18, 6)", True),
            ("rate_source", "VARCHAR", True),
            ("converted_on", "DATE", True),
            ("for_period", "VARCHAR", True),
            ("accounting_period", "VARCHAR", True),
            ("account", "VARCHAR", True),
            ("currency", "VARCHAR", True),
            ("amount_nanos", "BIGINT", True),
            ("amount_minor", "BIGINT", True),
            ("posted_at", "TIMESTAMP", True),
        ),
        primary_key=("batch_id", "line_no"),
        constraints=(
            (
                "fx_ledger_account_allowed",
                "CONSTRAINT fx_ledger_account_allowed CHECK (account IN ('party_payable', 'fx_clearing', 'fx_rounding'))",
            ),
            (
                "fx_ledger_currency_allowed",
                "CONSTRAINT fx_ledger_currency_allowed CHECK (currency IN ('CHF', 'DKK', 'EUR', 'GBP', 'JPY', 'NOK', 'SEK', 'USD'))",
            ),
        ),
        pg_triggers=(
            "CREATE OR REPLACE FUNCTION royalties.fx_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF false THEN RETURN NEW; END IF; RAISE EXCEPTION '% on %.% refused: the table is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$",
            "CREATE OR REPLACE TRIGGER fx_ledger_append_only BEFORE UPDATE OR DELETE ON royalties.fx_ledger FOR EACH ROW EXECUTE FUNCTION royalties.fx_ledger_append_only()",
            "CREATE OR REPLACE TRIGGER fx_ledger_no_truncate BEFORE TRUNCATE ON royalties.fx_ledger FOR EACH STATEMENT EXECUTE FUNCTION royalties.fx_ledger_append_only()",
        ),
    ),
)
