"""Bodies under a retention policy, the retention job, and an organisation's export and purge."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from backbeat.outreach.retention import (
    expire_bodies,
    export_organisation,
    keep_body,
    org_tables,
    purge_organisation,
    read_body,
)
from backbeat.outreach.suppression import address_hash, is_suppressed, suppress
from backbeat.outreach.tables import (
    ACTIVITY,
    CONTACTS,
    MAILBOXES,
    MESSAGE_BODIES,
    ORG_CONTACTS,
    ORGANISATIONS,
    OUTCOMES,
    OUTREACH_TABLES,
    PROSPECTS,
    SEND_ATTEMPTS,
    SUPPRESSIONS,
)
from integrations.resilience.secrets import TokenStore
from integrations.warehouse import Table, Warehouse

T0 = datetime(2026, 12, 1, 12, 0)


def frame(table: Table, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """`rows` as a frame of `table`, the columns they leave out null."""
    return table.from_rows([dict.fromkeys(table.column_names) | row for row in rows])


def set_policy(warehouse: Warehouse, policies: dict[str, int | None]) -> None:
    rows = [{"org_id": org, "name": org, "body_retention_days": days} for org, days in policies.items()]
    warehouse.replace(ORGANISATIONS, frame(ORGANISATIONS, rows))


@pytest.fixture()
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(f"duckdb:///{tmp_path}/w.duckdb")


def test_bodies_are_not_stored_without_a_policy(warehouse: Warehouse) -> None:
    set_policy(warehouse, {"org-none": None, "org-zero": 0})
    for org in ("org-none", "org-zero", "org-unknown"):
        assert keep_body(warehouse, org, "m1@x", "outbound", "Hello", now=T0) is None
    assert warehouse.read(MESSAGE_BODIES).is_empty()
    with pytest.raises(ValueError, match="direction"):
        keep_body(warehouse, "org-none", "m1@x", "sideways", "Hello")


def test_a_body_is_kept_for_the_policy_then_deleted_by_the_job(warehouse: Warehouse) -> None:
    set_policy(warehouse, {"org-1": 30})
    assert keep_body(warehouse, "org-1", "m1@x", "outbound", "Hello Jane", now=T0) == T0 + timedelta(days=30)
    assert keep_body(warehouse, "org-1", "m1@x", "outbound", "changed", now=T0 + timedelta(days=1)) is not None
    assert read_body(warehouse, "org-1", "m1@x", "outbound", now=T0 + timedelta(days=29)) == "Hello Jane"
    assert read_body(warehouse, "org-1", "m1@x", "outbound", now=T0 + timedelta(days=30)) is None

    assert expire_bodies(warehouse, now=T0 + timedelta(days=29, hours=23)) == {}
    assert warehouse.read(MESSAGE_BODIES).height == 1
    assert expire_bodies(warehouse, now=T0 + timedelta(days=30)) == {"org-1": 1}
    assert warehouse.read(MESSAGE_BODIES).is_empty()
    audit = warehouse.read(ACTIVITY)
    assert audit.select("org_id", "actor", "action").rows() == [("org-1", "retention", "expire_bodies")]
    assert json.loads(audit["detail"][0]) == {"deleted": 1, "retention_days": 30}


def test_a_shortened_or_withdrawn_policy_expires_bodies_early(warehouse: Warehouse) -> None:
    set_policy(warehouse, {"org-1": 30, "org-2": 30, "org-3": 30})
    for org in ("org-1", "org-2", "org-3"):
        keep_body(warehouse, org, "m1@x", "inbound", "reply text", now=T0)
    set_policy(warehouse, {"org-1": 7, "org-2": None, "org-3": 30})
    assert expire_bodies(warehouse, now=T0 + timedelta(days=8)) == {"org-1": 1, "org-2": 1}
    assert warehouse.read(MESSAGE_BODIES)["org_id"].to_list() == ["org-3"]


def seed(warehouse: Warehouse) -> None:
    """Two organisations with a contact, a prospect, a send, an outcome, a body and suppressions each."""
    set_policy(warehouse, {"org-1": 30, "org-2": 30})
    people = {"org-1": "jane@radio.example", "org-2": "max@fm.example"}
    warehouse.replace(
        ORG_CONTACTS,
        frame(
            ORG_CONTACTS,
            [{"org_id": o, "contact_id": f"c-{o}", "email": e, "provenance": "import"} for o, e in people.items()],
        ),
    )
    warehouse.replace(
        PROSPECTS,
        frame(
            PROSPECTS,
            [
                {
                    "prospect_id": f"p-{o}",
                    "org_id": o,
                    "campaign_id": f"camp-{o}",
                    "contact_id": f"c-{o}",
                    "mailbox_id": "promo@label.example",
                    "status": "active",
                }
                for o in people
            ],
        ),
    )
    warehouse.replace(
        SEND_ATTEMPTS,
        frame(
            SEND_ATTEMPTS,
            [
                {
                    "idempotency_key": f"k-{o}",
                    "attempt_no": 1,
                    "event": "sent",
                    "org_id": o,
                    "mailbox_id": "promo@label.example",
                    "campaign_id": f"camp-{o}",
                    "prospect_id": f"p-{o}",
                    "step_no": 1,
                    "gmail_message_id": f"g-{o}",
                    "occurred_at": T0,
                }
                for o in people
            ],
        ),
    )
    warehouse.replace(
        OUTCOMES,
        frame(
            OUTCOMES,
            [
                {"outcome_id": f"o-{o}", "org_id": o, "kind": "replied", "email": e, "recorded_at": T0}
                for o, e in people.items()
            ],
        ),
    )
    warehouse.replace(CONTACTS, frame(CONTACTS, [{"contact_id": "shared", "email": "jane@radio.example"}]))
    warehouse.replace(
        MAILBOXES,
        frame(
            MAILBOXES,
            [
                {"mailbox_id": f"promo@{o}.example", "org_id": o, "status": "ok", "token_name": f"gmail-{o}"}
                for o in people
            ],
        ),
    )
    for org, email in people.items():
        keep_body(warehouse, org, f"m-{org}@label.example", "outbound", f"Dear {email}", now=T0)
        suppress(warehouse, org, email, "unsubscribe", source="one_click", at=T0)
        suppress(warehouse, org, "@spam-trap.example", "manual", source="cli", actor="cli:ann", at=T0)


def test_export_writes_every_table_of_one_organisation(warehouse: Warehouse, tmp_path: Path) -> None:
    seed(warehouse)
    manifest_path = export_organisation(warehouse, "org-1", tmp_path / "export", actor="cli:ann", now=T0)
    manifest = json.loads(manifest_path.read_text())
    assert manifest["org_id"] == "org-1"
    assert {e["table"] for e in manifest["tables"]} == {t.qualified_name for t in org_tables()}
    assert len(org_tables()) == len(OUTREACH_TABLES) - 1  # all but the shared CSV import
    rows = {}
    for entry in manifest["tables"]:
        path = manifest_path.parent / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        data = pl.read_parquet(path)
        assert data.height == entry["rows"]
        assert set(data["org_id"].to_list()) <= {"org-1"}
        rows[entry["table"]] = data
    assert rows["outreach.org_contacts"]["email"].to_list() == ["jane@radio.example"]
    assert rows["outreach.message_bodies"]["body"].to_list() == ["Dear jane@radio.example"]
    assert sorted(rows["outreach.suppressions"]["value"].to_list()) == ["jane@radio.example", "spam-trap.example"]
    assert rows["outreach.send_attempts"].height == rows["outreach.outcomes"].height == 1
    assert rows["outreach.prospects"].schema["enrolled_at"] == pl.Datetime("us")

    with pytest.raises(FileExistsError):
        export_organisation(warehouse, "org-1", tmp_path / "export")
    exports = warehouse.read(ACTIVITY, "action = 'export'")
    assert exports.select("org_id", "actor", "subject_id").rows() == [("org-1", "cli:ann", "org-1")]


def _text_anywhere(warehouse: Warehouse, needle: str) -> list[str]:
    """Tables (other than the shared CSV import) with `needle` in any text column."""
    hits = []
    for t in org_tables():
        text_cols = [c.name for c in t.columns if c.type == "text"]
        where = " OR ".join(f"strpos(coalesce({c}, ''), ?) > 0" for c in text_cols)
        if warehouse.scalar(f"SELECT count(*) FROM {t.qualified_name} WHERE {where}", [needle] * len(text_cols)):
            hits.append(t.qualified_name)
    return hits


@pytest.fixture(params=["duckdb", "postgres"])
def any_warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    if request.param == "duckdb":
        return Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    return Warehouse(request.getfixturevalue("postgres_server").create_database("outreach_purge"))


def test_purge_deletes_an_organisation_but_keeps_its_suppressions_hashed(
    any_warehouse: Warehouse, tmp_path: Path
) -> None:
    warehouse = any_warehouse
    seed(warehouse)
    before_org2 = {t.name: warehouse.read(t, "org_id = 'org-2'").height for t in org_tables()}
    tokens = TokenStore(tmp_path / "tokens", TokenStore.generate_key())
    for org in ("org-1", "org-2"):
        tokens.save(f"gmail-{org}", {"refresh_token": f"secret-{org}"})

    report = purge_organisation(warehouse, "org-1", actor="cli:ann", tokens=tokens, now=T0 + timedelta(days=1))

    assert report.tokens_deleted == ("gmail-org-1",)
    assert tokens.load("gmail-org-1") is None and tokens.load("gmail-org-2") == {"refresh_token": "secret-org-2"}
    assert report.suppressions_kept == 2
    assert report.deleted["outreach.org_contacts"] == 1 and report.deleted["outreach.suppressions"] == 2
    for t in org_tables():
        left = warehouse.read(t, "org_id = 'org-1'")
        if t is SUPPRESSIONS:
            assert sorted(left["value"].to_list()) == sorted(
                [address_hash("org-1", "jane@radio.example"), address_hash("org-1", "spam-trap.example")]
            )
            assert left["reason"].sort().to_list() == ["manual", "unsubscribe"]
        elif t is ACTIVITY:
            assert left.select("action", "actor").rows() == [("purge", "cli:ann")]
            assert json.loads(left["detail"][0])["suppressions_kept_hashed"] == 2
        else:
            assert left.is_empty(), t.qualified_name
    assert _text_anywhere(warehouse, "jane@radio.example") == []
    assert _text_anywhere(warehouse, "c-org-1") == []
    # The purged person (and the domain) stay unmailable; the other organisation is untouched.
    assert is_suppressed(warehouse, "org-1", "Jane@Radio.example")
    assert is_suppressed(warehouse, "org-1", "anyone@spam-trap.example")
    assert {t.name: warehouse.read(t, "org_id = 'org-2'").height for t in org_tables()} == before_org2
    assert warehouse.read(CONTACTS).height == 1  # the shared CSV import is not the organisation's

    # A second purge changes nothing but adds its own audit row; suppressing again stays one suppression.
    again = purge_organisation(warehouse, "org-1", actor="cli:ann")
    assert (again.deleted, again.suppressions_kept) == ({}, 2)
    assert suppress(warehouse, "org-1", "jane@radio.example", "unsubscribe", source="one_click") is False
    assert warehouse.read(ACTIVITY, "org_id = 'org-1' AND action = 'purge'").height == 2

    if warehouse.kind == "postgres":  # the append-only guard is back on after the purge
        with pytest.raises(Exception, match="append-only"), warehouse.connect() as conn:
            conn.execute("DELETE FROM outreach.suppressions WHERE org_id = 'org-2'")
