"""A party's statement for a month as people read it: names, not only ids, and every movement explained.

A `StatementDocument` holds one party's statement in one currency: the party's, tracks' and stations' names,
the opening balance, earnings by track and by station, adjustments with the month (and plays) they correct,
payouts, the closing balance and what is held for disputed plays, and whether it is `final` (the month is
closed) or `provisional`. Its totals are those of `royalties.party_statements` (built by the same
`statements.build_statements`), so the PDF and CSV agree with the finance export. A closed month's documents
are read back from `royalties.frozen_statements` exactly as frozen; an open month's are built from the ledger.
A party with contract terms also gets a `contract` section (`contract_statement.ContractSummary`): advances with
recoupment progress, reserves held and released, shares, and what is payable after the minimum payout.
A party whose balance was converted into its payout currency gets a `conversion` section
(`statement_conversion.ConversionSummary`): each conversion (amount, rate and its day, converted amount,
rounding posted), and the closing balance in the payout currency.

Money stays in integer minor units; `format_amount` writes them in major units for people.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl

from backbeat.royalties.contract_statement import ContractPool, ContractSummary, contract_summaries
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.statement_conversion import (
    ConversionLine,
    ConversionSummary,
    conversion_summaries,
    format_exact,
)
from backbeat.royalties.statements import FINAL, PROVISIONAL, Statements, corrects_period, line_type
from backbeat.royalties.tables import LEDGER, LEDGER_BATCHES, PAYABLE
from integrations.warehouse import WarehouseConnection

CSV_COLUMNS = (
    "period",
    "status",
    "party_id",
    "party_name",
    "currency",
    "section",
    "item_id",
    "item_name",
    "detail",
    "corrects_period",
    "plays",
    "amount_minor",
    "amount",
    "amount_currency",
)
SUMMARY_ITEMS = (
    ("opening", "Opening balance"),
    ("earnings", "Earnings"),
    ("adjustments", "Adjustments"),
    ("payouts", "Payouts"),
    ("closing", "Closing balance"),
    ("held", "Held for disputed plays"),
)


@dataclass(frozen=True)
class TrackEarnings:
    recording_id: str
    title: str
    artist: str
    plays: int
    amount_minor: int


@dataclass(frozen=True)
class StationEarnings:
    station_id: str
    name: str
    plays: int
    amount_minor: int


@dataclass(frozen=True)
class Adjustment:
    """Corrections of one month's plays of one track on one station, booked in the statement's month: the plays
    whose amount changed, the net change and why (the ledger batches' reasons)."""

    corrects_period: str
    recording_id: str
    title: str
    station_id: str
    station_name: str
    plays: int
    play_ids: list[str]
    amount_minor: int
    reason: str


@dataclass(frozen=True)
class Payout:
    payout_id: str
    paid_on: str
    amount_minor: int


@dataclass(frozen=True)
class StatementDocument:
    """One party's statement for one month and currency, with names; amounts owed to the party, minor units."""

    period: str
    party_id: str
    party_name: str
    currency: str
    status: str
    as_of: str
    """final: when the month was closed; provisional: the latest ledger posting it includes."""
    closed_by: str | None
    opening_minor: int
    earnings_minor: int
    adjustments_minor: int
    payouts_minor: int
    closing_minor: int
    held_minor: int
    tracks: list[TrackEarnings] = field(default_factory=list)
    stations: list[StationEarnings] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)
    payouts: list[Payout] = field(default_factory=list)
    contract: ContractSummary | None = None
    """What the party's contract terms do to the statement; None: no contract terms (left out of the JSON)."""
    conversion: ConversionSummary | None = None
    """What currency conversions did in the statement's currency; None: none (left out of the JSON)."""

    @property
    def provisional(self) -> bool:
        return self.status != FINAL

    def to_json(self) -> str:
        """Deterministic JSON (sorted keys): what a close freezes."""
        data = asdict(self)
        for optional in ("contract", "conversion"):  # documents without them serialise as before they existed
            if data[optional] is None:
                del data[optional]
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> StatementDocument:
        data: dict[str, Any] = json.loads(text)
        contract = data.pop("contract", None)
        conversion = data.pop("conversion", None)
        return cls(
            **{k: v for k, v in data.items() if k not in ("tracks", "stations", "adjustments", "payouts")},
            contract=_contract_from_dict(contract) if contract is not None else None,
            conversion=ConversionSummary.from_dict(conversion) if conversion is not None else None,
            tracks=[TrackEarnings(**t) for t in data["tracks"]],
            stations=[StationEarnings(**s) for s in data["stations"]],
            adjustments=[Adjustment(**a) for a in data["adjustments"]],
            payouts=[Payout(**p) for p in data["payouts"]],
        )


