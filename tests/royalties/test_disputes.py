"""Disputes: the step machine, the event files, the `royalties dispute` commands and the disputes asset."""

import csv
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from dagster import materialize

from assets.common.paths import DataDirResource
from assets.royalties.disputes import disputes, disputes_follow_step_order
from backbeat.airplay.tables import PLAYLOGS
from backbeat.commands.royalties import royalties
from backbeat.common.quarantine import QUARANTINE
from backbeat.royalties.disputes import (
    EVENT_COLUMNS,
    EVENT_TIME,
    DisputeEvent,
    StepError,
    apply_step,
    events_frame,
    read_disputes,
    replay,
    step_order_violations,
)
from backbeat.royalties.tables import DISPUTE_EVENTS, DISPUTES, RESTATEMENT_QUEUE
from integrations.warehouse import Warehouse, WarehouseResource

PLAYS = {"P1": ("radio-north", date(2026, 11, 2)), "P2": ("radio-south", date(2026, 11, 3))}


def event(status: str, at: str, resolution: str | None = None, dispute: str = "D1", play: str = "P1") -> DisputeEvent:
    return DisputeEvent(dispute, play, status, resolution, "analyst", datetime.fromisoformat(at), None, "f.csv", 2)


def walk(*events: DisputeEvent):
    state = None
    for e in events:
        state = apply_step(state, e, PLAYS)
    return state


def test_a_dispute_walks_every_step_in_order_to_a_resolution():
    state = walk(
        event("pending", "2026-11-05 09:00"),
        event("verified", "2026-11-05 09:00"),
        event("resolving", "2026-11-06 10:00"),
        event("review", "2026-11-07 11:00"),
        event("resolved", "2026-11-08 12:00", "upheld"),
    )
    assert (state.status, state.resolution, state.opened_at, state.updated_at, state.open) == (
        "resolved",
        "upheld",
        datetime(2026, 11, 5, 9),
        datetime(2026, 11, 8, 12),
        False,
    )


@pytest.mark.parametrize(
    ("events", "field", "reason"),
    [
        ([event("verified", "2026-11-05 09:00")], "status", "not opened: the next step is pending"),
        (
            [event("pending", "2026-11-05 09:00"), event("resolving", "2026-11-05 10:00")],
            "status",
            "steps cannot be skipped",
        ),
        ([event("pending", "2026-11-05 09:00"), event("pending", "2026-11-05 10:00")], "status", "already at pending"),
        ([event("pending", "2026-11-05 09:00"), event("verified", "2026-11-04 09:00")], "at", "is before the pending"),
        (
            [event("pending", "2026-11-05 09:00"), event("verified", "2026-11-05 10:00", "upheld")],
            "resolution",
            "belongs to the resolved step",
        ),
        ([event("pending", "2026-11-05 09:00", play="P9")], "play_id", "P9 is not in airplay.playlogs"),
        (
            [event("pending", "2026-11-05 09:00"), event("verified", "2026-11-05 10:00", play="P2")],
            "play_id",
            "is about play P1",
        ),
    ],
)
def test_a_step_breaking_a_rule_is_refused_naming_the_field(events, field, reason):
    with pytest.raises(StepError, match=reason) as caught:
        walk(*events)
    assert caught.value.field == field


def test_resolved_needs_a_resolution_and_nothing_follows_it():
    steps = [event(s, "2026-11-05 09:00") for s in ("pending", "verified", "resolving", "review")]
    with pytest.raises(StepError, match="needs a resolution") as caught:
        walk(*steps, event("resolved", "2026-11-06 09:00"))
    assert caught.value.field == "resolution"
    with pytest.raises(StepError, match="already resolved"):
        walk(*steps, event("resolved", "2026-11-06 09:00", "rejected"), event("resolved", "2026-11-07 09:00", "upheld"))


def write_events(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=EVENT_COLUMNS)
        writer.writeheader()
        writer.writerows([{c: r.get(c, "") for c in EVENT_COLUMNS} for r in rows])


def row(dispute: str, play: str, status: str, at: str, resolution: str = "", actor: str = "radio-north") -> dict:
    return {
        "dispute_id": dispute,
        "play_id": play,
        "status": status,
        "resolution": resolution,
        "actor": actor,
        "at": at,
        "note": "wrong track",
    }


