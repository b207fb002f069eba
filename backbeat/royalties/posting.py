"""What a station-day of plays should post to the ledger, computed set-wise with polars (no warehouse, no Dagster).

For every play: the station owes `seconds × rate` of the tariff in force that day (integer minor units,
half-to-even), and the parties of the split that applies on the play's day are owed that amount, divided by the
largest remainder method so the credits always sum exactly to the debit. The split that applies is the
recording's own approved split if it has one that day, else its work's. Without a split the credit sits in
suspense; while the play is disputed it sits in hold; a play whose dispute was upheld is not paid at all.

A missing pool is never someone else's money: a work's split covers the writer and publisher pools, a
recording's the performer and label pools (`roles.SUBJECT_GROUPS`). The weight of a pool the split set does not
fill — absent (a publishers table that was not read) or short of 100 % — is credited to suspense, not
re-weighted to the pools present.

`desired_lines` turns plays and their reference data into those lines; `basis_hashes` fingerprints them per
station-day, so the ledger (`backbeat.royalties.ledger`) posts a station-day again only when they change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import polars as pl

from backbeat.rights.roles import FULL_SHARE_BP, GROUP_WEIGHT, ROLE_GROUP, SUBJECT_GROUPS
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.tables import HOLD, PAYABLE, RECEIVABLE, SUSPENSE

POSTING, REVERSAL = "posting", "reversal"
RATE_SCALE = 6  # tariffs store DECIMAL(18, 6): a rate is an integer number of millionths of a currency unit
KEY = ["station_id", "posted_for"]

LINE_SCHEMA: dict[str, pl.DataType] = {
    "station_id": pl.Utf8(),
    "posted_for": pl.Date(),
    "play_id": pl.Utf8(),
    "recording_id": pl.Utf8(),
    "account": pl.Utf8(),
    "party_id": pl.Utf8(),
    "amount_minor": pl.Int64(),
    "currency": pl.Utf8(),
    "tariff_id": pl.Utf8(),
    "line_no": pl.Int64(),
}
"""Desired lines: what a station-day's batch should hold, before batch id, period and time are assigned."""


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


def rate_in_millionths(rate: Decimal) -> int:
    """`rate` as an exact integer of 10⁻⁶ currency units; a rate with finer precision is an error, not rounded."""
    scaled = Decimal(rate).scaleb(RATE_SCALE)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"rate {rate} has more than {RATE_SCALE} decimal places")
    return int(scaled)


