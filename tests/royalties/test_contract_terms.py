"""Contracts that pay: advances recouped, reserves held and released, minimum payouts, shares of another party's
receipts, terms ending mid-month, two currencies — on cases a royalty accountant checks by hand.

Real DuckDB files; the royalty ledger is written with `ledger_chain.append_lines` (hand-built posting batches:
station receivable debited, the party's payable credited), the contract ledger by `apply_contract_terms`.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from backbeat.royalties.contract_statement import contract_summaries
from backbeat.royalties.contract_terms import ContractTerm, read_terms_csv, terms_frame
from backbeat.royalties.ledger_chain import append_lines
from backbeat.royalties.periods import close_period
from backbeat.royalties.recoupment import apply_contract_terms, unbalanced_batches
from backbeat.royalties.statement_pdf import render_pdf
from backbeat.royalties.statement_people import StatementDocument, to_csv
from backbeat.royalties.tables import CONTRACT_LEDGER, CONTRACT_TERMS, FX_LEDGER, LEDGER
from integrations.warehouse import Warehouse

AT = datetime(2026, 5, 1, 3, 0)
MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")


@pytest.fixture
def db(tmp_path: Path) -> Warehouse:
    return Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")


def earn(db: Warehouse, party: str, day: date, amount_minor: int, currency: str = "EUR", tag: str = "") -> None:
    """A posting batch crediting `party` `amount_minor` for a play on `day` (reported in that month)."""
    batch = f"st1|{day}|{party}|{currency}{tag}|r1"
    common = {
        "batch_id": batch,
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
    append_lines(
        db,
        LEDGER.from_rows(
            [
                {
                    **common,
                    "line_no": 1,
                    "account": "station_receivable",
                    "party_id": None,
                    "amount_minor": amount_minor,
                },
                {**common, "line_no": 2, "account": "party_payable", "party_id": party, "amount_minor": -amount_minor},
            ]
        ),
    )


def set_terms(db: Warehouse, *terms: ContractTerm) -> None:
    db.replace(CONTRACT_TERMS, terms_frame(terms))


def run_months(db: Warehouse, months: tuple[str, ...] = MONTHS) -> dict[str, dict]:
    """apply_contract_terms month by month; per month the summaries of every party."""
    out = {}
    for month in months:
        run = apply_contract_terms(db, month, posted_at=AT)
        assert all(v == 0 for v in run.balance_minor.values()), run
        with db.connect() as conn:
            out[month] = contract_summaries(conn, month, ["artist", "label"])
    return out


def contract_lines(db: Warehouse) -> pl.DataFrame:
    return db.read(CONTRACT_LEDGER)


def test_an_advance_is_recouped_before_anything_is_payable(ledger_warehouse: Warehouse) -> None:
    """1,000.00 advance, earnings 300/500/400: payable 0/0/200, remaining 700/200/0 (DuckDB and PostgreSQL)."""
    db = ledger_warehouse
    set_terms(db, ContractTerm("t1", "c1", "artist", "EUR", date(2026, 1, 1), advance_minor=100_000))
    for month, amount in zip(MONTHS[:3], (30_000, 50_000, 40_000), strict=True):
        earn(db, "artist", date.fromisoformat(f"{month}-15"), amount)
    months = run_months(db, MONTHS[:3])

    payable = [months[m][("artist", "EUR")].payable_minor for m in MONTHS[:3]]
    remaining = [months[m][("artist", "EUR")].contracts[0].remaining_minor for m in MONTHS[:3]]
    recouped = [months[m][("artist", "EUR")].contracts[0].recouped_minor for m in MONTHS[:3]]
    assert payable == [0, 0, 20_000]
    assert remaining == [70_000, 20_000, 0]
    assert recouped == [30_000, 50_000, 20_000]
    assert months["2026-03"][("artist", "EUR")].contracts[0].recouped_to_date_minor == 100_000
    assert months["2026-03"][("artist", "EUR")].contracts[0].advance_minor == 100_000

    lines = contract_lines(db)
    advance = lines.filter(pl.col("batch_kind") == "advance").sort("line_no")
    assert advance["account"].to_list() == ["advance_recoupable", "cash"]
    assert advance["amount_minor"].to_list() == [100_000, -100_000]
    assert advance["posted_for"].to_list() == [date(2026, 1, 1)] * 2
    with db.connect() as conn:
        assert unbalanced_batches(conn) == []


def test_a_reserve_of_20_percent_is_released_after_two_months(db: Warehouse) -> None:
    set_terms(db, ContractTerm("t1", "c1", "artist", "EUR", date(2026, 1, 1), reserve_bp=2000, reserve_periods=2))
    for month in MONTHS[:3]:
        earn(db, "artist", date.fromisoformat(f"{month}-10"), 10_000)
    months = run_months(db)

    pools = [months[m][("artist", "EUR")].contracts[0] for m in MONTHS]
    assert [p.reserve_held_minor for p in pools] == [2_000, 2_000, 2_000, 0]
    assert [p.reserve_released_minor for p in pools] == [0, 0, 2_000, 2_000]
    assert [p.reserve_balance_minor for p in pools] == [2_000, 4_000, 4_000, 2_000]
    assert [months[m][("artist", "EUR")].balance_minor for m in MONTHS] == [8_000, 16_000, 26_000, 28_000]
    release = contract_lines(db).filter(pl.col("batch_id") == "reserve_release|c1|artist|EUR|2026-03|r1")
    assert release.sort("line_no")["account"].to_list() == ["reserve", "party_payable"]


def test_a_balance_below_the_minimum_payout_carries_forward(db: Warehouse) -> None:
    set_terms(db, ContractTerm("t1", "c1", "artist", "EUR", date(2026, 1, 1), minimum_payout_minor=5_000))
    earn(db, "artist", date(2026, 1, 20), 3_000)
    earn(db, "artist", date(2026, 2, 20), 2_500)
    months = run_months(db, MONTHS[:2])

    january, february = months["2026-01"][("artist", "EUR")], months["2026-02"][("artist", "EUR")]
    assert (january.balance_minor, january.payable_minor, january.carried_forward_minor) == (3_000, 0, 3_000)
    assert (february.balance_minor, february.payable_minor, february.carried_forward_minor) == (5_500, 5_500, 0)
    assert january.minimum_payout_minor == 5_000
    assert contract_lines(db).is_empty()  # a minimum payout moves no money


def test_a_share_term_ending_mid_month_counts_only_its_days(db: Warehouse) -> None:
    """The artist gets 25 % of the label's receipts for plays up to 14 February; the share moves between the
    two parties' payables, so the label's balance falls by what the artist's rises."""
    set_terms(
        db,
        ContractTerm(
            "t1", "c1", "artist", "EUR", date(2026, 1, 1), date(2026, 2, 14), source_party_id="label", share_bp=2500
        ),
    )
    earn(db, "label", date(2026, 1, 5), 10_001)
    earn(db, "label", date(2026, 2, 10), 10_000)
    earn(db, "label", date(2026, 2, 20), 10_000)  # after the term: the label keeps it all
    months = run_months(db, MONTHS[:2])

    assert months["2026-01"][("artist", "EUR")].shares_minor == 2_500  # 2500.25 → 2500 (half-to-even)
    assert months["2026-02"][("artist", "EUR")].shares_minor == 2_500
    assert months["2026-02"][("label", "EUR")].shares_minor == -2_500
    assert months["2026-02"][("artist", "EUR")].balance_minor == 5_000
    assert months["2026-02"][("label", "EUR")].balance_minor == 30_001 - 5_000
    share = contract_lines(db).filter(pl.col("batch_id") == "share|t1|2026-02|r1").sort("line_no")
    assert share.select("account", "party_id", "amount_minor").rows() == [
        ("party_payable", "label", 2_500),
        ("party_payable", "artist", -2_500),
    ]


