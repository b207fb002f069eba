"""Post station-days to the append-only royalty ledger: a few set-wise queries per day, one transaction per call.

For each station-day the desired lines (`posting.desired_lines`) are hashed. The station-day's active batch is
its latest posting batch not reversed. Same hash: nothing is posted (re-running is idempotent). Otherwise the
active batch, if any, is reversed by `{batch_id}|reversal` (its exact negation), and the desired lines, if any,
are posted as `{station}|{day}|{tariff_id}|r{revision}`. Ledger rows are never updated or deleted.

Every query filters on the station-days being posted (`posted_for`/`play_date` = one day and `station_id IN`
the stations), so a day's cost does not grow with the ledger's history: PostgreSQL uses the indexes made by
`ensure_indexes`, DuckDB skips row groups by their min/max (the ledger is appended in day order).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import polars as pl

from audio.plays import overlapping_plays
from backbeat.airplay.tables import PLAYLOGS
from backbeat.common.quarantine import QUARANTINE
from backbeat.rights.tables import RECORDINGS, SPLITS
from backbeat.royalties.ledger_chain import append_batches, headers_from_lines, seal_unsealed
from backbeat.royalties.periods import closed_periods, reporting_period_expr
from backbeat.royalties.posting import (
    HOLD,
    KEY,
    POSTING,
    RECEIVABLE,
    REVERSAL,
    SUSPENSE,
    basis_hashes,
    describe_changes,
    desired_lines,
)
from backbeat.royalties.tables import DISPUTES, LEDGER, LEDGER_BATCHES, TARIFFS
from integrations.warehouse import Warehouse, WarehouseConnection

LEDGER_ASSET = "royalties/royalty_ledger"
_PG_INDEX_LOCK = 0x6C65646765725F69  # advisory lock key serialising first-time CREATE INDEX

INDEXES: tuple[tuple[str, str, str], ...] = (
    ("royalties", "royalty_ledger_station_day", "royalties.royalty_ledger (station_id, posted_for)"),
    ("royalties", "ledger_batches_station_day", "royalties.ledger_batches (station_id, posted_for)"),
    ("airplay", "playlogs_station_day", "airplay.playlogs (station_id, play_date)"),
    ("royalties", "disputes_station_day", "royalties.disputes (station_id, play_date)"),
)
"""(schema, index name, target) of the PostgreSQL indexes a station-day's queries use."""
ONE_DEBIT_PER_PLAY = (
    "royalties",
    "royalty_ledger_one_debit_per_play",
    "royalties.royalty_ledger (batch_id, play_id) WHERE account = 'station_receivable'",
)
"""PostgreSQL: a batch debits a play's station receivable at most once (a partial unique index; DuckDB has none,
`ledger_chain.verify_ledger` checks it there)."""


def ensure_indexes(conn: WarehouseConnection) -> None:
    """Create the station-day indexes of `INDEXES` if missing (idempotent; PostgreSQL only).

    On DuckDB this does nothing: its ART indexes live in memory and must be loaded whole to insert, while
    row-group min/max statistics already skip every day but the one being posted (figures: bench/royalties).
    """
    if conn.kind != "postgres":
        return
    wanted = [(s, n, t, False) for s, n, t in INDEXES] + [(*ONE_DEBIT_PER_PLAY, True)]
    missing = [
        (s, n, t, u) for s, n, t, u in wanted if not conn.scalar("SELECT to_regclass(?) IS NOT NULL", [f"{s}.{n}"])
    ]
    if not missing:
        return
    conn.execute("SELECT pg_advisory_xact_lock(?)", [_PG_INDEX_LOCK])
    for _, name, target, unique in missing:
        conn.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {name} ON {target}")