def tariffs_for_station_days(tariffs: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """The tariff in force on each (station_id, posted_for) of `keys`: tariff_id, currency, rate_micro, exponent.

    Station-days without a tariff in force are absent. Same rule as `tariff_in_force`, set-wise.
    """
    schema = {
        **{k: keys.schema[k] for k in KEY},
        "tariff_id": pl.Utf8(),
        "currency": pl.Utf8(),
        "rate_micro": pl.Int64(),
        "exponent": pl.Int64(),
    }
    if tariffs.is_empty() or keys.is_empty():
        return pl.DataFrame(schema=schema)
    priced = tariffs.select(
        "tariff_id",
        "station_id",
        "currency",
        "effective_from",
        "effective_to",
        rate_micro=pl.Series([rate_in_millionths(r) for r in tariffs["rate_per_second"].to_list()], dtype=pl.Int64),
        exponent=pl.col("currency").replace_strict(MINOR_UNIT_EXPONENT, return_dtype=pl.Int64),
    )
    return (
        keys.select(KEY)
        .unique()
        .join(priced, on="station_id", how="inner")
        .filter(
            (pl.col("effective_from") <= pl.col("posted_for"))
            & (pl.col("effective_to").is_null() | (pl.col("effective_to") > pl.col("posted_for")))
        )
        .sort([*KEY, "effective_from"], descending=[False, False, True])
        .unique(KEY, keep="first", maintain_order=True)
        .select(list(schema))
    )


def minor_units(duration_s: pl.Expr, rate_micro: pl.Expr, exponent: pl.Expr) -> pl.Expr:
    """`duration_s × rate` in whole minor units, half-to-even, in exact integer arithmetic (= `to_minor_units`)."""
    numerator = duration_s.abs() * rate_micro * pl.lit(10, pl.Int64).pow(exponent)
    denominator = 10**RATE_SCALE
    quotient, remainder = numerator // denominator, numerator % denominator
    round_up = (2 * remainder > denominator) | ((2 * remainder == denominator) & (quotient % 2 == 1))
    return (quotient + round_up.cast(pl.Int64)) * duration_s.sign()


def split_weights(track_days: pl.DataFrame, recordings: pl.DataFrame, splits: pl.DataFrame) -> pl.DataFrame:
    """Party weights of the split that applies to each (track_id, play_date): track_id, play_date, party_id, weight.

    The recording's own approved split in force that day if any, else its work's (`recordings.work_id`). A
    party's weight is Σ over its rows of GROUP_WEIGHT[role_group] × share_bp. The pools the subject has
    (`SUBJECT_GROUPS`) that the split leaves uncovered give a row with a null party_id (suspense) weighing
    Σ GROUP_WEIGHT[pool] × (10000 − the pool's share_bp): a pool nobody is in keeps its money in suspense rather
    than passing it to the pools present. Should two split sets of one subject overlap, the latest `valid_from`
    wins (then the greatest split_set_id), so the choice is deterministic. Track-days without a split are absent.
    """
    out_schema = {"track_id": pl.Utf8(), "play_date": pl.Date(), "party_id": pl.Utf8(), "weight": pl.Int64()}
    if track_days.is_empty() or splits.is_empty():
        return pl.DataFrame(schema=out_schema)
    days = (
        track_days.select("track_id", "play_date")
        .unique()
        .join(recordings.select(track_id="recording_id", work_id="work_id"), on="track_id", how="left")
    )
    shares = (
        splits.with_columns(
            role_group=pl.coalesce("role_group", pl.col("role").replace_strict(ROLE_GROUP, default=None)),
        )
        .with_columns(
            weight=pl.col("role_group").replace_strict(GROUP_WEIGHT, default=0, return_dtype=pl.Int64)
            * pl.col("share_bp").fill_null(0),
        )
        .filter(pl.col("weight") > 0)
    )
    cols = [
        "track_id",
        "play_date",
        "split_set_id",
        "subject_type",
        "valid_from",
        "valid_to",
        "party_id",
        "role_group",
        "share_bp",
        "weight",
    ]
    candidates = pl.concat(
        [
            days.join(shares.filter(pl.col("subject_type") == "recording"), left_on="track_id", right_on="subject_id")
            .select(cols)
            .with_columns(priority=pl.lit(0)),
            days.filter(pl.col("work_id").is_not_null())
            .join(shares.filter(pl.col("subject_type") == "work"), left_on="work_id", right_on="subject_id")
            .select(cols)
            .with_columns(priority=pl.lit(1)),
        ]
    ).filter(
        (pl.col("valid_from").is_null() | (pl.col("valid_from") <= pl.col("play_date")))
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("play_date")))
    )
    chosen = (
        candidates.select("track_id", "play_date", "priority", "valid_from", "split_set_id")
        .unique()
        .sort(
            ["track_id", "play_date", "priority", "valid_from", "split_set_id"],
            descending=[False, False, False, True, True],
            nulls_last=True,
        )
        .unique(["track_id", "play_date"], keep="first", maintain_order=True)
        .select("track_id", "play_date", "priority", "split_set_id")
    )
    picked = candidates.join(chosen, on=["track_id", "play_date", "priority", "split_set_id"], how="semi")
    parties = picked.group_by("track_id", "play_date", "party_id").agg(pl.col("weight").sum())
    return pl.concat(
        [
            parties.select(list(out_schema)).cast(out_schema),
            uncovered_pools(picked).select(list(out_schema)).cast(out_schema),
        ]
    ).filter(pl.col("weight") > 0)


