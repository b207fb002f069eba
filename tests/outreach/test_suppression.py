"""Suppressions on a real DuckDB file: normalisation, idempotence, domain matching, audit, unsubscribe."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from backbeat.outreach.suppression import (
    address_hash,
    effective_suppressions,
    honour_unsubscribe,
    is_suppressed,
    matching_suppressions,
    normalise_email,
    parse_target,
    suppress,
    suppression_for,
)
from backbeat.outreach.tables import ACTIVITY, ORG_CONTACTS, OUTCOMES, PROSPECTS, SEND_ATTEMPTS, SUPPRESSIONS
from integrations.warehouse import Table, Warehouse

AT = datetime(2026, 12, 5, 9, 0)


def frame(table: Table, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """`rows` as a frame of `table`, the columns they leave out null."""
    return table.from_rows([dict.fromkeys(table.column_names) | row for row in rows])


@pytest.fixture()
def warehouse(tmp_path: Path) -> Warehouse:
    wh = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    wh.ensure(SUPPRESSIONS, ACTIVITY)
    return wh


def test_addresses_and_domains_are_normalised() -> None:
    assert normalise_email("  <Jane.Doe@Bücher.Example.> ") == "jane.doe@xn--bcher-kva.example"
    assert parse_target("@Radio.Example").kind == "domain"
    assert parse_target("radio.example").value == "radio.example"
    assert parse_target("DJ@radio.example").value == "dj@radio.example"
    for bad in ("no-at-sign", "a b@x.example", "@", "x@localhost", "x@bad..example"):
        with pytest.raises(ValueError):
            normalise_email(bad)


def test_suppressing_twice_keeps_one_row_and_one_audit_event(warehouse: Warehouse) -> None:
    assert suppress(warehouse, "org-1", "DJ@Radio.example", "unsubscribe", source="one_click", at=AT) is True
    assert suppress(warehouse, "org-1", "dj@radio.example ", "unsubscribe", source="one_click", at=AT) is False
    assert suppress(warehouse, "org-1", "dj@radio.example", "unsubscribe", source="cli", actor="cli:ann") is False
    rows = warehouse.read(SUPPRESSIONS)
    assert rows.select("org_id", "kind", "value", "reason", "source").rows() == [
        ("org-1", "email", "dj@radio.example", "unsubscribe", "one_click")
    ]
    audit = warehouse.read(ACTIVITY)
    assert audit.height == 1
    event = audit.row(0, named=True)
    assert (event["action"], event["subject_type"]) == ("suppress", "email")
    assert event["subject_id"] == address_hash("org-1", "dj@radio.example")
    assert "dj@radio.example" not in json.dumps(event, default=str)
    assert json.loads(event["detail"])["reason"] == "unsubscribe"


def test_a_second_reason_appends_history_but_stays_one_effective_suppression(warehouse: Warehouse) -> None:
    suppress(warehouse, "org-1", "dj@radio.example", "bounce", source="dsn", at=AT)
    suppress(warehouse, "org-1", "dj@radio.example", "complaint", source="fbl", at=datetime(2026, 12, 6))
    assert warehouse.read(SUPPRESSIONS).height == 2
    effective = effective_suppressions(warehouse, "org-1")
    assert effective.select("value", "reason").rows() == [("dj@radio.example", "bounce")]
    found = suppression_for(warehouse, "org-1", "DJ@radio.example")
    assert found is not None and (found.reason, found.source) == ("bounce", "dsn")


def test_domain_suppression_covers_the_domain_and_its_subdomains_only(warehouse: Warehouse) -> None:
    suppress(warehouse, "org-1", "@Radio.Example", "manual", source="cli", actor="cli:ann")
    assert is_suppressed(warehouse, "org-1", "anyone@radio.example")
    assert is_suppressed(warehouse, "org-1", "news@mail.radio.example")
    assert not is_suppressed(warehouse, "org-1", "someone@otherradio.example")
    assert not is_suppressed(warehouse, "org-1", "someone@radio.example.com")
    suppress(warehouse, "org-1", "news@mail.radio.example", "bounce", source="dsn")
    assert matching_suppressions(warehouse, "org-1", "News@mail.radio.example") == {
        ("domain", "radio.example"),
        ("email", "news@mail.radio.example"),
    }
    assert matching_suppressions(warehouse, "org-1", "x@otherradio.example") == frozenset()


def test_suppressions_belong_to_one_organisation(warehouse: Warehouse) -> None:
    suppress(warehouse, "org-1", "dj@radio.example", "unsubscribe", source="one_click")
    assert is_suppressed(warehouse, "org-1", "dj@radio.example")
    assert not is_suppressed(warehouse, "org-2", "dj@radio.example")


def test_idna_forms_match_each_other(warehouse: Warehouse) -> None:
    suppress(warehouse, "org-1", "bücher.example", "manual", source="cli")
    assert is_suppressed(warehouse, "org-1", "info@xn--bcher-kva.example")
    assert is_suppressed(warehouse, "org-1", "INFO@BÜCHER.EXAMPLE")


def test_a_hashed_suppression_still_matches(warehouse: Warehouse) -> None:
    """What a purge leaves behind (the value replaced by its salted hash) still stops mail."""
    with warehouse.connect() as conn:
        conn.insert(
            SUPPRESSIONS,
            SUPPRESSIONS.from_rows(
                [
                    {
                        "suppression_id": "x1",
                        "org_id": "org-1",
                        "kind": "email",
                        "value": address_hash("org-1", "gone@radio.example"),
                        "reason": "unsubscribe",
                        "source": "one_click",
                        "campaign_id": None,
                        "actor": "unsubscribe",
                        "created_at": AT,
                    }
                ]
            ),
        )
    assert is_suppressed(warehouse, "org-1", "Gone@Radio.example")
    # Given back in clear, as a stop rule compares them.
    assert matching_suppressions(warehouse, "org-1", "Gone@Radio.example") == {("email", "gone@radio.example")}
    assert not is_suppressed(warehouse, "org-2", "gone@radio.example")
    assert suppress(warehouse, "org-1", "gone@radio.example", "unsubscribe", source="one_click") is False


def test_unknown_reason_is_refused(warehouse: Warehouse) -> None:
    with pytest.raises(ValueError, match="reason"):
        suppress(warehouse, "org-1", "dj@radio.example", "annoyed", source="cli")
    assert warehouse.read(SUPPRESSIONS).is_empty()


def test_honour_unsubscribe_suppresses_and_records_one_outcome(warehouse: Warehouse) -> None:
    warehouse.replace(
        ORG_CONTACTS,
        frame(
            ORG_CONTACTS,
            [{"org_id": "org-1", "contact_id": "c-1", "email": "dj@radio.example", "provenance": "import"}],
        ),
    )
    warehouse.replace(
        PROSPECTS,
        frame(
            PROSPECTS,
            [
                {
                    "prospect_id": "p-1",
                    "org_id": "org-1",
                    "campaign_id": "camp-1",
                    "contact_id": "c-1",
                    "mailbox_id": "promo@label.example",
                    "status": "active",
                }
            ],
        ),
    )
    sent = {
        "idempotency_key": "k",
        "event": "sent",
        "org_id": "org-1",
        "mailbox_id": "promo@label.example",
        "campaign_id": "camp-1",
        "prospect_id": "p-1",
        "gmail_message_id": "g",
        "occurred_at": AT,
    }
    warehouse.replace(
        SEND_ATTEMPTS,
        frame(SEND_ATTEMPTS, [sent | {"attempt_no": 1, "step_no": 1}, sent | {"attempt_no": 2, "step_no": 2}]),
    )
    first = honour_unsubscribe(warehouse, "org-1", "c-1", "camp-1", source="one_click", at=AT)
    again = honour_unsubscribe(warehouse, "org-1", "c-1", "camp-1", source="one_click", at=AT)
    assert (first.known, first.newly_suppressed) == (True, True)
    assert (again.known, again.newly_suppressed) == (True, False)
    assert is_suppressed(warehouse, "org-1", "dj@radio.example")
    outcomes = warehouse.read(OUTCOMES)
    assert outcomes.select("kind", "prospect_id", "contact_id", "step_no", "detail").rows() == [
        ("unsubscribed", "p-1", "c-1", 2, "one_click")
    ]
    unknown = honour_unsubscribe(warehouse, "org-1", "c-missing", "camp-1", source="one_click")
    assert unknown.known is False
    assert warehouse.read(SUPPRESSIONS).height == 1
