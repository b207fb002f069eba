"""Payout requests: the rules, the append-only request file and its commands, and the payouts asset."""

from datetime import date, datetime
from decimal import Decimal

import polars as pl
import pytest
from click.testing import CliRunner
from dagster import materialize

from assets.common.paths import DataDirResource
from assets.royalties.payouts import paid_payouts_are_posted_once, payouts
from backbeat.commands.royalties import royalties
from backbeat.common.quarantine import QUARANTINE
from backbeat.royalties.ledger_chain import append_lines
from backbeat.royalties.payouts import (
    PayoutRequest,
    PayoutRules,
    decide_payouts,
    exact_minor_units,
    merge_request_rows,
    payout_batch,
    read_requests,
)
from backbeat.royalties.tables import LEDGER, LEDGER_BATCHES, PAYOUTS
from integrations.warehouse import Warehouse, WarehouseResource

EARNED_ON = date(2026, 9, 2)


def earned(
    party: str, amount: int, currency: str = "EUR", day: date = EARNED_ON, batch: str = "s1|d|t|r1"
) -> list[dict]:
    """A balanced posting batch crediting `party` `amount` minor units."""
    common = {
        "batch_id": f"{batch}|{party}|{currency}",
        "entry_kind": "posting",
        "posted_for": day,
        "accounting_period": f"{day:%Y-%m}",
        "station_id": "s1",
        "play_id": f"P-{party}",
        "recording_id": "R1",
        "currency": currency,
        "tariff_id": "t",
        "posted_at": datetime(2026, 9, 3),
    }
    return [
        {**common, "line_no": 1, "account": "station_receivable", "party_id": None, "amount_minor": amount},
        {**common, "line_no": 2, "account": "party_payable", "party_id": party, "amount_minor": -amount},
    ]


LEDGER_LINES = LEDGER.from_rows([*earned("A", 10000), *earned("B", 8000), *earned("C", 900000, "JPY")])


def request(
    payout_id: str,
    party: str,
    amount: int,
    requested_on: date = date(2026, 9, 5),
    currency: str = "EUR",
    decision: str | None = None,
    paid_on: date | None = None,
) -> PayoutRequest:
    return PayoutRequest(
        payout_id, party, currency, amount, requested_on, decision, "finance" if decision else None, paid_on
    )


def outcome(decisions) -> dict[str, tuple]:
    return {d.request.payout_id: (d.status, d.note) for d in decisions}


def test_minor_units_are_exact():
    assert exact_minor_units(Decimal("120.50"), "EUR") == 12050
    assert exact_minor_units(Decimal("5000"), "JPY") == 5000
    with pytest.raises(ValueError, match="more decimal places than EUR"):
        exact_minor_units(Decimal("0.001"), "EUR")


def test_rules_reject_below_minimum_above_balance_and_wrong_currency():
    decisions = decide_payouts(
        [
            request("small", "B", 4999),  # below the 50.00 minimum
            request("big", "A", 10001),  # more than the 100.00 owed
            request("usd", "A", 6000, currency="USD"),  # A is owed in EUR only
            request("early", "A", 6000, requested_on=date(2026, 9, 1)),  # before anything was earned
            request("nobody", "Z", 6000),
        ],
        LEDGER_LINES,
    )
    result = outcome(decisions)
    assert {k: s for k, (s, _) in result.items()} == dict.fromkeys(result, "rejected")
    assert "below the minimum payout of 5000 minor units" in result["small"][1]
    assert "exceeds the balance owed on 2026-09-05: 10000 minor units" in result["big"][1]
    assert "currency USD does not match: party A is owed in EUR" in result["usd"][1]
    assert "exceeds the balance owed on 2026-09-01: 0" in result["early"][1]
    assert "party Z is owed nothing" in result["nobody"][1]
    assert {d.decided_by for d in decisions} == {"rules"}


