"""The second morning's payout: a party asks for part of what it is owed, finance approves and pays it.

The party is the one owed the most for undisputed plays, and it asks for half of that: the disputes and the
approved split set are restated later that morning, and must not leave it paid more than it earned.
`demo-finance` approves the request and records the bank transfer the same day. Each step is a
`backbeat royalties payout request|decide|paid` command; the `royalties/payouts` asset checks the request
against the ledger and posts batch `payout|P-DEMO-0001` (debit party_payable, credit cash).

Two hours of demo radio earn a party a few euros (the tests' twelve minutes, cents), far below the default
minimum payout of 50.00, so the demo runs `royalty_adjustments_job` with a minimum of 0.01 (`DEMO_RUN_CONFIG`),
as a label sets its own minimum in the job's run config.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from backbeat.demo.commands import royalties_command
from backbeat.royalties.disputes import read_disputes
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.payouts import read_requests
from integrations.warehouse import Warehouse

PAYOUT_ID = "P-DEMO-0001"
PAYOUT_DAY = date(2026, 11, 3)
FINANCE = "demo-finance"
DEMO_MINIMUM_PAYOUT = "0.01"
DEMO_RUN_CONFIG = {
    "royalty_adjustments_job": {
        "ops": {"royalties__payouts": {"config": {"default_minimum_payout": DEMO_MINIMUM_PAYOUT}}},
    },
}
"""Run config per job for `run_everything` in the demo: the demo's minimum payout."""

PAYABLE_SQL = (
    "SELECT party_id, currency, play_id, CAST(sum(amount_minor) AS BIGINT) AS amount_minor "
    "FROM royalties.royalty_ledger WHERE account = 'party_payable' AND party_id IS NOT NULL AND posted_for <= ? "
    "GROUP BY party_id, currency, play_id"
)


def _major(minor: int, currency: str) -> str:
    return str(Decimal(minor).scaleb(-MINOR_UNIT_EXPONENT.get(currency, 2)))


def request_and_pay(data_dir: Path, warehouse: Warehouse) -> list[str]:
    """Request, approve and pay the demo payout, each step only if not recorded yet; returns what was done."""
    path = data_dir / "inbox" / "royalties" / "payout_requests.csv"
    done = []
    request = next((r for r in read_requests(path)[0] if r.payout_id == PAYOUT_ID), None)
    if request is None:
        disputed = {s.play_id for s in read_disputes(data_dir / "inbox" / "royalties" / "disputes").states.values()}
        # Credits on disputed plays left out: an upheld dispute restated later must not take back paid money.
        owed = (
            warehouse.query(PAYABLE_SQL, [PAYOUT_DAY])
            .filter(pl.col("play_id").is_null() | ~pl.col("play_id").is_in(list(disputed)))
            .group_by("party_id", "currency")
            .agg(owed=-pl.col("amount_minor").sum())
            .sort(["owed", "party_id", "currency"], descending=[True, False, False])
        )
        if not owed.height or int(owed["owed"][0]) < 2:
            return done
        party, currency, balance = owed.row(0)
        amount = _major(int(balance) // 2, currency)
        royalties_command(
            data_dir,
            "payout",
            "request",
            party,
            "--amount",
            amount,
            "--currency",
            currency,
            "--requested-on",
            PAYOUT_DAY.isoformat(),
            "--payout-id",
            PAYOUT_ID,
            "--note",
            "half of what the ledger owes",
        )
        done.append(
            f"payout {PAYOUT_ID} of {amount} {currency} requested by {party} "
            f"(owed {_major(int(balance), currency)} for undisputed plays)"
        )
        request = next(r for r in read_requests(path)[0] if r.payout_id == PAYOUT_ID)
    decision = request.decision
    if decision is None:
        royalties_command(
            data_dir,
            "payout",
            "decide",
            PAYOUT_ID,
            "approve",
            "--by",
            FINANCE,
            "--note",
            "balance checked against the ledger",
        )
        decision = "approve"
        done.append(f"payout {PAYOUT_ID} approved by {FINANCE}")
    if decision == "approve" and request.paid_on is None:
        royalties_command(
            data_dir,
            "payout",
            "paid",
            PAYOUT_ID,
            "--on",
            PAYOUT_DAY.isoformat(),
            "--note",
            "bank transfer DEMO-TX-0001",
        )
        done.append(f"payout {PAYOUT_ID} paid on {PAYOUT_DAY} (bank transfer DEMO-TX-0001)")
    return done
