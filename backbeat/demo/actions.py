"""What people do on the demo's second morning, through the same commands they would type.

A rights manager approves the split set waiting for review (as `backbeat rights review approve` does), takes
two disputed plays through every step to their resolution, one upheld and one rejected
(`backbeat.demo.disputes`), and a party's payout is requested, approved and paid (`backbeat.demo.payouts`).
All of it only writes files in the inbox; the rights and royalties assets pick them up, the ledger posts
reversing and correcting batches for what changed, and the payout's batch.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from backbeat.demo.disputes import dispute_plays
from backbeat.demo.payouts import DEMO_RUN_CONFIG, request_and_pay
from backbeat.rights.review import append_decision
from integrations.warehouse import Warehouse

DEMO_REVIEWER = "demo-reviewer"
DEMO_REVIEW_AT = datetime(2026, 11, 3, 9, 0)

__all__ = ["DEMO_RUN_CONFIG", "second_morning"]


def second_morning(data_dir: Path, warehouse: Warehouse) -> list[str]:
    """Approve every open review task, resolve the demo disputes, request and pay the demo payout.

    Returns one line per thing done. Idempotent: what is already recorded is left alone.
    """
    done = []
    open_tasks = warehouse.query("SELECT task_id FROM rights.review_tasks WHERE status = 'open' ORDER BY task_id")
    for (task_id,) in open_tasks.iter_rows():
        append_decision(
            data_dir / "inbox" / "rights" / "review_decisions",
            task_id,
            "approve",
            DEMO_REVIEWER,
            "party checked against the publisher's agreement",
            now=DEMO_REVIEW_AT,
        )
        done.append(f"review task {task_id} approved by {DEMO_REVIEWER}")
    done += dispute_plays(data_dir, warehouse)
    done += request_and_pay(data_dir, warehouse)
    return done
