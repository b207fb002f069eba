"""What people do on the demo's second morning, through the same commands they would type.

A rights manager approves the split set waiting for review, and a station disputes one play. Both only write
files in the inbox (as `backbeat rights review approve` and `backbeat royalties dispute open` do); the rights
and royalties assets pick them up, and the ledger posts reversing and correcting batches for what changed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from assets.rights.review import append_decision
from integrations.warehouse import Warehouse

DEMO_REVIEWER = "demo-reviewer"
DEMO_DISPUTE_ID = "D-DEMO-0001"
DEMO_DISPUTE_AT = datetime(2026, 11, 3, 9, 0)


def review_and_dispute(data_dir: Path, warehouse: Warehouse) -> list[str]:
    """Approve every open review task and dispute the earliest play of the day; returns what was done.

    Idempotent: a task already decided and a dispute already filed are left alone.
    """
    done = []
    open_tasks = warehouse.query("SELECT task_id FROM rights.review_tasks WHERE status = 'open' ORDER BY task_id")
    for (task_id,) in open_tasks.iter_rows():
        append_decision(data_dir / "inbox" / "rights" / "review_decisions", task_id, "approve", DEMO_REVIEWER,
                        "party checked against the publisher's agreement", now=DEMO_DISPUTE_AT)
        done.append(f"review task {task_id} approved by {DEMO_REVIEWER}")
    disputes = data_dir / "inbox" / "royalties" / "disputes"
    if not (disputes / f"{DEMO_DISPUTE_ID}.csv").exists():
        play = warehouse.query("SELECT play_id FROM airplay.playlogs ORDER BY start_utc, play_id LIMIT 1")
        if play.height:
            from backbeat.commands.royalties import royalties

            play_id = play.item(0, 0)
            royalties.main(["--data-dir", str(data_dir), "dispute", "open", play_id, "--actor", "station",
                            "--note", "the station's log shows a jingle, not this song", "--at",
                            DEMO_DISPUTE_AT.isoformat(), "--dispute-id", DEMO_DISPUTE_ID], standalone_mode=False)
            done.append(f"play {play_id} disputed by the station ({DEMO_DISPUTE_ID}, pending: credits on hold)")
    return done
