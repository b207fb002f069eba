"""The second morning's disputes: two plays disputed by their stations and taken through every step.

- D-DEMO-0001: radio-north says its earliest play was a jingle. The analyst re-checks the fingerprint match
  (the song aired), and the dispute is resolved **rejected**: the play is paid as posted.
- D-DEMO-0002: a station says the shortest play was a bed under the traffic news, which its licence does not
  pay. The programme log confirms it, and the dispute is resolved **upheld**: the play is not paid, so its
  station-day is restated (a reversal and a revision without it).

Each step is a `backbeat royalties dispute open|step` command, so the files are what a rights manager's
commands write; the `royalties/disputes` asset reads them and queues the restatements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from backbeat.demo.commands import royalties_command
from backbeat.royalties.disputes import STEPS, read_disputes
from integrations.warehouse import Warehouse

DISPUTES_DIR = Path("inbox") / "royalties" / "disputes"
STEP_INTERVAL = timedelta(minutes=30)


@dataclass(frozen=True)
class DemoDispute:
    """One scripted dispute: who opens it and why, who takes each later step, and how it ends."""

    dispute_id: str
    opened_at: datetime
    opened_by: str
    claim: str
    plays_sql: str  # candidate plays, best first: the first one not disputed yet is disputed
    resolution: str
    notes: dict[str, tuple[str, str]]  # step -> (actor, note)


DISPUTES = (
    DemoDispute(
        "D-DEMO-0001",
        datetime(2026, 11, 3, 9, 0),
        "station",
        "the station's log shows a jingle, not this song",
        "SELECT play_id FROM airplay.playlogs WHERE station_id = 'radio-north' ORDER BY start_utc, play_id",
        "rejected",
        {
            "verified": ("demo-analyst", "the fingerprint matches the recording for the whole play"),
            "resolving": ("demo-rights-manager", "station sent its log; the jingle ran before the song"),
            "review": ("demo-rights-manager", "proposed: reject, the song aired"),
            "resolved": ("demo-rights-manager", "the play stands: paid as posted"),
        },
    ),
    DemoDispute(
        "D-DEMO-0002",
        datetime(2026, 11, 3, 9, 5),
        "station",
        "a bed under the traffic news, not a featured play; the licence pays featured plays only",
        "SELECT play_id FROM airplay.playlogs ORDER BY end_utc - start_utc, play_id",
        "upheld",
        {
            "verified": ("demo-analyst", "the play is the shortest of the day"),
            "resolving": ("demo-rights-manager", "programme log requested from the station"),
            "review": ("demo-rights-manager", "the programme log shows the traffic news over it"),
            "resolved": ("demo-rights-manager", "background use: the play is not paid"),
        },
    ),
)


def dispute_plays(data_dir: Path, warehouse: Warehouse) -> list[str]:
    """Open the demo disputes not opened yet and take each to its resolution; returns what was done.

    Idempotent: steps already recorded are not repeated, so a second demo run adds nothing.
    """
    folder = data_dir / DISPUTES_DIR
    done = []
    for dispute in DISPUTES:
        state = read_disputes(folder).states.get(dispute.dispute_id)
        if state is None:
            taken = {s.play_id for s in read_disputes(folder).states.values()}
            play = next((p for p in warehouse.query(dispute.plays_sql)["play_id"] if p not in taken), None)
            if play is None:
                continue
            royalties_command(
                data_dir,
                "dispute",
                "open",
                play,
                "--actor",
                dispute.opened_by,
                "--as",
                dispute.opened_by if dispute.opened_by in ("station", "artist") else "station",
                "--note",
                dispute.claim,
                "--at",
                dispute.opened_at.isoformat(),
                "--dispute-id",
                dispute.dispute_id,
            )
            state = read_disputes(folder).states[dispute.dispute_id]
            done.append(
                f"play {state.play_id} disputed by the {dispute.opened_by} ({dispute.dispute_id}): {dispute.claim}"
            )
        steps = STEPS[STEPS.index(state.status) + 1 :]
        for number, step in enumerate(steps, start=STEPS.index(state.status) + 1):
            actor, note = dispute.notes[step]
            args = [
                "dispute",
                "step",
                dispute.dispute_id,
                step,
                "--actor",
                actor,
                "--as",
                "rights_admin" if step == "resolved" else "analyst",
                "--note",
                note,
                "--at",
                (dispute.opened_at + number * STEP_INTERVAL).isoformat(),
            ]
            if step == "resolved":
                args += ["--resolution", dispute.resolution]
            royalties_command(data_dir, *args)
        if steps:
            paid = "not paid" if dispute.resolution == "upheld" else "paid as posted"
            done.append(f"{dispute.dispute_id} {' → '.join(steps)}: {dispute.resolution} (play {state.play_id} {paid})")
    return done