def uncovered_pools(picked: pl.DataFrame) -> pl.DataFrame:
    """track_id, play_date, party_id (null), weight: the weight of the subject's pools the chosen split leaves
    uncovered — a pool with no line, or whose shares sum below 100 % — which posts to suspense."""
    expected = pl.DataFrame(
        [(subject, group, GROUP_WEIGHT[group]) for subject, groups in SUBJECT_GROUPS.items() for group in groups],
        schema={"subject_type": pl.Utf8, "role_group": pl.Utf8, "pool_weight": pl.Int64},
        orient="row",
    )
    covered = picked.group_by("track_id", "play_date", "role_group").agg(covered_bp=pl.col("share_bp").sum())
    return (
        picked.select("track_id", "play_date", "subject_type")
        .unique()
        .join(expected, on="subject_type")
        .join(covered, on=["track_id", "play_date", "role_group"], how="left")
        .with_columns(
            weight=pl.col("pool_weight")
            * (FULL_SHARE_BP - pl.col("covered_bp").fill_null(0).cast(pl.Int64)).clip(lower_bound=0)
        )
        .group_by("track_id", "play_date")
        .agg(pl.col("weight").sum())
        .with_columns(party_id=pl.lit(None, pl.Utf8))
    )


def allocate_largest_remainder(
    frame: pl.DataFrame, group: list[str], total: str, weight: str, order: str, into: str = "part"
) -> pl.DataFrame:
    """`frame` plus column `into`: each group's `total` split over its rows in proportion to `weight`.

    Set-wise twin of `money.allocate`: everyone gets the floor of their exact share, the units left over go one
    each to the largest remainders, ties to the smaller `order` value. Parts sum exactly to the group's total.
    """
    sign = pl.col(total).sign()
    magnitude = pl.col(total).abs()
    whole = pl.col(weight).sum().over(group)
    staged = frame.with_columns(
        _floor=magnitude * pl.col(weight) // whole,
        _rem=magnitude * pl.col(weight) % whole,
    ).with_columns(_left=magnitude - pl.col("_floor").sum().over(group))
    staged = staged.sort([*group, "_rem", order], descending=[*(False for _ in group), True, False])
    staged = staged.with_columns(_rank=pl.int_range(pl.len()).over(group))
    return staged.with_columns(
        (sign * (pl.col("_floor") + (pl.col("_rank") < pl.col("_left")).cast(pl.Int64))).alias(into)
    ).drop("_floor", "_rem", "_left", "_rank")


def dispute_states(disputes: pl.DataFrame) -> pl.DataFrame:
    """One row per disputed play: play_id, dispute_state 'upheld' | 'open' | 'rejected'.

    An upheld dispute wins (the play is not paid); otherwise any dispute not resolved (or resolved without a
    resolution) holds the play; a play whose every dispute was rejected is paid normally.
    """
    if disputes.is_empty():
        return pl.DataFrame(schema={"play_id": pl.Utf8(), "dispute_state": pl.Utf8()})
    rank = (
        pl.when((pl.col("status") == "resolved") & (pl.col("resolution") == "upheld"))
        .then(3)
        .when((pl.col("status") == "resolved") & (pl.col("resolution") == "rejected"))
        .then(1)
        .otherwise(2)
    )
    return (
        disputes.group_by("play_id")
        .agg(rank.max().alias("_rank"))
        .select(
            "play_id",
            dispute_state=pl.col("_rank").replace_strict({3: "upheld", 2: "open", 1: "rejected"}, return_dtype=pl.Utf8),
        )
    )


@dataclass(frozen=True)
class DesiredPostings:
    """What the station-days should hold: their lines, and the plays that cannot or must not be paid."""

    lines: pl.DataFrame
    """LINE_SCHEMA, in canonical order (station, day, play start, play id, debit first, party)."""
    unpriced: pl.DataFrame
    """station_id, posted_for, play_id of plays with no tariff in force: not posted, to be quarantined."""
    upheld: pl.DataFrame
    """station_id, posted_for, play_id of plays whose dispute was upheld: not paid."""


