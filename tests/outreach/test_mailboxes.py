"""Mailboxes (`backbeat.outreach.mailboxes`) on a DuckDB warehouse: connect and reconnect, the encrypted token,
health and the auth_required alert, settings from the environment. No Gmail needed here (see test_cli.py)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path

import pytest

from backbeat.outreach.mailboxes import (
    GmailSettings,
    MailboxError,
    connect_mailbox,
    get_mailbox,
    gmail_client,
    mailbox_health,
    mark_auth_required,
    token_name,
)
from integrations.gmail import AuthRequired
from integrations.resilience import TokenStore
from integrations.warehouse import Warehouse

NOW = datetime(2026, 12, 5, 9, 0)
SECRET = "1//0g-refresh-token-that-must-never-show"


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / "tokens", TokenStore.generate_key())


def test_connect_stores_the_token_encrypted_and_a_reconnect_keeps_age_cap_and_pause(
    warehouse: Warehouse, store: TokenStore
) -> None:
    box = connect_mailbox(
        warehouse, store, " Promo@Label.example ", "label", SECRET, created_on=date(2024, 1, 2), daily_cap=70, now=NOW
    )
    assert (box.mailbox_id, box.status, box.created_on, box.daily_cap) == (
        "promo@label.example",
        "ok",
        date(2024, 1, 2),
        70,
    )
    assert box.token_name == token_name("promo@label.example") == "gmail-promo_at_label.example"
    assert SECRET.encode() not in store.path(box.token_name).read_bytes()
    assert store.load(box.token_name)["refresh_token"] == SECRET
    assert SECRET not in repr(box) and "secret" not in repr(
        GmailSettings(token_dir="t", secret_key="k", client_secret="s")
    )

    with warehouse.connect() as conn:  # Gmail's daily limit paused it; then the grant is revoked
        conn.execute(
            "UPDATE outreach.mailboxes SET paused_until = ? WHERE mailbox_id = ?",
            [datetime(2026, 12, 6), box.mailbox_id],
        )
    assert mark_auth_required(warehouse, box.mailbox_id, "invalid_grant", now=NOW) is not None
    assert mark_auth_required(warehouse, box.mailbox_id, "invalid_grant", now=NOW) is None  # one alert, not one per try

    again = connect_mailbox(warehouse, store, "promo@label.example", "label", SECRET + "-new", now=NOW)
    assert (again.status, again.created_on, again.daily_cap) == ("ok", date(2024, 1, 2), 70)
    assert again.paused_until == datetime(2026, 12, 6)  # a reconnect never lifts a daily-limit pause
    actions = warehouse.query("SELECT action FROM outreach.activity ORDER BY occurred_at, action")["action"].to_list()
    assert sorted(actions) == ["auth_required", "connect", "reconnect"]

    with pytest.raises(MailboxError, match="registered to organisation 'label'"):
        connect_mailbox(warehouse, store, "promo@label.example", "other", SECRET, now=NOW)
    with pytest.raises(MailboxError, match="not an email address"):
        connect_mailbox(warehouse, store, "promo", "label", SECRET, now=NOW)
    with pytest.raises(MailboxError, match="daily cap must be within 0..2000"):
        connect_mailbox(warehouse, store, "plug@label.example", "label", SECRET, daily_cap=5000, now=NOW)


def test_health_shows_caps_by_age_and_the_alert_is_logged(warehouse: Warehouse, store: TokenStore, caplog) -> None:
    connect_mailbox(warehouse, store, "new@label.example", "label", SECRET, created_on=date(2026, 11, 1), now=NOW)
    connect_mailbox(warehouse, store, "old@label.example", "label", SECRET, created_on=date(2020, 1, 1), now=NOW)
    with caplog.at_level(logging.ERROR, logger="backbeat.outreach.alerts"):
        mark_auth_required(warehouse, "old@label.example", "invalid_grant", now=NOW)
    assert "ALERT outreach mailbox old@label.example needs re-authorisation (invalid_grant)" in caplog.text
    assert SECRET not in caplog.text
    health = {h.mailbox_id: h for h in mailbox_health(warehouse, store=store, now=NOW)}
    assert (health["new@label.example"].daily_cap, health["old@label.example"].daily_cap) == (40, 100)
    assert health["old@label.example"].line() == (
        "old@label.example [label]: auth_required (invalid_grant), sent 0/100 in the last 24 h, token stored"
    )
    assert get_mailbox(warehouse, "OLD@label.example").status == "auth_required"


def test_settings_from_the_environment_and_a_client_needs_a_stored_token(tmp_path: Path, store: TokenStore) -> None:
    settings = GmailSettings.from_env(
        tmp_path,
        {
            "BACKBEAT_GMAIL_API_URL": "http://127.0.0.1:9",
            "BACKBEAT_GMAIL_TOKEN_URI": "http://127.0.0.1:9/token",
            "BACKBEAT_GMAIL_CLIENT_ID": "id",
        },
    )
    assert settings.endpoint.api_endpoint == "http://127.0.0.1:9" and settings.token_dir == str(
        tmp_path / "secrets" / "gmail"
    )
    assert settings.missing() == ["BACKBEAT_SECRET_KEY", "BACKBEAT_GMAIL_CLIENT_SECRET"]
    with pytest.raises(MailboxError, match="BACKBEAT_SECRET_KEY is not set"):
        settings.token_store()
    with pytest.raises(AuthRequired) as refused:
        gmail_client(settings, "promo@label.example", store=store)
    assert refused.value.reason == "no_refresh_token"
