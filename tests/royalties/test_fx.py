"""Currencies: a party paid in another currency than its stations are billed in — conversions a royalty
accountant checks by hand (EUR 1,000.01 at 1.0857 is USD 1,085.71 and 0.000857 of rounding), JPY without
decimals, a missing rate refused, re-runs posting nothing, every batch summing to zero per currency, and the
converted party's statement (frozen document, PDF, CSV) showing each conversion as the FX ledger booked it.

Real DuckDB files (and the session's PostgreSQL for the run on the posted royalty ledger); the royalty ledger
is written with `ledger_chain.append_lines` (station receivable debited, the party's payable credited) or by
the real posting of a station-day.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader

from backbeat.common.quarantine import Reject
from backbeat.royalties.fx import FxRateMissing, convert, convert_balances, payable_balances, unbalanced_fx_batches
from backbeat.royalties.fx_rates import rates_frame, read_payout_currencies_csv, read_rates_csv
from backbeat.royalties.ledger_chain import append_lines
from backbeat.royalties.periods import close_period, frozen_documents
from backbeat.royalties.statement_pdf import render_pdf
from backbeat.royalties.statement_people import StatementDocument, to_csv
from backbeat.royalties.tables import FX_LEDGER, FX_RATES, LEDGER, PAYOUT_CURRENCIES
from integrations.warehouse import Warehouse

NOV_30 = date(2026, 11, 30)
AT = datetime(2026, 12, 1, 3, 0)


@pytest.fixture
def db(tmp_path: Path) -> Warehouse:
    return Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")


def earn(db: Warehouse, party: str, day: date, amount_minor: int, currency: str = "EUR", tag: str = "") -> None:
    """A posting batch crediting `party` `amount_minor` for a play on `day` (reported in that month)."""
    common = {
        "batch_id": f"st1|{day}|{party}|{currency}{tag}|r1",
        "entry_kind": "posting",
        "posted_for": day,
        "accounting_period": f"{day:%Y-%m}",
        "station_id": "st1",
        "play_id": f"play-{party}-{day}{tag}",
        "recording_id": "rec1",
        "currency": currency,
        "tariff_id": "st1:2026-01-01",
        "posted_at": datetime(day.year, day.month, day.day, 23, 0),
    }
    lines = [
        {**common, "line_no": 1, "account": "station_receivable", "party_id": None, "amount_minor": amount_minor},
        {**common, "line_no": 2, "account": "party_payable", "party_id": party, "amount_minor": -amount_minor},
    ]
    append_lines(db, LEDGER.from_rows(lines))


def rates(db: Warehouse, *rows: tuple[str, str, date, str]) -> None:
    frame = rates_frame([{"base": b, "quote": q, "effective_on": d, "rate": r, "source": "ECB"} for b, q, d, r in rows])
    db.replace(FX_RATES, frame)


def pays_in(db: Warehouse, **currencies: str) -> None:
    rows = [
        {"party_id": p, "payout_currency": c, "source_file": None, "source_row": None} for p, c in currencies.items()
    ]
    db.replace(PAYOUT_CURRENCIES, PAYOUT_CURRENCIES.from_rows(rows))


def balances(db: Warehouse, through: str = "2026-11") -> dict[tuple[str, str], int]:
    """(party, currency) → what the party is owed (positive), zero balances left out."""
    with db.connect() as conn:
        frame = payable_balances(conn, through)
    return {(p, c): -a for p, c, a in frame.iter_rows() if a}


def batch(db: Warehouse, batch_id: str) -> list[tuple[str, str, int, int | None]]:
    lines = db.read(FX_LEDGER, "batch_id = ?", [batch_id]).sort("line_no")
    return list(lines.select("account", "currency", "amount_nanos", "amount_minor").iter_rows())


def cents(text: str) -> int:
    """An amount printed with two decimals and thousands separators, in minor units."""
    return int(Decimal(text.replace(",", "")).scaleb(2))


def frozen_documents_of(db: Warehouse, period: str) -> list[StatementDocument]:
    with db.connect() as conn:
        return frozen_documents(conn, period)


def sums_per_batch_and_currency(db: Warehouse) -> set[int]:
    frame = db.read(FX_LEDGER).group_by("batch_id", "currency").agg(pl.col("amount_nanos").sum())
    return set(frame["amount_nanos"].to_list())


def test_eur_1000_01_at_1_0857_is_usd_1085_71_and_the_rounding_is_posted(db: Warehouse) -> None:
    earn(db, "artist", date(2026, 11, 3), 60_000)
    earn(db, "artist", date(2026, 11, 20), 40_001)  # EUR 1,000.01 owed at the end of November
    rates(db, ("EUR", "USD", NOV_30, "1.0857"))
    pays_in(db, artist="USD")

    run = convert_balances(db, "2026-11", NOV_30, posted_at=AT)

    assert run.batches_posted == ["fx|artist|EUR|USD|2026-11|r1"]
    # 1,000.01 x 1.0857 = 1,085.710857 exactly; half-even to cents: 1,085.71; 0.000857 left on fx_rounding.
    assert batch(db, "fx|artist|EUR|USD|2026-11|r1") == [
        ("party_payable", "EUR", 1_000_010_000_000, 100_001),
        ("fx_clearing", "EUR", -1_000_010_000_000, -100_001),
        ("fx_clearing", "USD", 1_085_710_857_000, None),
        ("party_payable", "USD", -1_085_710_000_000, -108_571),
        ("fx_rounding", "USD", -857_000, None),
    ]
    assert run.balance_nanos == {"EUR": 0, "USD": 0}
    assert balances(db)[("artist", "USD")] == 108_571 and ("artist", "EUR") not in balances(db)
    lines = db.read(FX_LEDGER)
    assert set(lines["rate"].cast(pl.Utf8)) == {"1.085700"} and set(lines["rate_source"]) == {"ECB"}
    assert set(lines["converted_on"]) == {NOV_30} and set(lines["accounting_period"]) == {"2026-11"}


def test_jpy_has_no_decimals_both_ways_and_ties_round_half_even() -> None:
    to_yen = convert(100_001, "EUR", "JPY", Decimal("162.35"))  # 1,000.01 x 162.35 = 162,351.6235
    assert (to_yen.exact, to_yen.converted_minor, to_yen.rounding) == (
        Decimal("162351.623500"),
        162_352,
        Decimal("0.376500"),
    )
    from_yen = convert(123_457, "JPY", "USD", Decimal("0.0067"))  # ¥123,457 x 0.0067 = 827.1619
    assert (from_yen.converted_minor, from_yen.rounding) == (82_716, Decimal("-0.0019"))
    # exact ties: 0.075 → 0.08 and 0.045 → 0.04 (to the even cent), negative amounts the same way
    assert [convert(m, "EUR", "USD", Decimal("1.5")).converted_minor for m in (5, 3, -5, -3)] == [8, 4, -8, -4]


def test_a_jpy_payout_currency_gets_whole_yen_and_every_batch_sums_to_zero(db: Warehouse) -> None:
    earn(db, "writer", date(2026, 11, 5), 100_001)
    earn(db, "writer", date(2026, 11, 6), 2_500, currency="GBP")
    earn(db, "label", date(2026, 11, 7), 999)  # no payout currency: stays in EUR
    rates(db, ("EUR", "JPY", NOV_30, "162.35"), ("GBP", "JPY", NOV_30, "190.123456"))
    pays_in(db, writer="JPY")

    run = convert_balances(db, "2026-11", NOV_30, posted_at=AT)

    assert sorted(run.batches_posted) == ["fx|writer|EUR|JPY|2026-11|r1", "fx|writer|GBP|JPY|2026-11|r1"]
    eur = batch(db, "fx|writer|EUR|JPY|2026-11|r1")
    assert eur[3] == ("party_payable", "JPY", -162_352_000_000_000, -162_352)
    assert eur[4] == ("fx_rounding", "JPY", 376_500_000, None)
    gbp = batch(db, "fx|writer|GBP|JPY|2026-11|r1")  # 25.00 x 190.123456 = 4,753.0864 → ¥4,753
    assert gbp[2:] == [
        ("fx_clearing", "JPY", 4_753_086_400_000, None),
        ("party_payable", "JPY", -4_753_000_000_000, -4_753),
        ("fx_rounding", "JPY", -86_400_000, None),
    ]
    assert balances(db) == {("writer", "JPY"): 167_105, ("label", "EUR"): 999}
    assert sums_per_batch_and_currency(db) == {0}
    with db.connect() as conn:
        assert unbalanced_fx_batches(conn) == []


def test_a_rate_missing_for_the_day_refuses_naming_pair_and_date_and_posts_nothing(db: Warehouse) -> None:
    earn(db, "artist", date(2026, 11, 3), 100_001)
    earn(db, "writer", date(2026, 11, 3), 5_000, currency="GBP")
    rates(db, ("EUR", "USD", date(2026, 11, 27), "1.0857"), ("GBP", "USD", NOV_30, "1.27"))
    pays_in(db, artist="USD", writer="USD")

    with pytest.raises(FxRateMissing, match=r"EUR/USD on 2026-11-30 \(latest earlier rate: 2026-11-27\)") as caught:
        convert_balances(db, "2026-11", NOV_30, posted_at=AT)

    assert "GBP/USD" not in str(caught.value)  # only what is missing is named
    assert db.read(FX_LEDGER).is_empty()  # all or nothing: the GBP conversion was not posted either
    assert balances(db) == {("artist", "EUR"): 100_001, ("writer", "GBP"): 5_000}


def test_a_rerun_posts_nothing_and_a_late_correction_is_converted_as_the_next_revision(db: Warehouse) -> None:
    earn(db, "artist", date(2026, 11, 3), 100_001)
    rates(db, ("EUR", "USD", NOV_30, "1.0857"), ("EUR", "USD", date(2026, 12, 2), "1.1"))
    pays_in(db, artist="USD")
    first = convert_balances(db, "2026-11", NOV_30, posted_at=AT)
    lines = db.read(FX_LEDGER).height

    again = convert_balances(db, "2026-11", NOV_30, posted_at=AT)
    assert (again.batches_posted, again.lines_written, db.read(FX_LEDGER).height) == ([], 0, lines)

    earn(db, "artist", date(2026, 11, 28), 1_000, tag="late")  # EUR 10.00 more, reported in November
    late = convert_balances(db, "2026-11", date(2026, 12, 2), posted_at=AT)
    assert first.batches_posted == ["fx|artist|EUR|USD|2026-11|r1"]
    assert late.batches_posted == ["fx|artist|EUR|USD|2026-11|r2"]
    assert batch(db, "fx|artist|EUR|USD|2026-11|r2")[3] == ("party_payable", "USD", -11_000_000_000, -1_100)
    assert balances(db) == {("artist", "USD"): 108_571 + 1_100}
    assert sums_per_batch_and_currency(db) == {0}


def test_a_closed_month_is_converted_in_the_first_open_month(db: Warehouse) -> None:
    earn(db, "artist", date(2026, 10, 10), 100_001)
    close_period(db, "2026-10", by="controller", at=datetime(2026, 11, 2))
    rates(db, ("EUR", "USD", date(2026, 10, 30), "1.0857"))
    pays_in(db, artist="USD")

    convert_balances(db, "2026-10", date(2026, 10, 30), posted_at=AT)

    assert set(db.read(FX_LEDGER)["accounting_period"]) == {"2026-11"}  # October's statement stays as sent
    assert balances(db, "2026-10") == {("artist", "EUR"): 100_001}
    assert balances(db, "2026-11") == {("artist", "USD"): 108_571}


def test_rates_and_payout_currencies_are_read_and_bad_rows_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "fx_rates.csv"
    path.write_text(
        "base,quote,effective_on,rate,source\n"
        "EUR,USD,2026-11-30,1.0857,ECB\n"  # 2 good
        "EUR,JPY,2026-11-30,162.35,ECB\n"  # 3 good
        "EUR,XXX,2026-11-30,1.2,ECB\n"  # 4 unknown currency
        "EUR,GBP,2026-11-30,0.8512345,ECB\n"  # 5 seven decimals would be rounded
        "EUR,GBP,2026-11-31,0.85,ECB\n"  # 6 no such day
        "EUR,CHF,2026-11-30,-0.94,ECB\n"  # 7 negative
        "USD,USD,2026-11-30,1,ECB\n"  # 8 same currency
        "EUR,SEK,2026-11-30,11.5,ECB\n"  # 9 conflicts with 10
        "EUR,SEK,2026-11-30,11.6,ECB\n"  # 10
        "EUR,USD,2026-11-30,1.0857,ECB copy\n"  # 11 same rate again: a duplicate
    )
    frame, rejects = read_rates_csv(path)

    assert frame.select("base", "quote", "rate").rows() == [
        ("EUR", "JPY", Decimal("162.35")),
        ("EUR", "USD", Decimal("1.0857")),
    ]
    assert frame["source_row"].to_list() == [3, 2]
    by_row = {(r.row_number, r.field): r for r in rejects}
    assert set(by_row) == {
        (4, "quote"),
        (5, "rate"),
        (6, "effective_on"),
        (7, "rate"),
        (8, "quote"),
        (9, "rate"),
        (10, "rate"),
        (11, "effective_on"),
    }
    assert "would be rounded" in by_row[(5, "rate")].reason and "positive" in by_row[(7, "rate")].reason
    assert "conflicts with row(s) 10" in by_row[(9, "rate")].reason
    assert by_row[(11, "effective_on")].reason == "duplicate of row 2"
    assert all(isinstance(r, Reject) and r.source_file == str(path) for r in rejects)

    parties = tmp_path / "payout_currencies.csv"
    parties.write_text("party_id,payout_currency\nartist,USD\nlabel,\nwriter,YEN\nartist,JPY\n")
    chosen, bad = read_payout_currencies_csv(parties)
    assert chosen.select("party_id", "payout_currency").rows() == [("artist", "USD"), ("label", None)]
    assert [(r.row_number, r.field) for r in bad] == [(4, "payout_currency"), (5, "party_id")]


def test_the_posted_royalty_ledger_converts_on_duckdb_and_postgresql(world) -> None:  # noqa: ANN001 (conftest)
    world.post()
    db = world.db
    owed = balances(db, "2026-03")
    rates(db, ("EUR", "USD", date(2026, 3, 31), "1.0857"), ("EUR", "JPY", date(2026, 3, 31), "162.35"))
    pays_in(db, A="USD", B="JPY")

    run = convert_balances(db, "2026-03", date(2026, 3, 31), posted_at=AT)

    assert sorted(run.batches_posted) == ["fx|A|EUR|USD|2026-03|r1", "fx|B|EUR|JPY|2026-03|r1"]
    after = balances(db, "2026-03")
    assert after[("A", "USD")] == convert(owed[("A", "EUR")], "EUR", "USD", Decimal("1.0857")).converted_minor
    assert after[("B", "JPY")] == convert(owed[("B", "EUR")], "EUR", "JPY", Decimal("162.35")).converted_minor
    assert after[("C", "EUR")] == owed[("C", "EUR")] and ("A", "EUR") not in after
    assert sums_per_batch_and_currency(db) == {0}
    assert convert_balances(db, "2026-03", date(2026, 3, 31), posted_at=AT).batches_posted == []
    if db.kind == "postgres":  # append-only: lines are never changed
        with pytest.raises(Exception, match="append-only"), db.connect() as conn:
            conn.execute(f"DELETE FROM {FX_LEDGER.qualified_name}")


def test_the_fx_assets_read_the_inbox_and_convert_each_month_once(tmp_path: Path) -> None:
    from dagster import materialize

    from assets.common.paths import DataDirResource
    from assets.royalties.fx import fx_batches_balance, fx_ledger, fx_rates, payout_currencies
    from backbeat.common.quarantine import QUARANTINE
    from integrations.warehouse import WarehouseResource

    inbox = tmp_path / "data" / "inbox" / "royalties"
    inbox.mkdir(parents=True)
    (inbox / "fx_rates.csv").write_text(
        "base,quote,effective_on,rate,source\nEUR,USD,2026-11-30,1.0857,ECB\nEUR,USD,2026-11-29,abc,ECB\n"
    )
    (inbox / "payout_currencies.csv").write_text("party_id,payout_currency\nartist,USD\n")
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    db = Warehouse(url)
    earn(db, "artist", date(2026, 11, 3), 100_001)
    resources = {"warehouse": WarehouseResource(url=url), "data_dir": DataDirResource(data_dir=str(tmp_path / "data"))}
    assert materialize([fx_rates, payout_currencies], resources=resources).success
    [bad] = db.read(QUARANTINE).select("asset", "row_number", "field").rows()
    assert bad == ("royalties/fx_rates", 3, "rate")
    for attempt in (1, 2):
        result = materialize([fx_ledger, fx_batches_balance], resources=resources, partition_key="2026-11-01")
        assert result.success
        [check] = result.get_asset_check_evaluations()
        assert check.passed
        [materialization] = result.asset_materializations_for_node("royalties__fx_ledger")
        assert materialization.metadata["batches_posted"].value == (1 if attempt == 1 else 0)  # re-run: nothing
    assert balances(db) == {("artist", "USD"): 108_571}
    earn(db, "artist", date(2026, 11, 28), 1_000, tag="late")
    missing = materialize(
        [fx_ledger],
        resources=resources,
        partition_key="2026-11-01",
        run_config={"ops": {"royalties__fx_ledger": {"config": {"converted_on": "2026-11-27"}}}},
        raise_on_error=False,
    )
    assert not missing.success
    [failure] = [e for e in missing.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "EUR/USD on 2026-11-27" in str(failure.step_failure_data.error)
    assert balances(db) == {("artist", "USD"): 108_571, ("artist", "EUR"): 1_000}  # nothing posted


def test_a_converted_partys_statement_shows_the_conversion_as_the_fx_ledger_booked_it(db: Warehouse) -> None:
    earn(db, "artist", date(2026, 11, 3), 60_000)
    earn(db, "artist", date(2026, 11, 20), 40_001)  # EUR 1,000.01
    earn(db, "artist", date(2026, 11, 21), 2_500, currency="GBP")  # GBP 25.00
    earn(db, "label", date(2026, 11, 22), 999)  # no payout currency: no conversion section
    rates(db, ("EUR", "USD", NOV_30, "1.0857"), ("GBP", "USD", NOV_30, "1.271234"))
    pays_in(db, artist="USD")
    convert_balances(db, "2026-11", NOV_30, posted_at=AT)
    close_period(db, "2026-11", by="controller", at=datetime(2026, 12, 1, 9))

    documents = {(d.party_id, d.currency): d for d in frozen_documents_of(db, "2026-11")}
    assert documents[("label", "EUR")].conversion is None
    owed_in_usd = balances(db)[("artist", "USD")]
    assert owed_in_usd == 108_571 + 3_178  # 25.00 x 1.271234 = 31.78085 → 31.78
    ledger = db.read(FX_LEDGER).sort("batch_id", "line_no")
    for currency in ("EUR", "GBP"):
        document = documents[("artist", currency)]
        conversion = document.conversion
        assert conversion is not None and document.closing_minor > 0  # the royalty ledger's figures stay
        [line] = conversion.lines
        booked = ledger.filter(pl.col("from_currency") == currency)
        by_account = {
            (a, c): (n, m)
            for a, c, n, m in booked.select("account", "currency", "amount_nanos", "amount_minor").iter_rows()
        }
        assert line.batch_id == f"fx|artist|{currency}|USD|2026-11|r1" == booked["batch_id"][0]
        assert line.from_amount_minor == by_account[("party_payable", currency)][1] == document.closing_minor
        assert line.to_amount_minor == -by_account[("party_payable", "USD")][1]
        assert line.rounding_nanos == by_account[("fx_rounding", "USD")][0]
        assert (Decimal(line.rate), line.converted_on, line.rate_source) == (booked["rate"][0], f"{NOV_30}", "ECB")
        assert conversion.converted_to_date_minor == -document.closing_minor and conversion.balance_minor == 0
        assert (conversion.payout_currency, conversion.payout_balance_minor) == ("USD", owed_in_usd)

        text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(render_pdf([document]))).pages)
        row = re.search(
            rf"2026-11-30 \(ECB\) {currency} ([-\d,.]+) 1 {currency} = ([\d.]+) USD USD ([-\d,.]+) USD ([-\d.]+)", text
        )
        assert row, text
        amounts = (cents(row[1]), Decimal(row[2]), cents(row[3]), int(Decimal(row[4]).scaleb(9)))
        assert amounts == (
            by_account[("party_payable", currency)][1],
            booked["rate"][0],
            -by_account[("party_payable", "USD")][1],
            by_account[("fx_rounding", "USD")][0],
        )
        closing = re.search(r"Closing balance in USD \(payout currency\) USD ([-\d,.]+)", text)
        left = re.search(rf"Balance after contracts and conversions \({currency}\) {currency} ([-\d,.]+)", text)
        assert closing and left and (cents(closing[1]), cents(left[1])) == (owed_in_usd, 0)
        rows = [r for r in csv.DictReader(io.StringIO(to_csv([document]))) if r["section"] == "conversion"]
        assert [(r["item_name"], r["amount_minor"], r["amount"], r["amount_currency"]) for r in rows] == [
            (
                f"Converted from {currency}",
                str(line.from_amount_minor),
                f"{Decimal(line.from_amount_minor) / 100:.2f}",
                currency,
            ),
            ("Converted to USD", str(line.to_amount_minor), f"{Decimal(line.to_amount_minor) / 100:.2f}", "USD"),
            ("Rounding posted", "", f"{Decimal(line.rounding_nanos).scaleb(-9).normalize():f}", "USD"),
            (
                f"Converted to date ({currency})",
                str(-line.from_amount_minor),
                f"{Decimal(-line.from_amount_minor) / 100:.2f}",
                currency,
            ),
            (f"Balance after contracts and conversions ({currency})", "0", "0.00", currency),
            ("Closing balance in USD (payout currency)", str(owed_in_usd), f"{Decimal(owed_in_usd) / 100:.2f}", "USD"),
        ]
    eur, gbp = (documents[("artist", c)].conversion.lines[0] for c in ("EUR", "GBP"))  # type: ignore[union-attr]
    assert (eur.to_amount_minor, eur.rounding_nanos, gbp.to_amount_minor, gbp.rounding_nanos) == (
        108_571,
        -857_000,
        3_178,
        -850_000,
    )
