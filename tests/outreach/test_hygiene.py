"""Hygiene at intake on a table of tricky addresses, with suppressions and quarantine on a real DuckDB file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from backbeat.common.quarantine import QUARANTINE
from backbeat.outreach.hygiene import (
    RULES,
    IntakeRow,
    InvalidAddress,
    SuppressionIndex,
    candidate_email_rows,
    disposable_domain,
    normalise_address,
    record_hygiene,
    role_account,
    screen,
    screen_emails,
)
from backbeat.outreach.prospecting_tables import CANDIDATE_EMAILS, HYGIENE_REJECTS, HYGIENE_RULES
from backbeat.outreach.suppression import address_hash, matching_suppressions, suppress
from backbeat.outreach.tables import ACTIVITY, SUPPRESSIONS
from integrations.warehouse import Warehouse

AT = datetime(2026, 12, 5, 9, 0)

# typed -> (matching key, display form); None: refused as syntax
NORMALISED = [
    ("Jo.Doe@Example.COM", "jo.doe@example.com", "Jo.Doe@example.com"),
    ("  <Ann@Radio.Example>  ", "ann@radio.example", "Ann@radio.example"),
    ("mailto:dj@radio.example", "dj@radio.example", "dj@radio.example"),
    ("anna@Bücher.Example", "anna@xn--bcher-kva.example", "anna@bücher.example"),
    ("anna@xn--bcher-kva.example", "anna@xn--bcher-kva.example", "anna@bücher.example"),
    ("jo+promo@label.example", "jo+promo@label.example", "jo+promo@label.example"),
    ('"jo"@label.example', "jo@label.example", "jo@label.example"),
    ("dj@radio.example.", "dj@radio.example", "dj@radio.example"),
    ("Δοκιμή@παράδειγμα.δοκιμή", "δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp", "Δοκιμή@παράδειγμα.δοκιμή"),
]

INVALID = [
    ("", "no address given"),
    ("   ", "no address given"),
    ("no-at-sign.example", "not a valid email address"),
    ('"jo doe"@label.example', "needs quotes"),
    ("dj.@radio.example", "period immediately before the @-sign"),
    ("dj@radio.example..", "cannot end with a period"),
    ("dj@radio..example", "not a valid email address"),
    ("dj@localhost", "not a valid email address"),
    ("dj@radio.test", "special-use"),
    ("dj@[192.0.2.1]", "not a valid email address"),
    ("two@@signs.example", "not a valid email address"),
]


@pytest.mark.parametrize(("typed", "email", "display"), NORMALISED)
def test_addresses_are_normalised_keeping_the_local_part_as_typed(typed: str, email: str, display: str) -> None:
    address = normalise_address(typed)
    assert (address.email, address.display) == (email, display)
    assert address.domain == email.rpartition("@")[2]


@pytest.mark.parametrize(("typed", "reason"), INVALID)
def test_malformed_addresses_are_refused_with_a_reason(typed: str, reason: str) -> None:
    with pytest.raises(InvalidAddress) as caught:
        normalise_address(typed)
    assert reason in caught.value.reason


def test_normalisation_says_what_it_changed() -> None:
    assert normalise_address("dj@radio.example.").changes == ("trailing dot of the domain removed",)
    assert "IDN domain put in ASCII form" in normalise_address("a@Bücher.example").changes
    assert normalise_address("plain@radio.example").changes == ()
    assert normalise_address("dj@radio.test", allow_test_domains=True).email == "dj@radio.test"


def test_role_accounts_and_disposable_domains() -> None:
    for local in ("info", "INFO", "admin", "noreply", "no-reply", "No_Reply", "no.reply+x", "postmaster", "abuse"):
        assert role_account(local) is not None, local
    for local in ("sales", "support", "webmaster", "mailer-daemon"):
        assert role_account(local) is not None, local
    for person in ("anna", "music", "submissions", "programming", "infoanna", "dj"):
        assert role_account(person) is None, person
    assert disposable_domain("mailinator.com") == "mailinator.com"
    assert disposable_domain("eu.mailinator.com") == "mailinator.com"
    assert disposable_domain("radio.example") is None
    assert disposable_domain("x.example", {"x.example"}) == "x.example"


def test_a_batch_is_screened_rule_by_rule_with_counts_and_hints() -> None:
    result = screen_emails(
        [
            "Anna@Radio.Example",  # row 2: kept
            "anna@radio.example",  # row 3: duplicate of row 2 after normalisation
            "anna+promo@radio.example",  # row 4: kept, with a plus-address hint
            "info@radio.example",  # row 5: role
            "x@mailinator.com",  # row 6: disposable
            "not an address",  # row 7: syntax
            "A.N.N.A@gmail.com",  # row 8: kept
            "anna@gmail.com",  # row 9: kept, hint (gmail ignores dots)
            "eve@bücher.example",  # row 10: kept
            "eve@xn--bcher-kva.example",  # row 11: duplicate (IDN and punycode are one domain)
        ],
        source_file="contacts.csv",
        known_emails=["old@radio.example"],
    )
    assert [a.address.email for a in result.accepted] == [
        "anna@radio.example",
        "anna+promo@radio.example",
        "a.n.n.a@gmail.com",
        "anna@gmail.com",
        "eve@xn--bcher-kva.example",
    ]
    hints = {a.address.email: a.duplicate_hint for a in result.accepted}
    assert "anna@radio.example (contacts.csv row 2)" in hints["anna+promo@radio.example"]
    assert "a.n.n.a@gmail.com" in hints["anna@gmail.com"]
    assert hints["anna@radio.example"] is None and result.hints == 2
    assert [(r.row.row_number, r.rule) for r in result.refused] == [
        (3, "duplicate"),
        (5, "role_account"),
        (6, "disposable"),
        (7, "syntax"),
        (11, "duplicate"),
    ]
    assert result.counts == {
        "syntax": 1,
        "suppressed": 0,
        "undeliverable": 0,
        "disposable": 1,
        "role_account": 1,
        "duplicate": 2,
    }
    assert result.checked == 10 and result.shares()["duplicate"] == pytest.approx(0.2)
    assert set(RULES) <= set(HYGIENE_RULES)
    again = screen_emails(["OLD@radio.example"], known_emails=["old@radio.example"])
    assert again.refused[0].reason == "same address as already on file"


def test_rejects_name_file_row_field_and_reason() -> None:
    rows = [IntakeRow("info@radio.example", "leads.csv", 7, field="contact_email")]
    reject = screen(rows).rejects[0]
    assert (reject.source_file, reject.row_number, reject.field, reject.value) == (
        "leads.csv",
        7,
        "contact_email",
        "info@radio.example",
    )
    assert reject.reason == "role_account: info@ is a role account, not a person"
    refused = screen([IntakeRow("dj@radio.example", "outreach.candidate_emails", verification="undeliverable")])
    assert refused.refused[0].rule == "undeliverable"


@pytest.fixture()
def warehouse(tmp_path: Path) -> Warehouse:
    wh = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    wh.ensure(SUPPRESSIONS, ACTIVITY)
    return wh


def test_suppressions_match_like_the_send_path_including_purged_hashes(warehouse: Warehouse) -> None:
    suppress(warehouse, "org-1", "DJ@Radio.example", "unsubscribe", source="one_click", at=AT)
    suppress(warehouse, "org-1", "bücher.example", "bounce", source="dsn", at=AT)
    suppress(warehouse, "org-2", "eve@indie-fm.example", "manual", source="cli", at=AT)
    with warehouse.connect() as conn:  # a purged suppression: only its salted hash is left
        conn.insert(
            SUPPRESSIONS,
            SUPPRESSIONS.from_rows(
                [
                    {
                        "suppression_id": "s-purged",
                        "org_id": "org-1",
                        "kind": "email",
                        "value": address_hash("org-1", "gone@label.example"),
                        "reason": "unsubscribe",
                        "source": "purge",
                        "campaign_id": None,
                        "actor": "retention",
                        "created_at": AT,
                    }
                ]
            ),
        )
    index = SuppressionIndex.load(warehouse, "org-1")
    offered = [
        "dj@radio.example",
        "Gone@Label.example",
        "anna@mail.bücher.example",
        "eve@indie-fm.example",
        "ann@radio.example",
    ]
    for email in offered:
        key = normalise_address(email).email
        assert index.matches(key) == matching_suppressions(warehouse, "org-1", key), email
    result = screen_emails(offered, "inbound.csv", suppressions=index)
    assert [r.row.email for r in result.refused] == offered[:3]
    assert {r.rule for r in result.refused} == {"suppressed"}
    assert "xn--bcher-kva.example" in result.refused[2].reason
    assert [a.address.email for a in result.accepted] == ["eve@indie-fm.example", "ann@radio.example"]


def test_refused_rows_are_quarantined_and_recorded_once(warehouse: Warehouse) -> None:
    rows = [
        IntakeRow("ok@radio.example", "leads.csv", 2),
        IntakeRow("noreply@radio.example", "leads.csv", 3),
        IntakeRow("bad@", "leads.csv", 4),
        IntakeRow("x@mailinator.com", "leads.csv", 5, candidate_id="c-1"),
    ]
    result = screen(rows)
    counts = record_hygiene(warehouse, "org-1", result, asset="outreach/hygiene", partition_key="leads.csv")
    assert counts == {
        "checked": 4,
        "accepted": 1,
        "syntax": 1,
        "suppressed": 0,
        "undeliverable": 0,
        "disposable": 1,
        "role_account": 1,
        "duplicate": 0,
    }
    record_hygiene(warehouse, "org-1", result, asset="outreach/hygiene", partition_key="leads.csv")
    quarantined = warehouse.read(QUARANTINE).sort("row_number")
    assert quarantined.select("source_file", "row_number", "field", "value").rows() == [
        ("leads.csv", 3, "email", "noreply@radio.example"),
        ("leads.csv", 4, "email", "bad@"),
        ("leads.csv", 5, "email", "x@mailinator.com"),
    ]
    assert quarantined["reason"][1].startswith("syntax: not a valid email address")
    recorded = warehouse.read(HYGIENE_REJECTS).sort("row_number")
    assert recorded.select("rule", "normalised_email", "candidate_id").rows() == [
        ("role_account", "noreply@radio.example", None),
        ("syntax", None, None),
        ("disposable", "x@mailinator.com", "c-1"),
    ]


def test_enrichment_results_are_screened_with_their_verification(warehouse: Warehouse) -> None:
    found = [
        {"org_id": "org-1", "candidate_id": "c-1", "email": "ed@blog.example", "verification": "deliverable"},
        {"org_id": "org-1", "candidate_id": "c-1", "email": "gone@blog.example", "verification": "undeliverable"},
        {"org_id": "org-1", "candidate_id": "c-2", "email": "webmaster@radio.example", "verification": "risky"},
        {"org_id": "org-2", "candidate_id": "c-9", "email": "other@org.example", "verification": "deliverable"},
    ]
    with warehouse.connect() as conn:
        conn.ensure(CANDIDATE_EMAILS)
        conn.insert(
            CANDIDATE_EMAILS,
            CANDIDATE_EMAILS.from_rows([dict.fromkeys(CANDIDATE_EMAILS.column_names) | r for r in found]),
        )
    rows = candidate_email_rows(warehouse, "org-1")
    assert rows[0] == IntakeRow("ed@blog.example", "outreach.candidate_emails", None, "email", "c-1", "deliverable")
    result = screen(rows, suppressions=SuppressionIndex.load(warehouse, "org-1"))
    assert [a.address.email for a in result.accepted] == ["ed@blog.example"]
    assert [(r.row.candidate_id, r.rule) for r in result.refused] == [("c-1", "undeliverable"), ("c-2", "role_account")]
    record_hygiene(warehouse, "org-1", result, asset="outreach/hygiene", partition_key="org-1")
    assert warehouse.read(HYGIENE_REJECTS).select("candidate_id", "rule").sort("rule").rows() == [
        ("c-2", "role_account"),
        ("c-1", "undeliverable"),
    ]
