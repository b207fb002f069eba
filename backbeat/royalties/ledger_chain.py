"""The ledger's tamper evidence: every batch header seals its lines and chains to the previous batch of its stream.

A batch's `lines_hash` is the sha256 of its lines (every LEDGER column, canonical JSON, by line_no). Its stream
is the station-day (`station|{station}|{day}`: postings and reversals) or the party (`party|{party}`: payouts);
`chain_seq` numbers the stream's batches 1, 2, … and `chain_hash` = sha256(previous chain_hash, this header with
its seq and lines_hash). Writers append through `append_batches` (headers first: lines reference them).
`verify_ledger` recomputes everything and names what does not hold: an edited, added or removed line (the batch
whose lines no longer match their hash, or lines with no header), an edited or removed header (the chain no longer
recomputes, or a seq gap), batches that do not balance, and the constraints DuckDB cannot add to an older table
(account, currency, sign, one receivable debit per play per batch). Removing a stream's *last* batch with its
lines leaves no gap; on PostgreSQL the append-only trigger refuses it (README: what catches it on DuckDB).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from backbeat.royalties.tables import (
    ACCOUNTS,
    CHAIN_COLUMNS,
    CREDITS,
    CURRENCIES,
    ENTRY_KINDS,
    LEDGER,
    LEDGER_BATCHES,
)
from integrations.warehouse import Warehouse, WarehouseConnection

HEADER_COLUMNS = [c for c in LEDGER_BATCHES.column_names if c not in ("chain_hash",)]
"""The header fields `chain_hash` covers: all but itself."""
WRITTEN_HEADER = {c: t for c, t in LEDGER_BATCHES.polars_schema.items() if c not in CHAIN_COLUMNS}
"""What a writer hands `append_batches` for each batch; the chain columns are computed here."""
SHOWN = 10  # batch ids named per problem; the count says how many in all


class LedgerUnsound(RuntimeError):
    """The ledger failed verification: nothing downstream may be written from it."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("the royalty ledger failed verification, not writing: " + "; ".join(problems))
        self.problems = list(problems)


def _json_rows(columns: Sequence[str], schema: dict[str, pl.DataType]) -> pl.Expr:
    return pl.struct([pl.col(c).cast(schema[c]) for c in columns]).struct.json_encode()


def lines_hashes(lines: pl.DataFrame, slice_lines: int = 20_000) -> pl.DataFrame:
    """batch_id → lines_hash and line count, from ledger lines (any order).

    The canonical text is built `slice_lines` lines at a time (cut at batch boundaries), so memory stays small.
    """
    schema = {"batch_id": pl.Utf8, "line_count": pl.Int64, "lines_hash": pl.Utf8}
    if lines.is_empty():
        return pl.DataFrame(schema=schema)
    lines = lines.sort("batch_id", "line_no")
    counts = lines.group_by("batch_id", maintain_order=True).agg(line_count=pl.len().cast(pl.Int64))
    digests: list[str] = []
    start, ends = 0, counts["line_count"].cum_sum().to_list()
    cut = 0
    while start < lines.height:
        while cut < len(ends) - 1 and ends[cut] - start < slice_lines:
            cut += 1
        part = lines.slice(start, ends[cut] - start)
        texts = (
            part.select("batch_id", row=_json_rows(LEDGER.column_names, LEDGER.polars_schema))
            .group_by("batch_id", maintain_order=True)
            .agg(pl.col("row").str.join("\n"))
        )["row"].to_list()
        digests += [hashlib.sha256(text.encode()).hexdigest() for text in texts]
        start, cut = ends[cut], cut + 1
    return counts.with_columns(lines_hash=pl.Series(digests, dtype=pl.Utf8)).select(list(schema))


def _header_texts(headers: pl.DataFrame) -> list[str]:
    return headers.select(_json_rows(HEADER_COLUMNS, LEDGER_BATCHES.polars_schema)).to_series().to_list()


def chain_hash(previous: str | None, header_text: str) -> str:
    return hashlib.sha256(f"{previous or ''}\n{header_text}".encode()).hexdigest()


def _streams(headers: pl.DataFrame, lines: pl.DataFrame) -> pl.Expr:
    party = lines.group_by("batch_id").agg(party=pl.col("party_id").drop_nulls().first())
    return (
        headers.join(party, on="batch_id", how="left")
        .select(
            pl.when(pl.col("station_id").is_not_null() & pl.col("posted_for").is_not_null())
            .then(pl.format("station|{}|{}", "station_id", pl.col("posted_for").cast(pl.Utf8)))
            .when(pl.col("party").is_not_null())
            .then(pl.format("party|{}", "party"))
            .otherwise(pl.format("batch|{}", "batch_id"))
        )
        .to_series()
    )


