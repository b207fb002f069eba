"""A party's statement for people: the PDF's text, read back with pypdf, carries the numbers of the finance export."""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal

import polars as pl
from pypdf import PdfReader

from assets.exports.monthly import monthly_tables, write_monthly_export
from backbeat.airplay.tables import STATIONS
from backbeat.catalog.tables import ARTISTS, TRACKS
from backbeat.rights.tables import PARTIES
from backbeat.royalties.ledger_chain import append_lines
from backbeat.royalties.periods import close_period, statement_documents, store_statements
from backbeat.royalties.statement_pdf import render_pdf
from backbeat.royalties.statement_people import StatementDocument, format_amount, to_csv
from backbeat.royalties.tables import LEDGER

NOV = date(2026, 11, 10)


def _rows(table, *rows: dict) -> pl.DataFrame:
    return table.from_rows([{**dict.fromkeys(table.column_names), **r} for r in rows])


def named_world(world) -> None:
    """November airplay of two tracks on two stations with names, and a payout to A on 20 November."""
    db = world.db
    db.replace(PARTIES, _rows(PARTIES, {"party_id": "A", "name": "Ada Quartz"}, {"party_id": "B", "name": "Bo Lind"}))
    db.replace(STATIONS, _rows(STATIONS, {"station_id": "s1", "name": "Radio Nova"}, {"station_id": "s2"}))
    db.replace(ARTISTS, _rows(ARTISTS, {"artist_id": "AR1", "name": "The Cables"}))
    db.replace(TRACKS, _rows(TRACKS, {"track_id": "T1", "title": "Night Drive", "artist_id": "AR1"}))
    world.tariff("s2", "0.02")
    world.plays("s1", NOV, [("n1", "T1", 181), ("n3", "T1", 200)])
    world.plays("s2", NOV, [("m1", "T1", 150)])
    world.post(("s1", NOV), ("s2", NOV), booked_at=datetime(2026, 11, 11, 2))
    paid = datetime(2026, 11, 20, 12)
    payout = [
        {"account": "party_payable", "party_id": "A", "amount_minor": 200},
        {"account": "cash", "party_id": "A", "amount_minor": -200},
    ]
    append_lines(
        db,
        LEDGER.from_rows(
            [
                {
                    **dict.fromkeys(LEDGER.column_names),
                    **line,
                    "batch_id": "payout|PO-1",
                    "line_no": i,
                    "entry_kind": "payout",
                    "posted_for": paid.date(),
                    "accounting_period": "2026-11",
                    "currency": "EUR",
                    "posted_at": paid,
                }
                for i, line in enumerate(payout, start=1)
            ]
        ),
    )


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def minor(text: str) -> int:
    return int(Decimal(text.replace(",", "")) * 100)


def amount_after(label: str, text: str) -> int:
    match = re.search(rf"^{re.escape(label)}\s+(-?[\d,]+\.\d\d)$", text, re.MULTILINE)
    assert match, f"{label!r} not in the PDF text:\n{text}"
    return minor(match.group(1))


def test_the_pdf_statement_has_the_numbers_of_the_finance_export(duckdb_world, tmp_path):
    db = duckdb_world.db
    named_world(duckdb_world)
    store_statements(db, "2026-11")  # what the party_statements asset writes for an open month
    write_monthly_export(monthly_tables(db, "2026-11"), "2026-11", tmp_path / "export")
    exported = pl.read_parquet(tmp_path / "export" / "party_statements.parquet").filter(pl.col("party_id") == "A")
    lines = pl.read_parquet(tmp_path / "export" / "statement_lines.parquet").filter(pl.col("party_id") == "A")
    [row] = exported.iter_rows(named=True)
    assert row["status"] == "provisional" and row["payouts_minor"] == -200

    [document] = statement_documents(db, "2026-11", "A")
    text = pdf_text(render_pdf([document], tmp_path / "a.pdf"))
    assert "PROVISIONAL" in text
    assert "Ada Quartz" in text and "Radio Nova" in text and "Night Drive" in text and "The Cables" in text
    figures = {
        "Opening balance": "opening_minor",
        "Earnings": "earnings_minor",
        "Adjustments": "adjustments_minor",
        "Payouts": "payouts_minor",
        "Closing balance": "closing_minor",
        "Held for disputed plays": "held_minor",
    }
    assert {c: amount_after(label, text) for label, c in figures.items()} == {c: row[c] for c in figures.values()}
    by_station = (
        lines.filter(pl.col("line_type") == "earnings").group_by("station_id").agg(pl.col("amount_minor").sum())
    )
    # stations: s1 by name, s2 (no name in airplay.stations) by id; then the track line and the payout
    for station, amount in by_station.iter_rows():
        name = "Radio Nova" if station == "s1" else station
        assert re.search(rf"^{name}\s+\d+\s+{re.escape(format_amount(amount, 'EUR'))}$", text, re.MULTILINE), station
    track_total = lines.filter(pl.col("line_type") == "earnings")["amount_minor"].sum()
    assert re.search(rf"Night Drive\s+The Cables\s+3\s+{re.escape(format_amount(track_total, 'EUR'))}", text)
    assert re.search(r"^PO-1\s+2026-11-20\s+-2\.00$", text, re.MULTILINE)

    rows = list(csv.DictReader(io.StringIO(to_csv([document]))))
    summary = {r["item_id"]: int(r["amount_minor"]) for r in rows if r["section"] == "summary"}
    assert summary["closing"] == row["closing_minor"] and summary["opening"] == row["opening_minor"]
    assert {r["item_name"] for r in rows if r["section"] == "station"} == {"Radio Nova", "s2"}

    # Closed: the same figures, final, no watermark; the export says final too.
    close_period(db, "2026-11", "controller", datetime(2026, 12, 1, 9))
    final = render_pdf(statement_documents(db, "2026-11", "A"))
    assert (
        "PROVISIONAL" not in pdf_text(final)
        and amount_after("Closing balance", pdf_text(final)) == row["closing_minor"]
    )
    assert set(monthly_tables(db, "2026-11")["party_statements"]["status"]) == {"final"}


def test_a_document_survives_its_json_and_renders_the_same_bytes(duckdb_world):
    named_world(duckdb_world)
    [document] = statement_documents(duckdb_world.db, "2026-11", "A")
    again = StatementDocument.from_json(document.to_json())
    assert again == document and render_pdf([again]) == render_pdf([document])
    assert format_amount(123456, "EUR") == "1,234.56" and format_amount(-5, "EUR") == "-0.05"
    assert format_amount(1234, "JPY") == "1,234"


def test_an_adjustment_of_many_plays_still_fits_a_page():
    import io

    from pypdf import PdfReader

    from backbeat.royalties.statement_people import Adjustment, StatementDocument

    plays = [f"play-{n:05d}" for n in range(400)]  # one late correction on one station, 400 plays
    document = StatementDocument(
        period="2026-12",
        party_id="A",
        party_name="Ada Quartz",
        currency="EUR",
        status="provisional",
        as_of="2026-12-05 02:00 UTC",
        closed_by=None,
        opening_minor=0,
        earnings_minor=0,
        adjustments_minor=-4000,
        payouts_minor=0,
        closing_minor=-4000,
        held_minor=0,
        adjustments=[Adjustment("2026-11", "R1", "Night Drive", "S1", "Radio Nova", 400, plays, -4000, "split")],
    )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(render_pdf([document]))).pages)
    assert "play-00009 and 390 more (all in the CSV)" in " ".join(text.split())
    assert "play-00010" not in text
