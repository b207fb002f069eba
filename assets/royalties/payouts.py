"""Payouts: payout requests (from the royalties inbox) decided against what each party is owed, paid ones posted
to the ledger once, and the check that they were."""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.common.keys import ROYALTIES_PAYOUTS, ROYALTIES_ROYALTY_LEDGER
from assets.common.metadata import table_metadata
from assets.common.paths import DataDirResource
from backbeat.common.quarantine import record_rejects
from backbeat.royalties.payouts import (
    DEFAULT_MINIMUM,
    PayoutRules,
    decide_payouts,
    payouts_frame,
    post_payouts,
    read_requests,
)
from backbeat.royalties.tables import CONTRACT_LEDGER, FX_LEDGER, LEDGER, PAYOUTS
from integrations.warehouse import WarehouseResource


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class PayoutConfig(Config):
    """Minimum payout per currency, in major units as text (e.g. {"JPY": "5000"}); others use the default."""

    minimum_payout: dict[str, str] = {}
    default_minimum_payout: str = str(DEFAULT_MINIMUM)

    def rules(self) -> PayoutRules:
        try:
            return PayoutRules(
                {c: Decimal(v) for c, v in self.minimum_payout.items()}, Decimal(self.default_minimum_payout)
            )
        except InvalidOperation:
            raise Failure(
                description=f"minimum payouts must be decimal numbers, got {self.minimum_payout} and "
                f"{self.default_minimum_payout!r}"
            ) from None


PAYABLE_SQL = (
    "SELECT CASE WHEN entry_kind = 'payout' THEN batch_id END AS batch_id, entry_kind, account, party_id, currency, "
    "posted_for, CAST(sum(amount_minor) AS BIGINT) AS amount_minor FROM royalties.royalty_ledger "
    "WHERE account = 'party_payable' AND party_id IS NOT NULL "
    "GROUP BY CASE WHEN entry_kind = 'payout' THEN batch_id END, entry_kind, account, party_id, currency, posted_for "
    # what contracts did to the balance (advances recouped, shares, reserves held and released) counts too
    "UNION ALL SELECT NULL, 'contract', account, party_id, currency, posted_for, "
    "CAST(sum(amount_minor) AS BIGINT) FROM royalties.contract_ledger "
    "WHERE account = 'party_payable' AND party_id IS NOT NULL GROUP BY account, party_id, currency, posted_for "
    # and what currency conversions moved (the billed currency to 0, the payout currency credited)
    "UNION ALL SELECT NULL, 'fx', account, party_id, currency, converted_on, CAST(sum(amount_minor) AS BIGINT) "
    "FROM royalties.fx_ledger WHERE account = 'party_payable' AND party_id IS NOT NULL "
    "GROUP BY account, party_id, currency, converted_on"
)
"""A party's party_payable lines per day: the royalty ledger's, the contract ledger's (so a payout can never be
approved out of an advance not yet recouped or a reserve still held) and the currency conversions' (so a payout in
the party's payout currency sees the converted balance)."""
PAYABLE_SCHEMA = {
    "batch_id": pl.Utf8(),
    "entry_kind": pl.Utf8(),
    "account": pl.Utf8(),
    "party_id": pl.Utf8(),
    "currency": pl.Utf8(),
    "posted_for": pl.Date(),
    "amount_minor": pl.Int64(),
}


@asset(key=ROYALTIES_PAYOUTS, deps=[ROYALTIES_ROYALTY_LEDGER], group_name="royalties", kinds={"csv", "sql"})
def payouts(
    context: AssetExecutionContext, config: PayoutConfig, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per payout request and what became of it: requested, approved, rejected (with the reason) or paid.

    Read from `inbox/royalties/payout_requests.csv` (written by `backbeat royalties payout ...`) and checked
    against the ledger as of the request day: the amount must be at least the minimum payout for its currency
    and at most what the party is owed, in a currency the party is owed in. An approved request with a paid_on
    day posts batch `payout|{payout_id}` to `royalties.royalty_ledger` (debit party_payable, credit cash), once.
    """
    db = warehouse.client()
    requests, rejects = read_requests(data_dir.inbox / "royalties" / "payout_requests.csv")
    db.ensure(LEDGER, CONTRACT_LEDGER, FX_LEDGER)
    ledger = db.query(PAYABLE_SQL, schema=PAYABLE_SCHEMA)
    decisions = decide_payouts(requests, ledger, config.rules())
    posted = post_payouts(db, decisions, _now())
    frame = payouts_frame(decisions)
    db.replace(PAYOUTS, frame)
    record_rejects(db, "royalties/payouts", "", rejects, context.log.warning)
    by_status = frame.group_by("status").len().sort("status")
    paid = frame.filter(pl.col("status") == "paid").group_by("currency").agg(pl.col("amount_minor").sum())
    return MaterializeResult(
        metadata={
            **table_metadata(frame, rejected_rows=len(rejects), batches_posted=len(posted)),
            "by_status": MetadataValue.json({s: n for s, n in by_status.iter_rows()}),
            "paid_minor_by_currency": MetadataValue.json({c: int(a) for c, a in paid.iter_rows()}),
        }
    )


@asset_check(
    asset=payouts,
    description="Every paid payout has exactly one payout batch in the ledger, debiting the "
    "party's payable by its amount and balancing to zero; no payout batch lacks a paid request.",
)
def paid_payouts_are_posted_once(warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    db.ensure(LEDGER)
    paid = db.read(PAYOUTS, "status = 'paid'")
    batches = db.query(
        "SELECT batch_id, CAST(sum(amount_minor) AS BIGINT) AS balance, "
        "CAST(sum(CASE WHEN account = 'party_payable' THEN amount_minor ELSE 0 END) AS BIGINT) AS debit, "
        "count(*) AS lines FROM royalties.royalty_ledger WHERE entry_kind = 'payout' GROUP BY batch_id",
        schema={"batch_id": pl.Utf8(), "balance": pl.Int64(), "debit": pl.Int64(), "lines": pl.Int64()},
    )
    joined = paid.join(batches, on="batch_id", how="full", coalesce=True)
    unposted = joined.filter(pl.col("debit").is_null()).height
    orphan = joined.filter(pl.col("payout_id").is_null()).height
    wrong = joined.filter(
        pl.col("debit").is_not_null()
        & pl.col("payout_id").is_not_null()
        & ((pl.col("balance") != 0) | (pl.col("debit") != pl.col("amount_minor")) | (pl.col("lines") != 2))
    ).height
    return AssetCheckResult(
        passed=unposted == orphan == wrong == 0,
        metadata={
            "paid_payouts": paid.height,
            "payout_batches": batches.height,
            "paid_but_not_posted": unposted,
            "batches_without_paid_request": orphan,
            "batches_wrong_or_unbalanced": wrong,
        },
    )