def _heads(conn: WarehouseConnection, streams: list[str], headers: pl.DataFrame) -> dict[str, tuple[int, str]]:
    """stream → (last chain_seq, its chain_hash) in the warehouse, for the streams about to be appended to."""
    if not streams:
        return {}
    schema = {"chain_stream": pl.Utf8, "chain_seq": pl.Int64, "chain_hash": pl.Utf8}
    sql = f"SELECT chain_stream, chain_seq, chain_hash FROM {LEDGER_BATCHES.qualified_name} WHERE "
    frames = []
    on_station = headers.filter(pl.col("station_id").is_not_null() & pl.col("posted_for").is_not_null())
    if on_station.height:  # read through the (station_id, posted_for) index
        stations = on_station["station_id"].unique().to_list()
        days = on_station["posted_for"].unique().to_list()
        frames.append(
            conn.query(
                sql + f"station_id IN ({', '.join('?' for _ in stations)}) AND posted_for IN "
                f"({', '.join('?' for _ in days)}) AND chain_stream LIKE 'station|%'",
                [*stations, *days],
                schema,
            )
        )
    others = [s for s in streams if not s.startswith("station|")]
    if others:
        frames.append(conn.query(sql + f"chain_stream IN ({', '.join('?' for _ in others)})", others, schema))
    rows = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    last = rows.sort("chain_seq").group_by("chain_stream").last()
    return {s: (int(q), h) for s, q, h in last.iter_rows()}