@dataclass
class PostingSummary:
    """What one `post_station_days` call did. Amounts in minor units, per currency."""

    station_days: int = 0
    unchanged: int = 0
    """Station-days whose desired lines equal their active batch: nothing posted."""
    batches_posted: int = 0
    batches_reversed: int = 0
    plays_posted: int = 0
    """Plays debited in the posting batches written by this call."""
    plays_unpriced: int = 0
    """Plays with no tariff in force: not posted, quarantined."""
    plays_upheld: int = 0
    """Plays whose dispute was upheld: not paid."""
    plays_held: int = 0
    """Plays whose credits sit in hold (open dispute), in the station-days' desired lines."""
    lines_written: int = 0
    debit_minor: dict[str, int] = field(default_factory=dict)
    """Station receivable of the station-days' desired lines."""
    suspense_minor: dict[str, int] = field(default_factory=dict)
    """Credits sitting in suspense (no approved split) in the station-days' desired lines."""
    hold_minor: dict[str, int] = field(default_factory=dict)
    """Credits sitting in hold (disputed plays) in the station-days' desired lines."""
    balance_minor: dict[str, int] = field(default_factory=dict)
    """Sum of every line written by this call: 0 when every batch balances."""

    def add(self, other: PostingSummary) -> None:
        for name, value in vars(other).items():
            if isinstance(value, dict):
                mine = getattr(self, name)
                for currency, amount in value.items():
                    mine[currency] = mine.get(currency, 0) + amount
            else:
                setattr(self, name, getattr(self, name) + value)


def _by_currency(lines: pl.DataFrame, condition: pl.Expr | None = None) -> dict[str, int]:
    if condition is not None:
        lines = lines.filter(condition)
    if lines.is_empty():
        return {}
    sums = lines.group_by("currency").agg(pl.col("amount_minor").sum()).sort("currency")
    return {c: int(a) for c, a in sums.iter_rows()}


def _period(day_col: str, booked: date | None = None) -> pl.Expr:
    """YYYY-MM of the day, or of the booking month when later (corrections are reported when booked)."""
    month = pl.col(day_col).dt.truncate("1mo")
    if booked is not None:
        month = pl.max_horizontal(month, pl.lit(date(booked.year, booked.month, 1)))
    return month.dt.strftime("%Y-%m")


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def _read_inputs(conn: WarehouseConnection, day: date, stations: list[str]) -> dict[str, pl.DataFrame]:
    """Plays, tariffs, recordings, splits, disputes and batch headers of one day's stations."""
    where_plays = f"play_date = ? AND station_id IN ({_marks(stations)})"
    params = [day, *stations]
    played = f"SELECT DISTINCT track_id FROM airplay.playlogs WHERE {where_plays}"
    return {
        "plays": conn.query(
            f"SELECT play_id, station_id, track_id, play_date, start_utc, duration_s FROM airplay.playlogs "
            f"WHERE {where_plays}",
            params,
            {
                k: PLAYLOGS.polars_schema[k]
                for k in ("play_id", "station_id", "track_id", "play_date", "start_utc", "duration_s")
            },
        ),
        "tariffs": conn.query(
            f"SELECT {', '.join(TARIFFS.column_names)} FROM royalties.tariffs WHERE station_id IN ({_marks(stations)})",
            stations,
            TARIFFS.polars_schema,
        ),
        "recordings": conn.query(
            f"SELECT recording_id, work_id FROM rights.recordings WHERE recording_id IN ({played})",
            params,
            {k: RECORDINGS.polars_schema[k] for k in ("recording_id", "work_id")},
        ),
        "splits": conn.query(
            f"SELECT split_set_id, subject_type, subject_id, party_id, role, role_group, share_bp, valid_from, "
            f"valid_to FROM rights.splits WHERE (subject_type = 'recording' AND subject_id IN ({played})) "
            f"OR (subject_type = 'work' AND subject_id IN (SELECT work_id FROM rights.recordings "
            f"WHERE recording_id IN ({played})))",
            params + params,
            {
                k: SPLITS.polars_schema[k]
                for k in (
                    "split_set_id",
                    "subject_type",
                    "subject_id",
                    "party_id",
                    "role",
                    "role_group",
                    "share_bp",
                    "valid_from",
                    "valid_to",
                )
            },
        ),
        "disputes": conn.query(
            f"SELECT play_id, status, resolution FROM royalties.disputes WHERE {where_plays}",
            params,
            {k: DISPUTES.polars_schema[k] for k in ("play_id", "status", "resolution")},
        ),
        "batches": conn.query(
            f"SELECT batch_id, batch_kind, station_id, posted_for, revision, basis_hash, reverses_batch_id "
            f"FROM royalties.ledger_batches WHERE posted_for = ? AND station_id IN ({_marks(stations)})",
            params,
            {
                k: LEDGER_BATCHES.polars_schema[k]
                for k in (
                    "batch_id",
                    "batch_kind",
                    "station_id",
                    "posted_for",
                    "revision",
                    "basis_hash",
                    "reverses_batch_id",
                )
            },
        ),
    }