def test_two_currencies_are_recouped_and_balanced_apart(db: Warehouse) -> None:
    set_terms(
        db,
        ContractTerm("eur", "c1", "artist", "EUR", date(2026, 1, 1), advance_minor=50_000),
        ContractTerm("usd", "c1", "artist", "USD", date(2026, 1, 1)),
        ContractTerm(
            "jpy", "c1", "artist", "JPY", date(2026, 1, 1), advance_minor=10_000, reserve_bp=1000, reserve_periods=1
        ),
    )
    earn(db, "artist", date(2026, 1, 3), 20_000, "EUR")
    earn(db, "artist", date(2026, 1, 3), 7_000, "USD")
    earn(db, "artist", date(2026, 1, 3), 12_345, "JPY")
    january = run_months(db, MONTHS[:1])["2026-01"]

    assert january[("artist", "EUR")].contracts[0].remaining_minor == 30_000
    assert january[("artist", "EUR")].payable_minor == 0
    assert january[("artist", "USD")].payable_minor == 7_000  # no advance in USD: nothing recouped from it
    jpy = january[("artist", "JPY")]
    assert jpy.contracts[0].remaining_minor == 0
    assert jpy.contracts[0].reserve_held_minor == 234  # 10 % of 2,345 yen → 234.5 → 234 (half-to-even)
    assert jpy.balance_minor == 2_345 - 234
    per_batch = (
        contract_lines(db)
        .group_by("batch_id")
        .agg(pl.col("currency").n_unique().alias("currencies"), pl.col("amount_minor").sum().alias("sum"))
    )
    assert per_batch["currencies"].to_list() == [1] * per_batch.height
    assert per_batch["sum"].to_list() == [0] * per_batch.height