def desired_lines(
    plays: pl.DataFrame, tariffs: pl.DataFrame, recordings: pl.DataFrame, splits: pl.DataFrame, disputes: pl.DataFrame
) -> DesiredPostings:
    """The lines the plays' station-days should hold.

    `plays`: play_id, station_id, track_id, play_date, start_utc, duration_s. `tariffs`: royalties.tariffs rows
    of the plays' stations. `recordings`: recording_id, work_id. `splits`: rights.splits rows of the plays'
    recordings and works. `disputes`: play_id, status, resolution.
    """
    plays = plays.rename({"play_date": "posted_for"})
    priced = plays.join(tariffs_for_station_days(tariffs, plays), on=KEY, how="left")
    unpriced = priced.filter(pl.col("tariff_id").is_null()).select(*KEY, "play_id")
    priced = (
        priced.filter(pl.col("tariff_id").is_not_null())
        .join(dispute_states(disputes), on="play_id", how="left")
        .with_columns(amount=minor_units(pl.col("duration_s"), pl.col("rate_micro"), pl.col("exponent")))
    )
    upheld = priced.filter(pl.col("dispute_state") == "upheld").select(*KEY, "play_id")
    paid = priced.filter(pl.col("dispute_state").is_null() | (pl.col("dispute_state") != "upheld")).with_columns(
        held=pl.col("dispute_state") == "open"
    )
    paid = paid.with_columns(held=pl.col("held").fill_null(False))

    weights = split_weights(paid.select("track_id", play_date="posted_for"), recordings, splits).rename(
        {"play_date": "posted_for"}
    )
    shared = paid.join(weights, on=["track_id", "posted_for"], how="inner")
    shared = allocate_largest_remainder(shared, ["play_id"], "amount", "weight", "party_id", into="credit")
    credits = shared.select(
        *KEY,
        "play_id",
        "track_id",
        "start_utc",
        "currency",
        "tariff_id",
        account=pl.when(pl.col("held"))
        .then(pl.lit(HOLD))
        .when(pl.col("party_id").is_null())
        .then(pl.lit(SUSPENSE))
        .otherwise(pl.lit(PAYABLE)),
        party_id="party_id",
        amount_minor=-pl.col("credit"),
    )
    unshared = paid.join(weights.select("track_id", "posted_for").unique(), on=["track_id", "posted_for"], how="anti")
    parked = unshared.select(
        *KEY,
        "play_id",
        "track_id",
        "start_utc",
        "currency",
        "tariff_id",
        account=pl.when(pl.col("held")).then(pl.lit(HOLD)).otherwise(pl.lit(SUSPENSE)),
        party_id=pl.lit(None, pl.Utf8),
        amount_minor=-pl.col("amount"),
    )
    debits = paid.select(
        *KEY,
        "play_id",
        "track_id",
        "start_utc",
        "currency",
        "tariff_id",
        account=pl.lit(RECEIVABLE),
        party_id=pl.lit(None, pl.Utf8),
        amount_minor=pl.col("amount"),
    )
    lines = pl.concat(
        [debits, credits.filter(pl.col("amount_minor") != 0), parked.filter(pl.col("amount_minor") != 0)],
        how="vertical_relaxed",
    )
    lines = (
        lines.with_columns(_debit_first=(pl.col("account") != RECEIVABLE).cast(pl.Int8))
        .sort([*KEY, "start_utc", "play_id", "_debit_first", "party_id"], nulls_last=False)
        .with_columns(line_no=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(KEY))
        .select(
            *KEY,
            "play_id",
            recording_id="track_id",
            account="account",
            party_id="party_id",
            amount_minor="amount_minor",
            currency="currency",
            tariff_id="tariff_id",
            line_no="line_no",
        )
        .cast(LINE_SCHEMA)
    )
    return DesiredPostings(lines, unpriced, upheld)