def test_event_files_are_replayed_and_bad_rows_name_file_row_and_field(tmp_path):
    folder = tmp_path / "disputes"
    write_events(
        folder / "a.csv",
        [
            row("D1", "P1", "pending", "2026-11-05T09:00:00Z"),
            row("D1", "P1", "verified", "2026-11-05T10:00:00+01:00"),  # 09:00 UTC: same time is fine
            row("D2", "P2", "pending", "not a time"),
            row("D3", "P9", "pending", "2026-11-05T09:00:00Z"),
        ],
    )
    write_events(
        folder / "b.csv",
        [
            row("D1", "P1", "review", "2026-11-06T09:00:00Z"),  # skips resolving
            row("D4", "P2", "pending", "2026-11-06T09:00:00Z", actor=""),
            row("D5", "P2", "opened", "2026-11-06T09:00:00Z"),
        ],
    )
    history = read_disputes(folder, PLAYS)
    assert {d: (s.status, s.updated_at) for d, s in history.states.items()} == {
        "D1": ("verified", datetime(2026, 11, 5, 9))
    }
    found = sorted((Path(r.source_file).name, r.row_number, r.field) for r in history.rejects)
    assert found == [
        ("a.csv", 4, "at"),
        ("a.csv", 5, "play_id"),
        ("b.csv", 2, "status"),
        ("b.csv", 3, "actor"),
        ("b.csv", 4, "status"),
    ]
    skipped = next(r for r in history.rejects if r.source_file.endswith("b.csv") and r.row_number == 2)
    assert "the next step is resolving" in skipped.reason


def test_step_order_check_finds_gaps_and_time_going_backwards():
    good = replay([event("pending", "2026-11-05 09:00"), event("verified", "2026-11-05 10:00")], PLAYS)
    frame = events_frame(good)
    assert step_order_violations(frame) == []
    gap = frame.with_columns(status=pl.Series(["pending", "resolving"]))
    backwards = frame.with_columns(pl.Series(EVENT_TIME, [datetime(2026, 11, 5, 9), datetime(2026, 11, 4, 9)]))
    assert step_order_violations(gap) == ["D1: steps ['pending', 'resolving']"]
    assert step_order_violations(backwards) == ["D1: timestamps go backwards"]


def test_the_commands_append_validated_steps(tmp_path):
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path)]
    opened = runner.invoke(
        royalties,
        [*base, "dispute", "open", "P1", "--actor", "artist-a", "--as", "artist", "--note", "not ours"]
        + ["--at", "2026-11-05T09:00:00Z"],
    )
    assert opened.exit_code == 0, opened.output
    dispute_id = opened.output.strip()
    file = tmp_path / "inbox" / "royalties" / "disputes" / f"{dispute_id}.csv"
    before = file.read_bytes()

    analyst = ["--actor", "analyst", "--as", "analyst"]
    skipped = runner.invoke(royalties, [*base, "dispute", "step", dispute_id, "review", *analyst])
    assert skipped.exit_code != 0 and "the next step is verified" in skipped.output
    early = runner.invoke(
        royalties,
        [*base, "dispute", "step", dispute_id, "verified", *analyst, "--at", "2026-11-04T09:00:00Z"],
    )
    assert early.exit_code != 0 and "before the pending step" in early.output
    assert file.read_bytes() == before  # refused steps leave the file untouched

    for status in ("verified", "resolving", "review"):
        done = runner.invoke(
            royalties,
            [*base, "dispute", "step", dispute_id, status, *analyst, "--at", "2026-11-06T09:00:00Z"],
        )
        assert done.exit_code == 0, done.output
    admin = ["--actor", "rights manager", "--as", "rights_admin"]
    unresolved = runner.invoke(royalties, [*base, "dispute", "step", dispute_id, "resolved", *admin])
    assert unresolved.exit_code != 0 and "needs a resolution" in unresolved.output
    by_analyst = runner.invoke(
        royalties, [*base, "dispute", "step", dispute_id, "resolved", *analyst, "--resolution", "upheld"]
    )
    assert by_analyst.exit_code != 0 and "only rights_admin may" in by_analyst.output
    no_role = runner.invoke(royalties, [*base, "dispute", "step", dispute_id, "resolved", "--actor", "x"])
    assert no_role.exit_code == 2 and "--as" in no_role.output
    resolved = runner.invoke(
        royalties,
        [
            *base,
            "dispute",
            "step",
            dispute_id,
            "resolved",
            *admin,
            "--resolution",
            "upheld",
            "--note",
            "station confirmed",
        ],
    )
    assert resolved.exit_code == 0, resolved.output
    assert file.read_bytes().startswith(before)  # append-only
    history = read_disputes(file.parent, PLAYS)
    assert history.rejects == []
    assert [e.status for e in history.events] == ["pending", "verified", "resolving", "review", "resolved"]
    assert history.states[dispute_id].resolution == "upheld"
    assert not list(file.parent.glob(".*.part"))
    unknown = runner.invoke(royalties, [*base, "dispute", "step", "D-nope", "verified", *analyst])
    assert unknown.exit_code != 0 and "no dispute D-nope" in unknown.output