def test_rerunning_posts_nothing_and_a_late_correction_posts_only_the_difference(db: Warehouse) -> None:
    set_terms(
        db,
        ContractTerm(
            "t1", "c1", "artist", "EUR", date(2026, 1, 1), advance_minor=100_000, reserve_bp=1000, reserve_periods=1
        ),
    )
    earn(db, "artist", date(2026, 1, 15), 30_000)
    earn(db, "artist", date(2026, 2, 15), 90_000)
    run_months(db, MONTHS[:2])
    before = contract_lines(db)

    again = apply_contract_terms(db, "2026-02", posted_at=AT)
    assert again.batches_posted == [] and again.lines_written == 0
    assert contract_lines(db).height == before.height

    # More February plays, posted after the first run: only the difference, as revision 2 of February's batches.
    earn(db, "artist", date(2026, 2, 27), 10_000, tag="-late")
    late = apply_contract_terms(db, "2026-02", posted_at=AT)
    assert late.batches_posted == ["reserve_hold|c1|artist|EUR|2026-02|r2"]
    with db.connect() as conn:
        february = contract_summaries(conn, "2026-02", ["artist"])[("artist", "EUR")]
    # 30,000 + 100,000 earned − 100,000 recouped = 30,000 left; 10 % reserve = 3,000
    assert february.contracts[0].reserve_held_minor == 3_000
    assert february.balance_minor == 27_000
    with db.connect() as conn:
        assert unbalanced_batches(conn) == []

    # The terms withdrawn: every batch family is taken back to zero by a correcting revision, nothing deleted.
    db.replace(CONTRACT_TERMS, CONTRACT_TERMS.from_rows([]))
    withdrawn = apply_contract_terms(db, "2026-02", posted_at=AT)
    assert "advance|c1|artist|EUR|2026-01|r2" in withdrawn.batches_posted
    lines = contract_lines(db)
    assert lines.height == before.height + 2 + withdrawn.lines_written
    assert lines.group_by("account").agg(pl.col("amount_minor").sum()).filter(pl.col("amount_minor") != 0).is_empty()


def test_a_closed_month_books_its_contract_effects_into_the_first_open_month(db: Warehouse) -> None:
    earn(db, "artist", date(2026, 1, 15), 30_000)
    close_period(db, "2026-01", by="controller", at=datetime(2026, 2, 2))
    set_terms(db, ContractTerm("t1", "c1", "artist", "EUR", date(2026, 1, 1), advance_minor=100_000))
    apply_contract_terms(db, "2026-02", posted_at=AT)

    lines = contract_lines(db)
    assert set(lines["for_period"].to_list()) == {"2026-01"}
    assert set(lines["accounting_period"].to_list()) == {"2026-02"}


def test_the_statement_shows_recoupment_progress_in_pdf_and_csv(db: Warehouse) -> None:
    import io

    from pypdf import PdfReader

    from backbeat.royalties.periods import statement_documents

    set_terms(
        db,
        ContractTerm("t1", "c1", "artist", "EUR", date(2026, 1, 1), advance_minor=100_000, minimum_payout_minor=5_000),
    )
    earn(db, "artist", date(2026, 1, 15), 30_000)
    apply_contract_terms(db, "2026-01", posted_at=AT)
    [document] = statement_documents(db, "2026-01", "artist")
    assert document.contract is not None
    assert document.contract.contracts[0].remaining_minor == 70_000
    assert StatementDocument.from_json(document.to_json()) == document

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(render_pdf([document]))).pages)
    assert "Contract" in text and "1,000.00" in text and "700.00" in text and "300.00" in text
    rows = [r for r in to_csv([document]).splitlines() if ",contract," in r]
    assert any("remaining" in r and ",70000," in r for r in rows)