def active_batches(batches: pl.DataFrame) -> pl.DataFrame:
    """Per station-day: the active batch (latest posting not reversed; null if none) and the last revision used.

    Columns: station_id, posted_for, active_batch_id, active_revision, active_hash, last_revision.
    """
    reversed_ids = batches.filter(pl.col("batch_kind") == REVERSAL)["reverses_batch_id"]
    postings = batches.filter(pl.col("batch_kind") == POSTING)
    last = postings.group_by(KEY).agg(last_revision=pl.col("revision").max())
    active = (
        postings.filter(~pl.col("batch_id").is_in(reversed_ids.implode()))
        .sort([*KEY, "revision"], descending=[False, False, True])
        .unique(KEY, keep="first", maintain_order=True)
        .select(*KEY, active_batch_id="batch_id", active_revision="revision", active_hash="basis_hash")
    )
    return last.join(active, on=KEY, how="left")


def _lock_station_days(conn: WarehouseConnection, day: date, stations: list[str]) -> None:
    """PostgreSQL: hold a transaction lock per station-day, so two runs posting one station-day take turns.

    The second then sees the first's batch and posts nothing (or the next revision) instead of failing on the
    batch id. Locks are taken in (day, station) order, the order calls walk them, so they cannot deadlock.
    DuckDB needs none: one process writes at a time.
    """
    if conn.kind != "postgres":
        return
    conn.execute(
        "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM "
        "(SELECT unnest(CAST(? AS text[])) AS k ORDER BY 1) AS keys",
        [[f"ledger|{day}|{s}" for s in stations]],
    )


def _active_lines(conn: WarehouseConnection, day: date, to_reverse: pl.DataFrame) -> pl.DataFrame:
    """The ledger lines of the active batches about to be reversed (one day's)."""
    if to_reverse.is_empty():
        return LEDGER.empty_frame()
    ids, stations = to_reverse["active_batch_id"].to_list(), to_reverse["station_id"].to_list()
    return conn.query(
        f"SELECT {', '.join(LEDGER.column_names)} FROM royalties.royalty_ledger WHERE posted_for = ? "
        f"AND station_id IN ({_marks(stations)}) AND batch_id IN ({_marks(ids)})",
        [day, *stations, *ids],
        LEDGER.polars_schema,
    )


