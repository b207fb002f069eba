"""Reference data keeps its last good version: unreadable files, rejected rows and bulk removals move nothing."""

from datetime import date
from decimal import Decimal

import polars as pl

from backbeat.common.reference import HoldPolicy, append_approval, read_approvals, reconcile

KEY = ["station_id", "effective_from"]
SCHEMA = {"station_id": pl.Utf8, "effective_from": pl.Date, "rate": pl.Decimal(18, 6)}


def tariffs(*rows) -> pl.DataFrame:
    return pl.DataFrame([dict(zip(SCHEMA, r, strict=True)) for r in rows], schema=SCHEMA)


PREVIOUS = tariffs(
    ("radio-north", date(2026, 1, 1), Decimal("0.01")),
    ("radio-south", date(2026, 1, 1), Decimal("0.02")),
    ("radio-east", date(2026, 1, 1), Decimal("0.03")),
)


def stations(frame: pl.DataFrame) -> list[str]:
    return sorted(frame["station_id"].to_list())


def test_unreadable_file_keeps_everything():
    result = reconcile("royalties/tariffs", PREVIOUS, tariffs(), KEY, complete=False)
    assert result.unreadable and result.frame.equals(PREVIOUS)
    assert result.kept == 3


def test_rejected_row_keeps_its_previous_value():
    incoming = tariffs(
        ("radio-south", date(2026, 1, 1), Decimal("0.02")), ("radio-east", date(2026, 1, 1), Decimal("0.03"))
    )
    result = reconcile(
        "royalties/tariffs", PREVIOUS, incoming, KEY, complete=True, rejected_keys={("radio-north", date(2026, 1, 1))}
    )
    assert stations(result.frame) == ["radio-east", "radio-north", "radio-south"]
    assert result.kept == 1 and result.removed == 0 and not result.held
    north = result.frame.filter(pl.col("station_id") == "radio-north")["rate"].item()
    assert north == Decimal("0.01")


def test_rejected_row_with_unreadable_key_means_the_file_removes_nothing():
    incoming = tariffs(("radio-south", date(2026, 1, 1), Decimal("0.05")))
    result = reconcile("royalties/tariffs", PREVIOUS, incoming, KEY, complete=True, unknown_rejects=True)
    assert stations(result.frame) == ["radio-east", "radio-north", "radio-south"]
    assert result.frame.filter(pl.col("station_id") == "radio-south")["rate"].item() == Decimal("0.05")


def test_valid_file_omitting_a_third_of_the_rows_is_held_until_approved(tmp_path):
    incoming = PREVIOUS.filter(pl.col("station_id") != "radio-north")
    held = reconcile("royalties/tariffs", PREVIOUS, incoming, KEY, complete=True)
    assert held.held and held.removed == 1 and stations(held.frame) == stations(PREVIOUS)
    assert held.change_id.startswith("royalties/tariffs:")
    assert held.examples == ["radio-north 2026-01-01"]

    append_approval(tmp_path, held.change_id, "controller@label")
    approved = read_approvals(tmp_path)
    again = reconcile("royalties/tariffs", PREVIOUS, incoming, KEY, complete=True, approved=approved)
    assert again.change_id == held.change_id and not again.held
    assert stations(again.frame) == ["radio-east", "radio-south"]


def test_small_removal_applies_and_reroutes_count():
    many = tariffs(*[(f"s{i:02}", date(2026, 1, 1), Decimal("0.01")) for i in range(20)])
    one_gone = many.filter(pl.col("station_id") != "s05")
    applied = reconcile("royalties/tariffs", many, one_gone, KEY, complete=True)
    assert not applied.held and applied.removed == 1 and applied.frame.height == 19

    rerouted = many.with_columns(
        rate=pl.when(pl.col("station_id") < "s10")
        .then(Decimal("0.09"))
        .otherwise(pl.col("rate"))
        .cast(pl.Decimal(18, 6))
    )
    held = reconcile("royalties/tariffs", many, rerouted, KEY, complete=True, routing=["rate"])
    assert held.held and held.rerouted == 10
    assert held.frame.sort("station_id").equals(many.sort("station_id"))
    relaxed = reconcile(
        "royalties/tariffs", many, rerouted, KEY, complete=True, routing=["rate"], policy=HoldPolicy(max_share=0.6)
    )
    assert not relaxed.held and relaxed.frame.sort("station_id").equals(rerouted.sort("station_id"))


def test_first_load_is_never_held():
    result = reconcile("royalties/tariffs", tariffs(), PREVIOUS, KEY, complete=True)
    assert not result.held and result.frame.equals(PREVIOUS)