def test_terms_are_read_from_a_csv_with_percent_and_major_units(tmp_path: Path) -> None:
    path = tmp_path / "contract_terms.csv"
    path.write_text(
        "term_id,contract_id,party_id,currency,valid_from,valid_to,source_party_id,share_percent,advance,"
        "minimum_payout,reserve_percent,reserve_periods,note\n"
        "t1,c1,artist,EUR,2026-01-01,,label,18.5,1000.00,50.00,20,2,first deal\n"
        "t2,c1,artist,EUR,2026-01-01,,,,10.001,,,,too many decimals\n"
        "t3,c1,artist,EUR,2026-01-01,,,,,,20,,reserve without months\n",
        encoding="utf-8",
    )
    terms, rejects = read_terms_csv(path)
    assert terms == [
        ContractTerm(
            "t1", "c1", "artist", "EUR", date(2026, 1, 1), None, "label", 1850, 100_000, 5_000, 2000, 2, "first deal"
        )
    ]
    assert [r.row_number for r in rejects] == [3, 4]


def test_the_contract_assets_read_the_terms_file_and_post_each_month_once(tmp_path: Path) -> None:
    from dagster import materialize

    from assets.common.paths import DataDirResource
    from assets.royalties.contracts import contract_batches_balance, contract_ledger, contract_terms
    from backbeat.common.quarantine import QUARANTINE
    from backbeat.royalties.tables import CONTRACT_LEDGER
    from integrations.warehouse import WarehouseResource

    inbox = tmp_path / "data" / "inbox" / "royalties"
    inbox.mkdir(parents=True)
    (inbox / "contract_terms.csv").write_text(
        "term_id,contract_id,party_id,currency,valid_from,valid_to,source_party_id,share_percent,advance,"
        "minimum_payout,reserve_percent,reserve_periods,note\n"
        "t1,c1,artist,EUR,2026-01-01,,,,1000.00,50.00,,,first deal\n"
        "t2,c1,artist,EUR,2026-01-01,,,,10.001,,,,too many decimals\n",
        encoding="utf-8",
    )
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    db = Warehouse(url)
    earn(db, "artist", date(2026, 1, 15), 30_000)
    resources = {"warehouse": WarehouseResource(url=url), "data_dir": DataDirResource(data_dir=str(tmp_path / "data"))}
    assert materialize([contract_terms], resources=resources).success
    assert db.read(QUARANTINE).height == 1  # t2, named by file, row and field
    for attempt in (1, 2):
        result = materialize(
            [contract_ledger, contract_batches_balance], resources=resources, partition_key="2026-01-01"
        )
        assert result.success
        [check] = result.get_asset_check_evaluations()
        assert check.passed
        [materialization] = result.asset_materializations_for_node("royalties__contract_ledger")
        posted = materialization.metadata["batches_posted"].value
        assert (posted > 0) if attempt == 1 else (posted == 0), attempt  # a re-run posts nothing
    assert db.query(f"SELECT sum(amount_minor) AS s FROM {CONTRACT_LEDGER.qualified_name}")["s"][0] == 0


def test_a_payout_is_never_approved_out_of_an_advance_not_yet_recouped(db: Warehouse) -> None:
    from assets.royalties.payouts import PAYABLE_SCHEMA, PAYABLE_SQL
    from backbeat.royalties.payouts import PayoutRequest, decide_payouts

    set_terms(db, ContractTerm("t1", "c1", "artist", "EUR", date(2026, 1, 1), advance_minor=100_000))
    earn(db, "artist", date(2026, 1, 15), 30_000)
    apply_contract_terms(db, "2026-01", posted_at=AT)
    db.ensure(CONTRACT_LEDGER, FX_LEDGER)
    ledger = db.query(PAYABLE_SQL, schema=PAYABLE_SCHEMA)
    request = PayoutRequest("p1", "artist", "EUR", 20_000, date(2026, 2, 1), decision="approved", decided_by="finance")
    [decision] = decide_payouts([request], ledger)
    assert decision.status == "rejected" and "exceeds the balance owed" in (decision.note or "")
