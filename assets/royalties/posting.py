"""Post one station-day of plays to the double-entry ledger: the station owes, the parties are owed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import polars as pl

from assets.royalties.money import allocate, to_minor_units
from assets.royalties.tables import LEDGER

RECEIVABLE, PAYABLE, SUSPENSE = "station_receivable", "party_payable", "suspense"


@dataclass(frozen=True)
class Tariff:
    tariff_id: str
    currency: str
    rate_per_second: Decimal


def tariff_in_force(tariffs: pl.DataFrame, station_id: str, day: date) -> Tariff | None:
    """The station's rate on `day`: the one whose [effective_from, effective_to) contains it."""
    rows = tariffs.filter(
        (pl.col("station_id") == station_id)
        & (pl.col("effective_from") <= day)
        & (pl.col("effective_to").is_null() | (pl.col("effective_to") > day))
    ).sort("effective_from", descending=True)
    if rows.is_empty():
        return None
    row = rows.row(0, named=True)
    return Tariff(row["tariff_id"], row["currency"], Decimal(row["rate_per_second"]))


def post_plays(
    plays: pl.DataFrame, work_of_track: dict[str, str | None], shares_of_work: dict[str, list[tuple[str, int]]],
    tariff: Tariff, station_id: str, day: date, posted_at: datetime,
) -> pl.DataFrame:
    """Ledger lines for a station-day's plays, in one batch that balances to zero.

    Each play debits the station its airplay seconds × rate, and credits the work's parties by share
    (largest remainder, so credits sum exactly to the debit); a play whose work has no approved split is
    credited to suspense until one is approved.
    """
    batch_id = f"{station_id}|{day}|{tariff.tariff_id}"
    lines: list[dict] = []

    def line(play_id: str, account: str, party_id: str | None, amount: int) -> None:
        lines.append({"batch_id": batch_id, "line_no": len(lines) + 1, "posted_for": day, "station_id": station_id,
                      "play_id": play_id, "account": account, "party_id": party_id, "amount_minor": amount,
                      "currency": tariff.currency, "tariff_id": tariff.tariff_id, "posted_at": posted_at})

    for play in plays.sort("start_utc", "play_id").iter_rows(named=True):
        amount = to_minor_units(play["duration_s"] * tariff.rate_per_second, tariff.currency)
        line(play["play_id"], RECEIVABLE, None, amount)
        shares = shares_of_work.get(work_of_track.get(play["track_id"]) or "", [])
        if not shares:
            if amount:
                line(play["play_id"], SUSPENSE, None, -amount)
            continue
        for (party_id, _), credit in zip(shares, allocate(-amount, [w for _, w in shares]), strict=True):
            if credit:
                line(play["play_id"], PAYABLE, party_id, credit)
    return LEDGER.from_rows(lines)


def shares_by_work(splits: pl.DataFrame) -> dict[str, list[tuple[str, int]]]:
    """Approved shares per work, summed per party over roles, in party order (for deterministic rounding)."""
    per_party = splits.group_by("work_id", "party_id").agg(pl.col("share_bp").sum()).sort("work_id", "party_id")
    result: dict[str, list[tuple[str, int]]] = {}
    for work_id, party_id, share in per_party.iter_rows():
        result.setdefault(work_id, []).append((party_id, share))
    return result