# ---- the asset on DuckDB and PostgreSQL ------------------------------------------------------------------


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path) -> Warehouse:
    if request.param == "duckdb":
        return Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    return Warehouse(request.getfixturevalue("postgres_server").create_database("royalties_disputes"))


def seed_plays(db: Warehouse) -> None:
    rows = [
        {
            "play_id": p,
            "station_id": s,
            "track_id": "T1",
            "play_date": d,
            "start_utc": datetime(d.year, d.month, d.day, 12),
            "end_utc": datetime(d.year, d.month, d.day, 12, 3),
            "duration_s": 180,
            "confidence": 0.9,
            "detection_count": 6,
            "speed": 1.0,
            "runner_up_track_id": None,
            "runner_up_confidence": None,
            "aired_start_utc": None,
        }
        for p, (s, d) in PLAYS.items()
    ]
    db.replace(PLAYLOGS, PLAYLOGS.from_rows(rows))


def test_disputes_asset_stores_states_quarantines_and_queues_changed_station_days(warehouse, tmp_path):
    db = warehouse
    seed_plays(db)
    folder = tmp_path / "data" / "inbox" / "royalties" / "disputes"
    write_events(
        folder / "D1.csv",
        [row("D1", "P1", "pending", "2026-11-05T09:00:00Z"), row("D1", "P1", "verified", "2026-11-05T10:00:00Z")],
    )
    write_events(
        folder / "D2.csv",
        [
            row("D2", "P2", "pending", "2026-11-05T09:00:00Z"),
            row("D2", "P2", "resolved", "2026-11-05T09:30:00Z", "upheld"),
        ],
    )
    write_events(folder / "D3.csv", [row("D3", "P9", "pending", "2026-11-05T09:00:00Z")])
    resources = {
        "warehouse": WarehouseResource(url=db.url),
        "data_dir": DataDirResource(data_dir=str(tmp_path / "data")),
    }

    def run():
        result = materialize([disputes, disputes_follow_step_order], resources=resources)
        assert result.success
        [check] = result.get_asset_check_evaluations()
        assert check.passed
        return result.asset_materializations_for_node("royalties__disputes")[0].metadata

    first = run()
    assert first["station_days_queued"].value == 2
    current = db.read(DISPUTES).sort("dispute_id")
    assert current.select("dispute_id", "station_id", "play_date", "status", "resolution").rows() == [
        ("D1", "radio-north", date(2026, 11, 2), "verified", None),
        ("D2", "radio-south", date(2026, 11, 3), "pending", None),
    ]
    assert db.read(DISPUTE_EVENTS).height == 3
    rejected = db.read(QUARANTINE, "asset = 'royalties/disputes'").sort("source_file")
    assert [(Path(f).name, r, fld) for f, r, fld in rejected.select("source_file", "row_number", "field").rows()] == [
        ("D2.csv", 3, "status"),
        ("D3.csv", 2, "play_id"),
    ]

    assert run()["station_days_queued"].value == 0  # the same files: nothing changed, nothing queued
    assert db.read(RESTATEMENT_QUEUE).height == 2

    with (folder / "D2.csv").open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(["D2", "P2", "verified", "", "analyst", "2026-11-06T09:00:00Z", ""])
    third = run()
    assert third["station_days_queued"].value == 1
    queue = db.read(RESTATEMENT_QUEUE).sort("requested_at", "station_id")
    assert queue.select("station_id", "play_date").rows()[-1] == ("radio-south", date(2026, 11, 3))
    assert "D2" in queue["reason"].to_list()[-1]
    assert db.read(DISPUTES, "dispute_id = 'D2'")["status"].to_list() == ["verified"]
    assert db.read(QUARANTINE, "asset = 'royalties/disputes'").height == 2  # replaced on each run, not piled up