def seal(conn: WarehouseConnection, headers: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """`headers` (WRITTEN_HEADER columns, in posting order) with chain_stream, chain_seq, lines_hash, chain_hash."""
    headers = headers.select([pl.col(c).cast(t) for c, t in WRITTEN_HEADER.items()])
    headers = headers.with_columns(chain_stream=_streams(headers, lines)).join(
        lines_hashes(lines).select("batch_id", "lines_hash"), on="batch_id", how="left", maintain_order="left"
    )
    heads = _heads(conn, headers["chain_stream"].unique().to_list(), headers)
    last_seq = {s: q for s, (q, _) in heads.items()}
    seqs = []
    for stream in headers["chain_stream"].to_list():
        last_seq[stream] = last_seq.get(stream, 0) + 1
        seqs.append(last_seq[stream])
    headers = headers.with_columns(chain_seq=pl.Series(seqs, dtype=pl.Int64))
    previous = {s: h for s, (_, h) in heads.items()}
    hashes = []
    for stream, text in zip(headers["chain_stream"].to_list(), _header_texts(headers), strict=True):
        previous[stream] = chain_hash(previous.get(stream), text)
        hashes.append(previous[stream])
    return LEDGER_BATCHES.conform(headers.with_columns(chain_hash=pl.Series(hashes, dtype=pl.Utf8)))


def append_batches(conn: WarehouseConnection, headers: pl.DataFrame, lines: pl.DataFrame) -> int:
    """Seal `headers` (in posting order) and append them, then their `lines`; returns the lines written."""
    if headers.is_empty():
        return 0
    lines = LEDGER.conform(lines)
    conn.insert(LEDGER_BATCHES, seal(conn, headers, lines))
    return conn.insert(LEDGER, lines)


def headers_from_lines(lines: pl.DataFrame, extra: pl.DataFrame | None = None) -> pl.DataFrame:
    """One header per batch of `lines` (totals from the lines); `extra` (batch_id → kind, revision, reason, …)
    overrides the defaults taken from the lines."""
    totals = lines.group_by("batch_id", maintain_order=True).agg(
        batch_kind=pl.col("entry_kind").first(),
        station_id=pl.col("station_id").first(),
        posted_for=pl.col("posted_for").first(),
        tariff_id=pl.col("tariff_id").first(),
        lines=pl.len().cast(pl.Int64),
        debit_minor=pl.col("amount_minor").filter(pl.col("amount_minor") > 0).sum(),
        currency=pl.col("currency").first(),
        posted_at=pl.col("posted_at").first(),
        accounting_period=pl.col("accounting_period").first(),
    )
    if extra is not None:
        derived = totals.drop([c for c in extra.columns if c != "batch_id"], strict=False)
        totals = extra.join(derived, on="batch_id", how="inner", maintain_order="left")
    return totals.with_columns(
        [pl.lit(None, t).alias(c) for c, t in WRITTEN_HEADER.items() if c not in totals.columns]
    ).select(list(WRITTEN_HEADER))


def seal_unsealed(conn: WarehouseConnection) -> int:
    """Seal, once, the batches written before the chain existed ("sealed at upgrade"); returns how many.

    Per stream in (posted_at, reversal first, batch_id) order, from the lines as they are now: tampering before
    the upgrade cannot be found, only after it. The PostgreSQL trigger lets this one UPDATE through.
    """
    unsealed = conn.query(
        f"SELECT {', '.join(LEDGER_BATCHES.column_names)} FROM {LEDGER_BATCHES.qualified_name} "
        "WHERE chain_hash IS NULL",
        schema=LEDGER_BATCHES.polars_schema,
    )
    if unsealed.is_empty():
        return 0
    ids = unsealed["batch_id"].to_list()
    lines = conn.query(
        f"SELECT {', '.join(LEDGER.column_names)} FROM {LEDGER.qualified_name} WHERE batch_id IN "
        f"(SELECT batch_id FROM {LEDGER_BATCHES.qualified_name} WHERE chain_hash IS NULL)",
        schema=LEDGER.polars_schema,
    )
    ordered = unsealed.sort(["posted_at", pl.col("batch_kind") != "reversal", "batch_id"])
    sealed = seal(conn, ordered, lines).select("batch_id", *CHAIN_COLUMNS)
    sets = ", ".join(f"{c} = ?" for c in CHAIN_COLUMNS)
    for row in sealed.iter_rows():
        conn.execute(f"UPDATE {LEDGER_BATCHES.qualified_name} SET {sets} WHERE batch_id = ?", [*row[1:], row[0]])
    return len(ids)


@dataclass
class Verification:
    """What `verify_ledger` found; `problems` empty means the ledger is sound."""

    batches: int = 0
    lines: int = 0
    found: dict[str, set[str]] = field(default_factory=dict)
    """Problem → the batch ids it names."""

    def problem(self, what: str, ids: Sequence[str]) -> None:
        if ids:
            self.found.setdefault(what, set()).update(ids)

    @property
    def problems(self) -> list[str]:
        """One sentence per problem, naming up to SHOWN batches."""
        return [
            f"{what}: " + ", ".join(sorted(ids)[:SHOWN]) + (f" … ({len(ids)} in all)" if len(ids) > SHOWN else "")
            for what, ids in self.found.items()
        ]

    def raise_if_unsound(self) -> None:
        if self.problems:
            raise LedgerUnsound(self.problems)


def _ids(frame: pl.DataFrame, column: str = "batch_id") -> list[str]:
    return frame[column].cast(pl.Utf8).fill_null("(null)").unique().to_list()


def _check_lines(v: Verification, lines: pl.DataFrame, headers: pl.DataFrame) -> None:
    """What the database constraints say, for a warehouse (DuckDB, older table) that cannot hold them."""
    v.problem(
        "lines whose batch has no header (inserted?)",
        _ids(lines.join(headers.select("batch_id"), on="batch_id", how="anti")),
    )
    v.problem("lines on an account not in the ledger's set", _ids(lines.filter(~pl.col("account").is_in(ACCOUNTS))))
    v.problem("lines in a currency not in the ledger's set", _ids(lines.filter(~pl.col("currency").is_in(CURRENCIES))))
    v.problem("lines of an unknown entry kind", _ids(lines.filter(~pl.col("entry_kind").is_in(ENTRY_KINDS))))
    amount, account, kind = pl.col("amount_minor"), pl.col("account"), pl.col("entry_kind")
    debit_side = (
        ((kind == "posting") & (account == "station_receivable"))
        | ((kind == "reversal") & account.is_in(CREDITS))
        | ((kind == "payout") & (account == "party_payable"))
    )
    credit_side = (
        ((kind == "posting") & account.is_in(CREDITS))
        | ((kind == "reversal") & (account == "station_receivable"))
        | ((kind == "payout") & (account == "cash"))
    )
    v.problem(
        "lines on the wrong side of their account",
        _ids(lines.filter((amount != 0) & ~((debit_side & (amount > 0)) | (credit_side & (amount < 0))))),
    )
    v.problem(
        "batches that do not sum to zero in a currency",
        _ids(
            lines.group_by("batch_id", "currency").agg(pl.col("amount_minor").sum()).filter(pl.col("amount_minor") != 0)
        ),
    )
    v.problem(
        "batches debiting one play's receivable more than once",
        _ids(
            lines.filter(account == "station_receivable")
            .group_by("batch_id", "play_id")
            .len()
            .filter(pl.col("len") > 1)
        ),
    )


def _check_chain(v: Verification, headers: pl.DataFrame, lines: pl.DataFrame) -> None:
    v.problem("batches never sealed", _ids(headers.filter(pl.col("chain_hash").is_null())))
    sealed = headers.filter(pl.col("chain_hash").is_not_null())
    recomputed = lines_hashes(lines)
    joined = sealed.join(recomputed.rename({"lines_hash": "recomputed"}), on="batch_id", how="left")
    v.problem(
        "batches whose lines do not match their hash (a line edited, added or removed)",
        _ids(joined.filter(pl.col("recomputed").ne_missing(pl.col("lines_hash")))),
    )
    ordered = sealed.sort("chain_stream", "chain_seq")
    v.problem(
        "streams with a batch missing before the batches named (a batch removed)",
        _ids(ordered.filter(pl.col("chain_seq") != pl.int_range(1, pl.len() + 1).over("chain_stream"))),
    )
    previous: dict[str, str] = {}
    broken = []
    for batch_id, stream, stored, text in zip(
        ordered["batch_id"].to_list(),
        ordered["chain_stream"].to_list(),
        ordered["chain_hash"].to_list(),
        _header_texts(ordered),
        strict=True,
    ):
        if chain_hash(previous.get(stream), text) != stored:
            broken.append(batch_id)
        previous[stream] = stored
    v.problem("batch headers whose chain hash does not recompute (the header edited)", broken)


def verify_ledger(
    conn: WarehouseConnection, station: str | None = None, day: date | None = None, chunk_days: int = 1
) -> Verification:
    """Recompute the ledger's seals and chains and check its constraints; one station-day's stream, or all.

    The whole ledger is read `chunk_days` of `posted_for` at a time (station-day streams never span days; party
    streams and lines with no day are read in one extra chunk), so memory stays one chunk's lines.
    """
    v = Verification()
    cols = ", ".join(LEDGER_BATCHES.column_names)
    if station is not None:
        where, params = "station_id = ? AND posted_for = ?", [station, day]
        headers = conn.query(
            f"SELECT {cols} FROM {LEDGER_BATCHES.qualified_name} WHERE {where}", params, LEDGER_BATCHES.polars_schema
        )
        lines = conn.query(
            f"SELECT {', '.join(LEDGER.column_names)} FROM {LEDGER.qualified_name} WHERE {where}",
            params,
            LEDGER.polars_schema,
        )
        _verify_chunk(v, headers, lines, headers)
        return v
    headers = conn.query(f"SELECT {cols} FROM {LEDGER_BATCHES.qualified_name}", schema=LEDGER_BATCHES.polars_schema)
    bounds = conn.query(
        f"SELECT min(posted_for) AS lo, max(posted_for) AS hi FROM {LEDGER.qualified_name}",
        schema={"lo": pl.Date, "hi": pl.Date},
    )
    lo, hi = bounds.row(0) if bounds.height else (None, None)
    chunks: list[tuple[str, list[object]]] = []
    if lo is not None and hi is not None:
        starts = pl.date_range(lo, hi, f"{chunk_days}d", eager=True).to_list()
        chunks = [
            ("station_id IS NOT NULL AND posted_for BETWEEN ? AND ?", [s, min(hi, s + timedelta(days=chunk_days - 1))])
            for s in starts
        ]
    chunks.append(("station_id IS NULL OR posted_for IS NULL", []))
    on_station = pl.col("station_id").is_not_null() & pl.col("posted_for").is_not_null()
    for where, params in chunks:
        lines = conn.query(
            f"SELECT {', '.join(LEDGER.column_names)} FROM {LEDGER.qualified_name} WHERE {where}",
            params,
            LEDGER.polars_schema,
        )
        if params:
            mine = headers.filter(on_station & pl.col("posted_for").is_between(*params))
        else:
            mine = headers.filter(~on_station)
        _verify_chunk(v, mine, lines, headers)
    return v


def _verify_chunk(v: Verification, headers: pl.DataFrame, lines: pl.DataFrame, all_headers: pl.DataFrame) -> None:
    v.batches += headers.height
    v.lines += lines.height
    _check_lines(v, lines, all_headers)
    _check_chain(v, headers, lines)


def require_sound_ledger(db: Warehouse) -> Verification:
    """Verify the whole ledger; raise `LedgerUnsound` naming the problems. Whatever is built from the ledger
    (statements, finance exports) calls it before writing, so an unsound ledger blocks it in every run."""
    with db.connect() as conn:
        conn.ensure(LEDGER)
        v = verify_ledger(conn)
    v.raise_if_unsound()
    return v


def append_lines(db: Warehouse, lines: pl.DataFrame) -> int:
    """Append hand-built ledger lines as sealed batches, headers derived from the lines (one per batch_id, in
    order of first appearance); for fixtures, imports and repairs that have lines but no posting logic."""
    with db.connect() as conn:
        conn.ensure(LEDGER)
        seal_unsealed(conn)
        return append_batches(conn, headers_from_lines(lines), lines)
