"""A missing pool is never someone else's money: the share of a work's (or recording's) pools that its split does
not cover is credited to suspense, never re-weighted to the pools present (issue 13, point 6)."""

from datetime import date, datetime

import polars as pl

from backbeat.royalties.posting import desired_lines, split_weights

DAY = date(2026, 3, 2)
RECORDINGS = pl.DataFrame({"recording_id": ["T1", "T2"], "work_id": ["W1", "W2"]})
TARIFFS = pl.DataFrame(
    {
        "tariff_id": ["t"],
        "station_id": ["north"],
        "currency": ["EUR"],
        "rate_per_second": ["0.0125"],
        "effective_from": [date(2026, 1, 1)],
        "effective_to": [None],
    },
    schema_overrides={"effective_to": pl.Date},
)
NO_DISPUTES = pl.DataFrame(schema={"play_id": pl.Utf8, "status": pl.Utf8, "resolution": pl.Utf8})


def splits(*rows: tuple[str, str, str, str, int]) -> pl.DataFrame:
    """(split_set_id, subject_id, party_id, role, share_bp) rows of work splits; role group from the role."""
    return pl.DataFrame(
        [
            {
                "split_set_id": s,
                "subject_type": "work",
                "subject_id": w,
                "party_id": p,
                "role": r,
                "role_group": None,
                "share_bp": bp,
                "valid_from": None,
                "valid_to": None,
            }
            for s, w, p, r, bp in rows
        ],
        schema={
            "split_set_id": pl.Utf8,
            "subject_type": pl.Utf8,
            "subject_id": pl.Utf8,
            "party_id": pl.Utf8,
            "role": pl.Utf8,
            "role_group": pl.Utf8,
            "share_bp": pl.Int64,
            "valid_from": pl.Date,
            "valid_to": pl.Date,
        },
    )


def plays(*rows: tuple[str, str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "play_id": p,
                "station_id": "north",
                "track_id": t,
                "play_date": DAY,
                "start_utc": datetime(2026, 3, 2, 6, i),
                "duration_s": d,
            }
            for i, (p, t, d) in enumerate(rows)
        ]
    )


def credits(rows: pl.DataFrame) -> list[tuple[str, str, str | None, int]]:
    lines = desired_lines(plays(("p1", "T1", 181), ("p2", "T2", 200)), TARIFFS, RECORDINGS, rows, NO_DISPUTES).lines
    return lines.select("play_id", "account", "party_id", "amount_minor").rows()


def test_writers_only_split_leaves_the_publishers_half_in_suspense():
    # The sheet: writers 50/50 read, the separate publishers table not read.
    rows = splits(
        ("S1", "W1", "A", "writer", 5000),
        ("S1", "W1", "B", "writer", 5000),
        ("S2", "W2", "A", "writer", 5000),
        ("S2", "W2", "B", "composer", 5000),
        ("S2", "W2", "P", "publisher", 10000),
    )
    assert credits(rows) == [
        # 181 s × 0.0125 = 2.2625 → 226; writers get their 50 % pool (56 + 57 after largest remainder), the
        # publishers' 50 % (113) stays in suspense instead of doubling the writers' money.
        ("p1", "station_receivable", None, 226),
        ("p1", "suspense", None, -113),
        ("p1", "party_payable", "A", -57),
        ("p1", "party_payable", "B", -56),
        # A complete split pays everything out: nothing in suspense.
        ("p2", "station_receivable", None, 250),
        ("p2", "party_payable", "A", -63),
        ("p2", "party_payable", "B", -62),
        ("p2", "party_payable", "P", -125),
    ]


def test_a_pool_short_of_100_percent_sends_only_the_shortfall_to_suspense():
    # Writers read at 60 % in all (a third writer's row lost); publisher 100 %. Uncovered: 50 × 4000 of 1_000_000.
    rows = splits(
        ("S1", "W1", "A", "writer", 3000), ("S1", "W1", "B", "writer", 3000), ("S1", "W1", "P", "publisher", 10000)
    )
    got = sorted(
        split_weights(pl.DataFrame({"track_id": ["T1"], "play_date": [DAY]}), RECORDINGS, rows).rows(),
        key=lambda r: r[2] or "",
    )
    assert got == [
        ("T1", DAY, None, 200_000),
        ("T1", DAY, "A", 150_000),
        ("T1", DAY, "B", 150_000),
        ("T1", DAY, "P", 500_000),
    ]
    money = dict(((a, p), v) for _, a, p, v in credits(rows) if _ == "p1")
    assert money == {
        ("station_receivable", None): 226,
        ("suspense", None): -45,
        ("party_payable", "A"): -34,
        ("party_payable", "B"): -34,
        ("party_payable", "P"): -113,
    }
    assert sum(v for (a, _), v in money.items() if a != "station_receivable") == -226  # credits sum to the debit


def test_a_held_play_holds_the_uncovered_share_too():
    rows = splits(("S1", "W1", "A", "writer", 10000))
    disputes = pl.DataFrame({"play_id": ["p1"], "status": ["pending"], "resolution": [None]})
    lines = desired_lines(plays(("p1", "T1", 181)), TARIFFS, RECORDINGS, rows, disputes).lines
    assert lines.select("account", "party_id", "amount_minor").rows() == [
        ("station_receivable", None, 226),
        ("hold", None, -113),
        ("hold", "A", -113),
    ]