def test_earlier_requests_reserve_the_balance_and_decisions_set_the_status():
    decisions = decide_payouts(
        [
            request("first", "A", 5000, decision="approve"),
            request("second", "A", 5001, requested_on=date(2026, 9, 6)),  # only 50.00 left after the first
            request("third", "A", 5000, requested_on=date(2026, 9, 7), decision="approve", paid_on=date(2026, 9, 8)),
            request("refused", "B", 6000, decision="reject"),
            request("waiting", "B", 8000, requested_on=date(2026, 9, 9)),  # the rejected one reserved nothing
        ],
        LEDGER_LINES,
    )
    assert {k: s for k, (s, _) in outcome(decisions).items()} == {
        "first": "approved",
        "second": "rejected",
        "third": "paid",
        "refused": "rejected",
        "waiting": "requested",
    }
    assert [d.request.payout_id for d in decisions if d.to_post] == ["third"]


def test_minimum_is_configurable_per_currency():
    yen = [request("yen", "C", 3000, currency="JPY")]
    assert outcome(decide_payouts(yen, LEDGER_LINES))["yen"][0] == "requested"  # default minimum: 50 yen
    strict = PayoutRules({"JPY": Decimal("5000")})
    assert "below the minimum payout of 5000" in outcome(decide_payouts(yen, LEDGER_LINES, strict))["yen"][1]


def test_a_paid_batch_balances_and_a_posted_one_stays_paid():
    [decision] = decide_payouts([request("p1", "A", 6000, decision="approve", paid_on=date(2026, 10, 1))], LEDGER_LINES)
    lines, batch = payout_batch(decision, datetime(2026, 10, 1, 12))
    assert lines.select(
        "account", "party_id", "amount_minor", "entry_kind", "posted_for", "accounting_period"
    ).rows() == [
        ("party_payable", "A", 6000, "payout", date(2026, 10, 1), "2026-10"),
        ("cash", "A", -6000, "payout", date(2026, 10, 1), "2026-10"),
    ]
    assert batch.select("batch_id", "batch_kind", "lines", "debit_minor").rows() == [("payout|p1", "payout", 2, 6000)]
    # Once in the ledger the payout is paid, even though the balance it used is gone now.
    after = decide_payouts(
        [request("p1", "A", 6000, decision="approve", paid_on=date(2026, 10, 1))], pl.concat([LEDGER_LINES, lines])
    )
    assert [(d.status, d.to_post, d.batch_id) for d in after] == [("paid", False, "payout|p1")]


def rows(*items: dict) -> list[dict]:
    base = {
        "payout_id": "p1",
        "party_id": "A",
        "currency": "EUR",
        "amount": Decimal("60.00"),
        "requested_on": date(2026, 9, 5),
        "decision": None,
        "decided_by": None,
        "paid_on": None,
        "note": None,
        "_source_file": "payout_requests.csv",
    }
    return [{**base, **item, "_row": i} for i, item in enumerate(items, start=2)]


def test_later_rows_record_decisions_and_payments_but_cannot_rewrite_the_request():
    requests, rejects = merge_request_rows(
        rows(
            {},
            {"decision": "approve", "decided_by": "finance"},
            {"amount": Decimal("70.00"), "paid_on": date(2026, 9, 7)},  # another amount: refused
            {"decision": "reject", "decided_by": "boss"},  # a decision cannot change
            {"paid_on": date(2026, 9, 8), "note": "transfer 42"},
            {"payout_id": "p2", "paid_on": date(2026, 9, 8)},  # paid without approval
            {"payout_id": "p3", "amount": Decimal("10.005")},  # fractions of a cent
            {"payout_id": "p4", "decision": "approve"},  # a decision without a name
        )
    )
    assert [(r.payout_id, r.decision, r.decided_by, r.paid_on, r.note) for r in requests] == [
        ("p1", "approve", "finance", date(2026, 9, 8), "transfer 42")
    ]
    assert [(r.row_number, r.field) for r in rejects] == [
        (4, "amount"),
        (5, "decision"),
        (7, "paid_on"),
        (8, "amount"),
        (9, "decided_by"),
    ]