def basis_hashes(lines: pl.DataFrame, by: Sequence[str] = tuple(KEY)) -> pl.DataFrame:
    """`by` columns (default station_id, posted_for) and basis_hash: SHA-256 of each group's lines, canonical.

    The canonical form is every line's play, recording, account, party, amount, currency and tariff, in line
    order; batch ids, periods and times are left out, so the same payments hash the same whenever computed.
    """
    by = list(by)
    if lines.is_empty():
        return pl.DataFrame(schema={**{k: lines.schema[k] for k in by}, "basis_hash": pl.Utf8()})
    text = pl.concat_str(
        [
            pl.col(c).cast(pl.Utf8).fill_null("")
            for c in ("play_id", "recording_id", "account", "party_id", "amount_minor", "currency", "tariff_id")
        ],
        separator="\t",
    )
    joined = (
        lines.sort([*by, "line_no"])
        .select(*by, _text=text)
        .group_by(by, maintain_order=True)
        .agg(pl.col("_text").str.join("\n"))
    )
    digests = [hashlib.sha256(t.encode()).hexdigest() for t in joined["_text"].to_list()]
    return joined.select(by).with_columns(basis_hash=pl.Series(digests, dtype=pl.Utf8))


def describe_changes(old: pl.DataFrame, new: pl.DataFrame, upheld: pl.DataFrame) -> pl.DataFrame:
    """station_id, posted_for, changes: in words, what differs between a station-day's posted and desired lines.

    Compares play by play: plays added or removed, a dispute opened / resolved / upheld, a tariff changed,
    suspense released to parties or taken back, party credits changed.
    """

    def per_play(lines: pl.DataFrame) -> pl.DataFrame:
        credit = pl.col("account").is_in([PAYABLE, HOLD])
        return lines.group_by(*KEY, "play_id").agg(
            debit=pl.col("amount_minor").filter(pl.col("account") == RECEIVABLE).sum(),
            tariff=pl.col("tariff_id").first(),
            held=(pl.col("account") == HOLD).any(),
            suspense=(
                (pl.col("account") == SUSPENSE) | ((pl.col("account") == HOLD) & pl.col("party_id").is_null())
            ).any(),
            credits=pl.concat_str(
                [pl.col("party_id").fill_null(""), pl.col("amount_minor").cast(pl.Utf8)], separator=":"
            )
            .filter(credit)
            .sort()
            .str.join(","),
        )

    both = per_play(old).join(per_play(new), on=[*KEY, "play_id"], how="full", coalesce=True, suffix="_new")
    both = both.join(upheld.with_columns(_upheld=pl.lit(True)), on=[*KEY, "play_id"], how="left")
    present, present_new = pl.col("debit").is_not_null(), pl.col("debit_new").is_not_null()
    kept = present & present_new
    labels = {
        "play added": ~present & present_new,
        "dispute upheld, play not paid": present & ~present_new & pl.col("_upheld").fill_null(False),
        "play removed": present & ~present_new & ~pl.col("_upheld").fill_null(False),
        "dispute opened, credits held": kept & ~pl.col("held") & pl.col("held_new"),
        "dispute rejected, credits released": kept & pl.col("held") & ~pl.col("held_new"),
        "tariff changed": kept
        & ((pl.col("tariff") != pl.col("tariff_new")) | (pl.col("debit") != pl.col("debit_new"))),
        "split approved, suspense released": kept & pl.col("suspense") & ~pl.col("suspense_new"),
        "split withdrawn, credits to suspense": kept & ~pl.col("suspense") & pl.col("suspense_new"),
        "split changed": kept
        & ~pl.col("suspense")
        & ~pl.col("suspense_new")
        & (pl.col("held") == pl.col("held_new"))
        & (pl.col("debit") == pl.col("debit_new"))
        & (pl.col("credits") != pl.col("credits_new")),
    }
    counts = both.group_by(KEY).agg(**{f"_{i}": flag.fill_null(False).sum() for i, flag in enumerate(labels.values())})
    parts = [
        pl.when(pl.col(f"_{i}") == 1)
        .then(pl.lit(f"{label} (1 play)"))
        .when(pl.col(f"_{i}") > 1)
        .then(pl.format(f"{label} ({{}} plays)", pl.col(f"_{i}")))
        for i, label in enumerate(labels)
    ]
    return counts.select(*KEY, changes=pl.concat_str(parts, separator="; ", ignore_nulls=True).fill_null(""))
