"""The unsubscribe service as it runs: `serve()` in a subprocess (uvicorn on a free port), a real HTTP client,
and the DuckDB warehouse the service writes read back after each answer."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from backbeat.outreach.stops import stop_reason
from backbeat.outreach.suppression import is_suppressed
from backbeat.outreach.tables import (
    ACTIVITY,
    CAMPAIGNS,
    MAILBOXES,
    ORG_CONTACTS,
    OUTCOMES,
    PROSPECTS,
    SUPPRESSIONS,
)
from backbeat.outreach.unsubscribe import make_token
from integrations.warehouse import Table, Warehouse

KEY = "server-test-unsubscribe-key-0123456789"
REPO = Path(__file__).resolve().parents[2]
CONTACTS = {
    "c-1": "dj@radio.example",
    "c-2": "host@fm.example",
    "c-3": "curator@lists.example",
    "c-4": "booker@venue.example",
}
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
CAMPAIGNS_ = ("camp-1", "camp-2")
MAILBOX = "promo@label.example"


def frame(table: Table, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """`rows` as a frame of `table`, the columns they leave out null."""
    return table.from_rows([dict.fromkeys(table.column_names) | row for row in rows])


@dataclass
class Service:
    url: str
    warehouse: Warehouse
    log: Path

    def suppressions(self) -> int:
        return self.warehouse.read(SUPPRESSIONS).height

    def outcomes(self) -> int:
        return self.warehouse.read(OUTCOMES).height


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("unsubscribe")
    warehouse = Warehouse(f"duckdb:///{tmp}/w.duckdb")
    rows = [
        {"org_id": "org-1", "contact_id": c, "email": e, "provenance": "import", "consent": True}
        for c, e in CONTACTS.items()
    ]
    warehouse.replace(ORG_CONTACTS, frame(ORG_CONTACTS, rows))
    # c-4 is a prospect of two active campaigns, sent from a healthy mailbox: it may be emailed until it clicks.
    warehouse.replace(
        CAMPAIGNS, frame(CAMPAIGNS, [{"campaign_id": c, "org_id": "org-1", "status": "active"} for c in CAMPAIGNS_])
    )
    warehouse.replace(MAILBOXES, frame(MAILBOXES, [{"mailbox_id": MAILBOX, "org_id": "org-1", "status": "ok"}]))
    prospects = [
        {
            "prospect_id": f"p-{c}",
            "org_id": "org-1",
            "campaign_id": c,
            "contact_id": "c-4",
            "mailbox_id": MAILBOX,
            "status": "active",
        }
        for c in CAMPAIGNS_
    ]
    warehouse.replace(PROSPECTS, frame(PROSPECTS, prospects))
    warehouse.ensure(SUPPRESSIONS, OUTCOMES, ACTIVITY)
    port = _free_port()
    log = tmp / "server.log"
    code = (
        "import os; from backbeat.outreach.unsubscribe_app import serve; "
        f"serve('127.0.0.1', {port}, {warehouse.url!r}, os.environ['TEST_UNSUBSCRIBE_KEY'], log_level='debug')"
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, "TEST_UNSUBSCRIBE_KEY": KEY},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).text == "ok\n":
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the unsubscribe server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield Service(url, warehouse, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _token(contact_id: str, **kwargs: object) -> str:
    return make_token(KEY, "org-1", contact_id, "camp-1", **kwargs)  # type: ignore[arg-type]


def test_one_click_post_records_at_once_and_only_once(service: Service) -> None:
    url = f"{service.url}/u/{_token('c-1')}"
    first = httpx.post(url, data=ONE_CLICK, timeout=10)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    assert "unsubscribed" in first.text
    # Recorded before the answer: the very next send's check sees it.
    assert is_suppressed(service.warehouse, "org-1", "dj@radio.example")
    assert (service.suppressions(), service.outcomes()) == (1, 1)

    second = httpx.post(url, data=ONE_CLICK, timeout=10)
    assert second.status_code == 200
    assert (service.suppressions(), service.outcomes()) == (1, 1)
    outcome = service.warehouse.read(OUTCOMES).row(0, named=True)
    assert (outcome["kind"], outcome["campaign_id"], outcome["contact_id"]) == ("unsubscribed", "camp-1", "c-1")


def test_get_shows_a_confirmation_page_and_records_nothing(service: Service) -> None:
    url = f"{service.url}/u/{_token('c-2')}"
    before = (service.suppressions(), service.outcomes())
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post"' in page.text and 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert "host@fm.example" not in page.text
    assert (service.suppressions(), service.outcomes()) == before
    assert not is_suppressed(service.warehouse, "org-1", "host@fm.example")
    # The page's button posts the same form to the same URL.
    assert httpx.post(url, data=ONE_CLICK, timeout=10).status_code == 200
    assert is_suppressed(service.warehouse, "org-1", "host@fm.example")


def _forged(token: str) -> str:
    blob = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    blob[7] ^= 0x01  # a byte of the contact id
    return base64.urlsafe_b64encode(bytes(blob)).rstrip(b"=").decode()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_forged_and_expired_tokens_are_refused_and_record_nothing(service: Service, method: str) -> None:
    before = (service.suppressions(), service.outcomes())
    forged = _forged(_token("c-3"))
    other_key = make_token("another-key-entirely-0123456789", "org-1", "c-3", "camp-1")
    expired = _token("c-3", ttl=timedelta(hours=1), now=datetime(2020, 1, 1))
    for token, status, words in ((forged, 400, "not valid"), (other_key, 400, "not valid"), (expired, 410, "expired")):
        answer = httpx.request(method, f"{service.url}/u/{token}", data=ONE_CLICK if method == "POST" else None)
        assert answer.status_code == status, answer.text
        assert words in answer.text
        assert answer.headers["content-type"].startswith("text/plain")
    assert httpx.post(f"{service.url}/u/", data=ONE_CLICK).status_code == 404
    assert (service.suppressions(), service.outcomes()) == before
    assert not is_suppressed(service.warehouse, "org-1", "curator@lists.example")


def test_no_token_address_or_contact_id_in_the_log(service: Service) -> None:
    token = _token("c-3")
    assert httpx.post(f"{service.url}/u/{token}", data=ONE_CLICK, timeout=10).status_code == 200
    assert httpx.get(f"{service.url}/u/{_forged(token)}", timeout=10).status_code == 400
    time.sleep(0.2)  # let the server flush its log lines
    log = service.log.read_text()
    assert "POST /u/{token} org=org-1 campaign=camp-1" in log  # the log is written, just not with secrets
    for secret in (token, _forged(token), token[:20], "curator@lists.example", "c-3"):
        assert secret not in log


def test_a_contact_no_longer_on_file_gets_the_page_and_nothing_is_recorded(service: Service) -> None:
    """A purged contact's old link: nothing to record (their address is gone), and no error for the person."""
    before = (service.suppressions(), service.outcomes())
    answer = httpx.post(f"{service.url}/u/{_token('c-gone')}", data=ONE_CLICK, timeout=10)
    assert answer.status_code == 200
    assert (service.suppressions(), service.outcomes()) == before


def test_the_very_next_send_is_stopped_in_every_campaign(service: Service) -> None:
    """The send path's own stop rule (stops.stop_reason), read right after the POST's answer."""

    def reasons() -> list[str | None]:
        with service.warehouse.connect() as conn:
            return [stop_reason(conn, f"p-{c}", MAILBOX, datetime(2026, 12, 5, 10)) for c in CAMPAIGNS_]

    assert reasons() == [None, None]
    assert httpx.post(f"{service.url}/u/{_token('c-4')}", data=ONE_CLICK, timeout=10).status_code == 200
    stopped = reasons()
    assert None not in stopped, stopped