def _post_day(
    conn: WarehouseConnection, day: date, stations: list[str], booked_at: datetime, reason: str
) -> PostingSummary:
    """Post one day's station-days inside `conn`'s transaction: compare, reverse, re-post, quarantine."""
    _lock_station_days(conn, day, stations)
    inputs = _read_inputs(conn, day, stations)
    _refuse_overlapping_plays(inputs["plays"])
    keys = pl.DataFrame(
        {"station_id": stations, "posted_for": [day] * len(stations)},
        schema={"station_id": pl.Utf8, "posted_for": pl.Date},
    )
    desired = desired_lines(
        inputs["plays"], inputs["tariffs"], inputs["recordings"], inputs["splits"], inputs["disputes"]
    )
    lines = desired.lines
    plan = (
        keys.join(basis_hashes(lines), on=KEY, how="left")
        .join(active_batches(inputs["batches"]), on=KEY, how="left")
        .join(lines.group_by(KEY).agg(tariff_id=pl.col("tariff_id").first()), on=KEY, how="left")
        .filter(pl.col("basis_hash").ne_missing(pl.col("active_hash")))
    )
    summary = PostingSummary(
        station_days=keys.height,
        unchanged=keys.height - plan.height,
        plays_unpriced=desired.unpriced.height,
        plays_upheld=desired.upheld.height,
        plays_held=lines.filter(pl.col("account") == HOLD)["play_id"].n_unique(),
        debit_minor=_by_currency(lines, pl.col("account") == RECEIVABLE),
        suspense_minor={c: -a for c, a in _by_currency(lines, pl.col("account") == SUSPENSE).items()},
        hold_minor={c: -a for c, a in _by_currency(lines, pl.col("account") == HOLD).items()},
    )
    _quarantine_unpriced(conn, keys, desired.unpriced, booked_at)
    if plan.is_empty():
        return summary

    closed = closed_periods(conn)  # a closed month's statements are final: its lines go to the first open month
    correction_period = reporting_period_expr(_period("posted_for", booked_at.date()), closed)
    old_lines = _active_lines(conn, day, plan.filter(pl.col("active_batch_id").is_not_null()))
    changes = describe_changes(old_lines, lines.join(plan.select(KEY), on=KEY, how="semi"), desired.upheld)
    plan = plan.join(changes, on=KEY, how="left").with_columns(
        reason=pl.concat_str(
            [pl.col("changes").replace("", None), pl.lit(reason or None, pl.Utf8)], separator=" — ", ignore_nulls=True
        ).fill_null("re-posted")
    )

    reversal_lines = old_lines.with_columns(
        batch_id=pl.col("batch_id") + "|reversal",
        entry_kind=pl.lit(REVERSAL),
        amount_minor=-pl.col("amount_minor"),
        accounting_period=correction_period,
        posted_at=pl.lit(booked_at, pl.Datetime("us")),
    )
    to_reverse = plan.filter(pl.col("active_batch_id").is_not_null())
    reversal_meta = (
        to_reverse.select(
            batch_id=pl.col("active_batch_id") + "|reversal",
            batch_kind=pl.lit(REVERSAL),
            station_id="station_id",
            posted_for="posted_for",
            revision="active_revision",
            reverses_batch_id="active_batch_id",
            reason="reason",
        )
        .join(reversal_lines.group_by("batch_id").agg(pl.col("tariff_id").first()), on="batch_id", how="left")
        .join(basis_hashes(reversal_lines, by=["batch_id"]), on="batch_id", how="left")
    )

    to_post = plan.filter(pl.col("basis_hash").is_not_null()).with_columns(
        revision=pl.col("last_revision").fill_null(0) + 1
    )
    to_post = to_post.with_columns(
        batch_id=pl.concat_str(
            [
                pl.col("station_id"),
                pl.col("posted_for").cast(pl.Utf8),
                pl.col("tariff_id"),
                pl.format("r{}", pl.col("revision")),
            ],
            separator="|",
        ),
        reason=pl.when(pl.col("revision") == 1).then(pl.lit("first posting")).otherwise(pl.col("reason")),
    )
    new_lines = lines.join(to_post.select(*KEY, "batch_id", "revision"), on=KEY, how="inner").with_columns(
        entry_kind=pl.lit(POSTING),
        accounting_period=pl.when(pl.col("revision") == 1)
        .then(reporting_period_expr(_period("posted_for"), closed))
        .otherwise(correction_period),
        posted_at=pl.lit(booked_at, pl.Datetime("us")),
    )
    post_meta = to_post.select(
        "batch_id",
        batch_kind=pl.lit(POSTING),
        station_id="station_id",
        posted_for="posted_for",
        tariff_id="tariff_id",
        revision="revision",
        basis_hash="basis_hash",
        reverses_batch_id=pl.lit(None, pl.Utf8),
        reason="reason",
    )

    written = LEDGER.concat([LEDGER.conform(reversal_lines), LEDGER.conform(new_lines)])
    headers = pl.concat(
        [  # reversals first: in its stream a reversal comes before the revision that follows it
            headers_from_lines(written, reversal_meta.select(post_meta.columns)),
            headers_from_lines(written, post_meta),
        ]
    )
    append_batches(conn, headers, written)
    summary.batches_reversed = to_reverse.height
    summary.batches_posted = to_post.height
    summary.plays_posted = new_lines.filter(pl.col("account") == RECEIVABLE).height
    summary.lines_written = written.height
    summary.balance_minor = _by_currency(written)
    return summary