def _contract_from_dict(data: dict[str, Any]) -> ContractSummary:
    pools = [ContractPool(**p) for p in data["contracts"]]
    return ContractSummary(**{**data, "contracts": pools})


def format_amount(amount_minor: int, currency: str) -> str:
    """Minor units as major units with the currency's decimals and thousands separators: 123456 EUR → 1,234.56."""
    exponent = MINOR_UNIT_EXPONENT[currency]
    return f"{Decimal(amount_minor).scaleb(-exponent):,.{exponent}f}"


def _table_exists(conn: WarehouseConnection, schema: str, name: str) -> bool:
    return bool(
        conn.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
        )
    )


def _names(conn: WarehouseConnection, sql: str, schema: str, table: str, ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """id → name columns from `sql` (which selects id first and has one `{ids}` placeholder), if the table exists."""
    if not ids or not _table_exists(conn, schema, table):
        return {}
    frame = conn.query(sql.format(ids=", ".join("?" for _ in ids)), ids)
    return {row[0]: tuple(row[1:]) for row in frame.iter_rows()}


def _track_names(conn: WarehouseConnection, ids: list[str]) -> dict[str, tuple[str, str]]:
    names = {
        k: (v[0] or k, "")
        for k, v in _names(
            conn,
            "SELECT recording_id, title FROM rights.recordings WHERE recording_id IN ({ids})",
            "rights",
            "recordings",
            ids,
        ).items()
    }
    if _table_exists(conn, "catalog", "artists"):
        catalog = _names(
            conn,
            "SELECT t.track_id, t.title, a.name FROM catalog.tracks t LEFT JOIN catalog.artists a "
            "ON a.artist_id = t.artist_id WHERE t.track_id IN ({ids})",
            "catalog",
            "tracks",
            ids,
        )
    else:
        catalog = {
            k: (*v, None)
            for k, v in _names(
                conn, "SELECT track_id, title FROM catalog.tracks WHERE track_id IN ({ids})", "catalog", "tracks", ids
            ).items()
        }
    for track_id, (title, artist) in catalog.items():
        names[track_id] = (title or names.get(track_id, (track_id, ""))[0], artist or "")
    return {i: names.get(i, (i, "")) for i in ids}


def _station_names(conn: WarehouseConnection, ids: list[str]) -> dict[str, str]:
    found = _names(
        conn, "SELECT station_id, name FROM airplay.stations WHERE station_id IN ({ids})", "airplay", "stations", ids
    )
    return {i: (found.get(i, (None,))[0] or i) for i in ids}


def _party_names(conn: WarehouseConnection, ids: list[str]) -> dict[str, str]:
    found = _names(
        conn, "SELECT party_id, name FROM rights.parties WHERE party_id IN ({ids})", "rights", "parties", ids
    )
    return {i: (found.get(i, (None,))[0] or i) for i in ids}


def _payable_lines(conn: WarehouseConnection, period: str, party_ids: list[str]) -> pl.DataFrame:
    """The month's party_payable lines of `party_ids` with their line type, corrected month and batch reason."""
    marks = ", ".join("?" for _ in party_ids)
    lines = conn.query(
        f"SELECT {', '.join(LEDGER.column_names)} FROM {LEDGER.qualified_name} WHERE accounting_period = ? "
        f"AND account = ? AND party_id IN ({marks})",
        [period, PAYABLE, *party_ids],
        LEDGER.polars_schema,
    )
    reasons = conn.query(
        f"SELECT batch_id, reason FROM {LEDGER_BATCHES.qualified_name} WHERE batch_id IN "
        f"(SELECT DISTINCT batch_id FROM {LEDGER.qualified_name} WHERE accounting_period = ? AND account = ? "
        f"AND party_id IN ({marks}))",
        [period, PAYABLE, *party_ids],
        {"batch_id": pl.Utf8(), "reason": pl.Utf8()},
    )
    return (
        lines.with_columns(line_type=line_type())
        .with_columns(corrects_period=corrects_period())
        .join(reasons, on="batch_id", how="left")
    )


def documents_from_statements(
    conn: WarehouseConnection,
    period: str,
    statements: Statements,
    status: str = PROVISIONAL,
    closed_by: str | None = None,
    closed_at: datetime | None = None,
) -> list[StatementDocument]:
    """One document per row of `statements.statements` (a party and currency), named and itemised from the
    ledger in `conn`. `closed_at` is the document's `as_of` when final."""
    totals = statements.statements
    if totals.is_empty():
        return []
    parties = sorted(set(totals["party_id"].to_list()))
    lines = _payable_lines(conn, period, parties)
    tracks = _track_names(conn, sorted(set(lines["recording_id"].drop_nulls().to_list())))
    stations = _station_names(conn, sorted(set(lines["station_id"].drop_nulls().to_list())))
    party_names = _party_names(conn, parties)
    contracts = contract_summaries(conn, period, parties)
    conversions = conversion_summaries(conn, period, parties)
    latest = lines["posted_at"].max()
    as_of = closed_at if status == FINAL and closed_at is not None else latest
    documents = []
    by_party = lines.partition_by("party_id", "currency", as_dict=True)  # once, not a filter per party
    for row in totals.sort("party_id", "currency").iter_rows(named=True):
        mine = by_party.get((row["party_id"], row["currency"]), lines.clear())
        documents.append(
            StatementDocument(
                period=period,
                party_id=row["party_id"],
                party_name=party_names[row["party_id"]],
                currency=row["currency"],
                status=status,
                as_of=f"{as_of:%Y-%m-%d %H:%M} UTC" if isinstance(as_of, datetime) else "",
                closed_by=closed_by if status == FINAL else None,
                opening_minor=row["opening_minor"],
                earnings_minor=row["earnings_minor"],
                adjustments_minor=row["adjustments_minor"],
                payouts_minor=row["payouts_minor"],
                closing_minor=row["closing_minor"],
                held_minor=row["held_minor"],
                tracks=_tracks(mine, tracks),
                stations=_stations(mine, stations),
                adjustments=_adjustments(mine, tracks, stations),
                payouts=_payouts(mine),
                contract=contracts.get((row["party_id"], row["currency"])),
                conversion=conversions.get((row["party_id"], row["currency"])),
            )
        )
    return documents


def _earnings_by(lines: pl.DataFrame, key: str) -> list[tuple[str, int, int]]:
    earned = lines.filter(pl.col("line_type") == "earnings")
    grouped = earned.group_by(key).agg(
        plays=pl.col("play_id").drop_nulls().n_unique(), amount_minor=-pl.col("amount_minor").sum()
    )
    return [
        (k, int(p), int(a)) for k, p, a in grouped.sort(["amount_minor", key], descending=[True, False]).iter_rows()
    ]


def _tracks(lines: pl.DataFrame, names: dict[str, tuple[str, str]]) -> list[TrackEarnings]:
    return [TrackEarnings(r, *names.get(r, (r, "")), p, a) for r, p, a in _earnings_by(lines, "recording_id")]


def _stations(lines: pl.DataFrame, names: dict[str, str]) -> list[StationEarnings]:
    return [StationEarnings(s, names.get(s, s), p, a) for s, p, a in _earnings_by(lines, "station_id")]


def _adjustments(lines: pl.DataFrame, tracks: dict[str, tuple[str, str]], stations: dict[str, str]) -> list[Adjustment]:
    # A correction reverses a whole station-day and re-posts it: plays whose amount did not change net to zero
    # and are not named; only plays whose amount changed are.
    per_play = (
        lines.filter(pl.col("line_type") == "adjustment")
        .group_by("corrects_period", "recording_id", "station_id", "play_id")
        .agg(amount_minor=-pl.col("amount_minor").sum(), reason=pl.col("reason").drop_nulls().unique())
        .filter(pl.col("amount_minor") != 0)
    )
    grouped = (
        per_play.group_by("corrects_period", "recording_id", "station_id")
        .agg(
            plays=pl.col("play_id").drop_nulls().n_unique(),
            play_ids=pl.col("play_id").drop_nulls().sort(),
            amount_minor=pl.col("amount_minor").sum(),
            reason=pl.col("reason").list.explode(keep_nulls=False, empty_as_null=False).unique().sort().str.join("; "),
        )
        .sort("corrects_period", "recording_id", "station_id")
    )
    return [
        Adjustment(
            r["corrects_period"],
            r["recording_id"],
            tracks.get(r["recording_id"], (r["recording_id"], ""))[0],
            r["station_id"],
            stations.get(r["station_id"], r["station_id"]),
            int(r["plays"]),
            list(r["play_ids"]),
            int(r["amount_minor"]),
            r["reason"] or "",
        )
        for r in grouped.iter_rows(named=True)
    ]


def _payouts(lines: pl.DataFrame) -> list[Payout]:
    paid = (
        lines.filter(pl.col("line_type") == "payout")
        .group_by("batch_id", "posted_for")
        .agg(amount_minor=-pl.col("amount_minor").sum())
        .sort("posted_for", "batch_id")
    )
    return [Payout(b.removeprefix("payout|"), f"{d}", int(a)) for b, d, a in paid.iter_rows()]


def _csv_rows(d: StatementDocument) -> list[dict[str, object]]:
    """One document's CSV rows: summary figures, tracks, stations, adjustments, payouts, contract and currency
    conversion figures. `amount_currency` is the currency of `amount`: the document's, except on conversion rows."""
    items: list[tuple[str, str, str, int | None, dict[str, object]]] = [
        ("summary", item, label, getattr(d, f"{item}_minor"), {}) for item, label in SUMMARY_ITEMS
    ]
    items += [
        ("track", t.recording_id, t.title, t.amount_minor, {"detail": t.artist, "plays": t.plays}) for t in d.tracks
    ]
    items += [("station", s.station_id, s.name, s.amount_minor, {"plays": s.plays}) for s in d.stations]
    items += [
        (
            "adjustment",
            a.recording_id,
            f"{a.title} on {a.station_name}",
            a.amount_minor,
            {
                "detail": f"plays {' '.join(a.play_ids)}" + (f" — {a.reason}" if a.reason else ""),
                "corrects_period": a.corrects_period,
                "plays": a.plays,
            },
        )
        for a in d.adjustments
    ]
    items += [("payout", p.payout_id, f"paid on {p.paid_on}", p.amount_minor, {}) for p in d.payouts]
    items += [
        ("contract", item_id, name, amount, {"detail": detail}) for item_id, name, detail, amount in contract_rows(d)
    ]
    items += [
        ("conversion", item_id, name, amount, {"detail": detail, "amount_currency": currency, "amount": text})
        for item_id, name, detail, currency, amount, text in conversion_rows(d)
    ]
    rows: list[dict[str, object]] = [
        {
            "period": d.period,
            "status": d.status,
            "party_id": d.party_id,
            "party_name": d.party_name,
            "currency": d.currency,
            "section": section,
            "item_id": item_id,
            "item_name": name,
            "amount_minor": amount,
            "amount": format_amount(amount, d.currency) if amount is not None else "",
            "amount_currency": d.currency,
            **extra,
        }
        for section, item_id, name, amount, extra in items
    ]
    for row in rows:
        row["amount"] = str(row["amount"]).replace(",", "")
    return rows


CONTRACT_ITEMS = (
    ("advance", "Advance paid"),
    ("recouped", "Recouped this month"),
    ("recouped_to_date", "Recouped to date"),
    ("remaining", "Advance remaining"),
    ("reserve_held", "Reserve held this month"),
    ("reserve_released", "Reserve released this month"),
    ("reserve_balance", "Reserve held at month end"),
)
CONTRACT_TOTALS = (
    ("shares", "Shares of other parties' receipts this month"),
    ("deductions_to_date", "Contract effects to date"),
    ("balance", "Balance after contracts"),
    ("minimum_payout", "Minimum payout"),
    ("payable", "Payable"),
    ("carried_forward", "Carried forward (below the minimum payout)"),
)


def contract_rows(d: StatementDocument) -> list[tuple[str, str, str, int]]:
    """The contract section as (item_id, label, contract_id or '', amount_minor) rows: per contract its
    recoupment and reserve figures, then the party's totals; none without contract terms."""
    if d.contract is None:
        return []
    rows = [
        (item, label, pool.contract_id, getattr(pool, f"{item}_minor"))
        for pool in d.contract.contracts
        for item, label in CONTRACT_ITEMS
    ]
    return rows + [(item, label, "", getattr(d.contract, f"{item}_minor")) for item, label in CONTRACT_TOTALS]


CONVERSION_TOTALS = ("converted_to_date", "balance", "payout_balance")
"""item_ids of the conversion section's closing rows (after the rows of each conversion)."""


def conversion_line_detail(line: ConversionLine) -> str:
    """The rate of a conversion, its day and source, and the month whose balance it converted."""
    source = f" ({line.rate_source})" if line.rate_source else ""
    return (
        f"1 {line.from_currency} = {line.rate} {line.to_currency} on {line.converted_on}{source}, "
        f"balance of {line.for_period}"
    )


def conversion_rows(d: StatementDocument) -> list[tuple[str, str, str, str, int | None, str]]:
    """The currency conversion section as (item_id, label, detail, currency, amount_minor, amount) rows: per
    conversion the amount converted, the amount it became and the rounding posted (exact, not whole minor units:
    amount_minor None); then what the conversions moved in the document's currency to date, the balance left in it,
    and the closing balance in the payout currency (CONVERSION_TOTALS). None without conversions."""
    c = d.conversion
    if c is None:
        return []
    rows: list[tuple[str, str, str, str, int | None, str]] = []
    for line in c.lines:
        detail = conversion_line_detail(line)
        rows += [
            (
                line.batch_id,
                f"Converted from {line.from_currency}",
                detail,
                line.from_currency,
                line.from_amount_minor,
                format_amount(line.from_amount_minor, line.from_currency),
            ),
            (
                line.batch_id,
                f"Converted to {line.to_currency}",
                detail,
                line.to_currency,
                line.to_amount_minor,
                format_amount(line.to_amount_minor, line.to_currency),
            ),
            (
                line.batch_id,
                "Rounding posted",
                detail,
                line.to_currency,
                None,
                format_exact(line.rounding_nanos, line.to_currency),
            ),
        ]
    totals = (
        ("converted_to_date", f"Converted to date ({d.currency})", d.currency, c.converted_to_date_minor),
        ("balance", f"Balance after contracts and conversions ({d.currency})", d.currency, c.balance_minor),
        (
            "payout_balance",
            f"Closing balance in {c.payout_currency} (payout currency)",
            c.payout_currency,
            c.payout_balance_minor,
        ),
    )
    rows += [(item, label, "", cur, amount, format_amount(amount, cur)) for item, label, cur, amount in totals]
    return rows


def to_csv(documents: list[StatementDocument]) -> str:
    """The documents as one CSV: a row per summary figure, track, station, adjustment, payout, contract figure and
    currency conversion figure (CSV_COLUMNS)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for document in documents:
        writer.writerows(_csv_rows(document))
    return buffer.getvalue()