def test_the_commands_append_requests_decisions_and_payments(tmp_path):
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path)]
    made = runner.invoke(
        royalties,
        [*base, "payout", "request", "A", "--amount", "60.00", "--currency", "EUR", "--requested-on", "2026-09-05"],
    )
    assert made.exit_code == 0, made.output
    payout_id = made.output.strip()
    path = tmp_path / "inbox" / "royalties" / "payout_requests.csv"
    bad = runner.invoke(royalties, [*base, "payout", "request", "A", "--amount", "1.234", "--currency", "EUR"])
    assert bad.exit_code != 0 and "more decimal places than EUR" in bad.output
    unpaid = runner.invoke(royalties, [*base, "payout", "paid", payout_id, "--on", "2026-09-07"])
    assert unpaid.exit_code != 0 and "only an approved request can be paid" in unpaid.output
    for args in (["decide", payout_id, "approve", "--by", "finance"], ["paid", payout_id, "--on", "2026-09-07"]):
        done = runner.invoke(royalties, [*base, "payout", *args])
        assert done.exit_code == 0, done.output
    again = runner.invoke(royalties, [*base, "payout", "decide", payout_id, "reject", "--by", "boss"])
    assert again.exit_code != 0 and "already decided: approve by finance" in again.output
    unknown = runner.invoke(royalties, [*base, "payout", "decide", "nope", "approve", "--by", "finance"])
    assert unknown.exit_code != 0 and "no payout request nope" in unknown.output
    requests, rejects = read_requests(path)
    assert rejects == []
    assert [(r.payout_id, r.amount_minor, r.decision, r.decided_by, r.paid_on) for r in requests] == [
        (payout_id, 6000, "approve", "finance", date(2026, 9, 7))
    ]
    assert len(path.read_text().splitlines()) == 4  # header, request, decision, payment


# ---- the asset on DuckDB and PostgreSQL ------------------------------------------------------------------


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path) -> Warehouse:
    if request.param == "duckdb":
        return Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    return Warehouse(request.getfixturevalue("postgres_server").create_database("royalties_payouts"))


REQUESTS_CSV = """payout_id,party_id,currency,amount,requested_on,decision,decided_by,paid_on,note
PO1,A,EUR,60.00,2026-09-05,approve,finance,2026-09-07,transfer 1
PO2,B,EUR,20.00,2026-09-05,,,,
PO3,A,EUR,50.00,2026-09-06,approve,finance,2026-09-07,
PO4,A,EUR,abc,2026-09-06,,,,
"""


def test_payouts_asset_posts_each_paid_payout_once(warehouse, tmp_path):
    db = warehouse
    append_lines(db, LEDGER_LINES)
    inbox = tmp_path / "data" / "inbox" / "royalties"
    inbox.mkdir(parents=True)
    (inbox / "payout_requests.csv").write_text(REQUESTS_CSV)
    resources = {
        "warehouse": WarehouseResource(url=db.url),
        "data_dir": DataDirResource(data_dir=str(tmp_path / "data")),
    }
    for run in range(2):
        result = materialize([payouts, paid_payouts_are_posted_once], resources=resources)
        assert result.success
        assert [c.passed for c in result.get_asset_check_evaluations()] == [True]
        metadata = result.asset_materializations_for_node("royalties__payouts")[0].metadata
        assert metadata["batches_posted"].value == (1 if run == 0 else 0)
    stored = db.read(PAYOUTS).sort("payout_id")
    assert stored.select("payout_id", "status", "amount_minor", "paid_on", "batch_id").rows() == [
        ("PO1", "paid", 6000, date(2026, 9, 7), "payout|PO1"),
        ("PO2", "rejected", 2000, None, None),
        ("PO3", "rejected", 5000, None, None),  # 40.00 left after PO1
    ]
    assert "below the minimum payout" in stored["note"][1] and "exceeds the balance" in stored["note"][2]
    posted = db.read(LEDGER, "entry_kind = 'payout'").sort("line_no")
    columns = ("batch_id", "account", "party_id", "amount_minor", "posted_for", "accounting_period")
    assert posted.select(columns).rows() == [
        ("payout|PO1", "party_payable", "A", 6000, date(2026, 9, 7), "2026-09"),
        ("payout|PO1", "cash", "A", -6000, date(2026, 9, 7), "2026-09"),
    ]
    assert db.read(LEDGER_BATCHES, "batch_kind = 'payout'").select("batch_id", "batch_kind", "debit_minor").rows() == [
        ("payout|PO1", "payout", 6000)
    ]
    assert db.scalar("SELECT CAST(sum(amount_minor) AS BIGINT) FROM royalties.royalty_ledger") == 0
    rejected = db.read(QUARANTINE, "asset = 'royalties/payouts'")
    assert rejected.select("row_number", "field").rows() == [(5, "amount")]