def _refuse_overlapping_plays(plays: pl.DataFrame) -> None:
    """Plays of a station that overlap would charge and credit the same seconds twice: post nothing."""
    clash = overlapping_plays(plays.with_columns(end_utc=pl.col("start_utc") + pl.duration(seconds="duration_s")))
    if not clash.is_empty():
        r = clash.row(0, named=True)
        raise ValueError(
            f"plays of {r['station_id']} on {r['play_date']} overlap, not posting: play {r['play_id_before']} "
            f"({r['start_utc_before']:%H:%M:%S}–{r['end_utc_before']:%H:%M:%S}) and play {r['play_id']} "
            f"({r['start_utc']:%H:%M:%S}–{r['end_utc']:%H:%M:%S}) share {r['overlap_s']:g} s"
            + (f" ({clash.height} overlapping pairs)" if clash.height > 1 else "")
            + "; re-materialize airplay/playlogs for that station-day"
        )


def _quarantine_unpriced(
    conn: WarehouseConnection, keys: pl.DataFrame, unpriced: pl.DataFrame, recorded_at: datetime
) -> None:
    """Replace the station-days' quarantined plays with the ones that have no tariff in force now."""
    partition_keys = [f"{d}|{s}" for s, d in keys.select(KEY).iter_rows()]
    conn.execute(
        f"DELETE FROM {QUARANTINE.qualified_name} WHERE asset = ? AND partition_key IN ({_marks(partition_keys)})",
        [LEDGER_ASSET, *partition_keys],
    )
    if unpriced.is_empty():
        return
    rejects = unpriced.sort("station_id", "posted_for", "play_id").select(
        asset=pl.lit(LEDGER_ASSET),
        partition_key=pl.concat_str([pl.col("posted_for").cast(pl.Utf8), pl.col("station_id")], separator="|"),
        source_file=pl.lit("royalties.tariffs"),
        row_number=pl.lit(None, pl.Int64),
        field=pl.lit("station_id"),
        value="station_id",
        reason=pl.format("no tariff in force for {} on {}: play {} not posted", "station_id", "posted_for", "play_id"),
        recorded_at=pl.lit(recorded_at, pl.Datetime("us")),
    )
    conn.insert(QUARANTINE, rejects)


def post_station_days(
    db: Warehouse, station_days: Iterable[tuple[str, date]], booked_at: datetime | None = None, reason: str = ""
) -> PostingSummary:
    """Post (or correct) the ledger batches of `station_days`, all in one transaction; returns what was done.

    `booked_at` (naive UTC; default now) is the lines' `posted_at` and decides the accounting period of
    corrections; `reason` is appended to the derived reason of reversals and corrections (e.g. the restatement
    that asked for them). Station-days are processed one day at a time with a few set-wise queries each.
    """
    if booked_at is None:
        booked_at = datetime.now(UTC)
    if booked_at.tzinfo is not None:
        booked_at = booked_at.astimezone(UTC).replace(tzinfo=None)
    by_day: dict[date, set[str]] = defaultdict(set)
    for station, day in station_days:
        by_day[day].add(station)
    summary = PostingSummary()
    with db.connect() as conn:
        for table in (PLAYLOGS, TARIFFS, RECORDINGS, SPLITS, DISPUTES, LEDGER, LEDGER_BATCHES, QUARANTINE):
            conn.ensure(table)
        ensure_indexes(conn)
        seal_unsealed(conn)
        for day in sorted(by_day):
            summary.add(_post_day(conn, day, sorted(by_day[day]), booked_at, reason))
    return summary
