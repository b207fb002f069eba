"""`backbeat outreach ...` through the real command line (`backbeat.cli.main`; the unsubscribe server as a real
subprocess), against the local Gmail stand-in and a DuckDB warehouse: connect, create, send, sync, pause,
resume, stop, suppress, status, export and purge."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from backbeat.catalog.tables import TRACKS
from backbeat.cli import main
from backbeat.demo.standins.gmail_server import GmailServer, reply_to
from backbeat.outreach.ids import contact_id
from backbeat.outreach.mailboxes import token_name
from backbeat.outreach.tables import CONTACTS
from integrations.resilience import TokenStore
from integrations.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
ORG = "label"
PROMO, PLUG = "promo@label.example", "plug@label.example"
ISRC = "NLA1A2600001"
PEOPLE = [  # email, name, consent
    ("ann@radio-one.example", "Ann Lee", True),
    ("bob@gone.example", "Bob Stone", True),  # bounces
    ("cy@fm-two.example", "Cy Moss", False),  # no consent
    ("dee@fm-two.example", "Dee Dee", True),
    ("eve@blocked.example", "Eve Park", True),  # domain suppressed before the campaign
    ("fay@venue.example", "Fay Wu", True),
]
CAMPAIGN = f"""
campaign_id: spring
org: {ORG}
name: Spring single
track: {{isrc: {ISRC}}}
mailboxes: [{PROMO}, {PLUG}]
templates:
  - {{id: intro, version: 1, subject: "New single: $track", body: "Hi $first_name,\\nListen to $track.\\n"}}
  - {{id: nudge, version: 1, subject: "About $track", body: "Hi $first_name, did you hear it?\\n"}}
steps:
  - {{template: intro, version: 1, delay_hours: 0}}
  - {{template: nudge, version: 1, delay_hours: 0}}
"""


@dataclass
class Env:
    data_dir: Path
    warehouse: Warehouse
    gmail: GmailServer
    key: str
    runner: CliRunner

    def run(self, *args: str, ok: bool = True) -> Result:
        result = self.runner.invoke(main, ["outreach", "--data-dir", str(self.data_dir), *args])
        if ok:
            assert result.exit_code == 0, result.output + repr(result.exception)
        return result

    def sent_to(self, address: str) -> list:
        return [m for box in (PROMO, PLUG) for m in self.gmail.sent(box) if address in str(m["To"])]

    def campaign_file(self, text: str = CAMPAIGN, name: str = "campaign.yaml") -> Path:
        path = self.data_dir / name
        path.write_text(text, encoding="utf-8")
        return path


def seed(warehouse: Warehouse) -> None:
    """A catalog track and the validated contacts import, as their assets write them."""
    with warehouse.connect() as conn:
        conn.ensure(TRACKS)
        conn.ensure(CONTACTS)
        conn.insert(
            TRACKS,
            TRACKS.from_rows(
                [dict.fromkeys(TRACKS.column_names) | {"track_id": "trk1", "isrc": ISRC, "title": "Glow"}]
            ),
        )
        conn.insert(
            CONTACTS,
            CONTACTS.from_rows(
                [
                    {
                        "contact_id": contact_id(email),
                        "email": email,
                        "name": name,
                        "company": "Radio",
                        "country": "NL",
                        "consent": consent,
                        "source_file": "contacts.csv",
                        "source_row": n + 2,
                    }
                    for n, (email, name, consent) in enumerate(PEOPLE)
                ]
            ),
        )


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    warehouse = Warehouse(url)
    seed(warehouse)
    key = TokenStore.generate_key()
    with GmailServer([PROMO, PLUG]) as gmail:
        gmail.bounce_addresses.add("bob@gone.example")
        for name, value in {
            "BACKBEAT_WAREHOUSE_URL": url,
            "BACKBEAT_DATA_DIR": str(data_dir),
            "BACKBEAT_SECRET_KEY": key,
            "BACKBEAT_GMAIL_CLIENT_ID": gmail.client_id,
            "BACKBEAT_GMAIL_CLIENT_SECRET": gmail.client_secret,
            "BACKBEAT_GMAIL_API_URL": gmail.url,
            "BACKBEAT_GMAIL_TOKEN_URI": gmail.token_uri,
            "BACKBEAT_UNSUBSCRIBE_URL": "https://u.label.example",
            "BACKBEAT_UNSUBSCRIBE_KEY": "cli-test-unsubscribe-key-0123456789",
            "BACKBEAT_OUTREACH_SPREAD": "0",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("BACKBEAT_GMAIL_TOKEN_DIR", raising=False)
        yield Env(data_dir, warehouse, gmail, key, CliRunner())


def connect(env: Env, address: str) -> Result:
    variable = "TOKEN_" + address.split("@")[0].upper()
    os.environ[variable] = env.gmail.issue_refresh_token(address)
    try:
        return env.run("mailbox", "connect", address, "--org", ORG, "--refresh-token-env", variable)
    finally:
        del os.environ[variable]


def test_a_campaign_runs_from_the_command_line_and_never_mails_a_stopped_person(env: Env) -> None:
    for address in (PROMO, PLUG):
        token = env.gmail.issue_refresh_token(address)
        os.environ["TOKEN_VAR"] = token
        try:
            connected = env.run("mailbox", "connect", address, "--org", ORG, "--refresh-token-env", "TOKEN_VAR")
        finally:
            del os.environ["TOKEN_VAR"]
        assert (
            f"connected {address} for {ORG}" in connected.output
            and f"verified: Gmail answers for {address}" in connected.output
        )
        assert token not in connected.output
        stored = env.data_dir / "secrets" / "gmail" / f"{token_name(address)}.token"
        assert stored.stat().st_mode & 0o777 == 0o600 and token.encode() not in stored.read_bytes()
        assert TokenStore(stored.parent, env.key).load(token_name(address))["refresh_token"] == token

    suppressed = env.run("suppress", "@Blocked.example", "--org", ORG)
    assert "domain blocked.example suppressed for label (reason: manual)" in suppressed.output
    assert "already suppressed" in env.run("suppress", "blocked.example", "--org", ORG).output

    created = env.run("campaign", "create", str(env.campaign_file()))
    assert (
        "campaign spring created, active, promoting Glow (trk1); templates added: intro v1, nudge v1" in created.output
    )
    assert "prospects: 4 enrolled, 0 already enrolled; skipped: 1 no_consent, 1 suppressed_domain" in created.output
    again = env.run("campaign", "create", str(env.campaign_file()))
    assert "already exists" in again.output and "prospects: 0 enrolled, 4 already enrolled" in again.output

    first = env.run("send")
    assert first.output.startswith("sent 4;"), first.output
    assert {len(env.sent_to(p[0])) for p in PEOPLE if p[0] not in ("cy@fm-two.example", "eve@blocked.example")} == {1}
    assert not env.sent_to("cy@fm-two.example") and not env.sent_to("eve@blocked.example")
    assert set(env.gmail.sent_count_by_message_id().values()) == {1}

    ann = env.sent_to("ann@radio-one.example")[0]
    box = PROMO if ann in env.gmail.sent(PROMO) else PLUG
    env.gmail.deliver(box, reply_to(ann, "ann@radio-one.example", "Sounds great, send the radio edit"))
    synced = env.run("sync")
    assert "1 replied" in synced.output and "1 bounced_hard" in synced.output, synced.output

    paused = env.run("campaign", "pause", "spring")
    assert "campaign spring: active → paused" in paused.output
    assert env.run("campaign", "pause", "spring", ok=False).exit_code != 0
    assert env.run("send").output.startswith("sent 0;")
    assert "campaign spring: paused → active" in env.run("campaign", "resume", "spring").output
    env.run("campaign", "stop", "spring", "--email", "fay@venue.example")

    follow_up = env.run("send")
    assert follow_up.output.startswith("sent 1;"), follow_up.output  # only Dee: Ann replied, Bob bounced, Fay stopped
    assert [len(env.sent_to(a)) for a in ("ann@radio-one.example", "bob@gone.example", "dee@fm-two.example")] == [
        1,
        1,
        2,
    ]
    assert len(env.sent_to("fay@venue.example")) == 1
    replied = env.run("campaign", "stop", "spring", "--email", "ann@radio-one.example", ok=False)
    assert "ann@radio-one.example is already replied in campaign spring" in replied.output

    status = env.run("campaign", "status", "spring").output
    assert "campaign spring (Spring single) [label]: active, promoting Glow; 4 prospects" in status
    assert "step 1: sent 4, delivered 3; replied 1, bounced_hard 1" in status
    assert "step 2: sent 1, delivered 1" in status
    assert "sent after a stop: 0 (must be 0)" in status
    assert "stopped by reason: bounced 1, manual 1, replied 1" in status
    assert f"{PROMO} [label]: ok" in status and f"{PLUG} [label]: ok" in status

    assert "campaign spring: active → stopped" in env.run("campaign", "stop", "spring").output
    refused = env.run("campaign", "resume", "spring", ok=False)
    assert refused.exit_code != 0 and "campaign spring is stopped: it cannot become active" in refused.output
    kept = env.run("campaign", "create", str(env.campaign_file())).output  # its file may stay: not an error
    assert "already exists" in kept and "prospects: 0 enrolled, 4 already enrolled" in kept


def test_a_bad_campaign_file_is_refused_naming_file_line_and_field(env: Env) -> None:
    bad = env.campaign_file(
        f"""campaign_id: spring
org: {ORG}
track: {{isrc: not-an-isrc}}
mailboxes: [{PROMO}, nobody]
window: {{start: "18:00", end: "09:00", tz: Mars/Olympus}}
templates:
  - {{id: intro, version: 1, subject: "Hi $nickname", body: "x"}}
steps:
  - {{template: intro, version: 1, delay_hours: soon}}
colour: blue
""",
        "bad.yaml",
    )
    result = env.run("campaign", "create", str(bad), ok=False)
    assert result.exit_code == 1
    out = result.output
    assert f"{bad}:3: track.isrc: 'not-an-isrc' is not an ISRC" in out
    assert f"{bad}:4: mailboxes[2]: 'nobody' is not an email address" in out
    assert f"{bad}:5: window: start must be before end" in out
    assert f"{bad}:5: window.tz: unknown time zone 'Mars/Olympus'" in out
    assert f"{bad}:7: templates[1].subject: unknown placeholder(s) $nickname" in out
    assert f"{bad}:9: steps[1].delay_hours: must be a whole number from 0 to 8760, got 'soon'" in out
    assert f"{bad}:10: colour: unknown field" in out
    broken_json = env.campaign_file('{"campaign_id": "spring",\n "org": }', "broken.json")
    assert f"{broken_json}:2: not valid JSON" in env.run("campaign", "create", str(broken_json), ok=False).output

    # Well-formed, but the warehouse disagrees: unknown organisation, mailbox not connected, track not in the catalog.
    unknown = env.campaign_file(
        CAMPAIGN.replace(ISRC, "GBAYE0000001").replace(f"org: {ORG}", "org: other"), "unknown.yaml"
    )
    refused = env.run("campaign", "create", str(unknown), ok=False).output
    assert "org: organisation 'other' is unknown" in refused
    assert f"mailboxes[1]: {PROMO} is not connected (backbeat outreach mailbox connect {PROMO} --org other" in refused
    assert "track.isrc: no track with isrc GBAYE0000001 in the catalog" in refused
    assert not env.warehouse.query("SELECT * FROM outreach.campaigns").height

    unset = env.run("mailbox", "connect", PROMO, "--org", ORG, "--refresh-token-env", "UNSET_VARIABLE", ok=False)
    assert unset.exit_code != 0 and "$UNSET_VARIABLE is not set or empty" in unset.output
    connect(env, PROMO)
    connect(env, PLUG)
    env.run("campaign", "create", str(env.campaign_file()))
    edited = env.campaign_file(CAMPAIGN.replace("delay_hours: 0}\n", "delay_hours: 48}\n", 1), "edited.yaml")
    changed = env.run("campaign", "create", str(edited), ok=False).output
    assert "campaign spring already exists with other steps" in changed
    rewritten = env.campaign_file(
        CAMPAIGN.replace("Listen to", "Hear").replace("campaign_id: spring", "campaign_id: summer"), "v.yaml"
    )
    assert (
        "template intro version 1 already exists with another text; versions are never edited: add version 2"
        in env.run("campaign", "create", str(rewritten), ok=False).output
    )


def test_a_revoked_mailbox_is_marked_auth_required_and_only_its_sends_wait(env: Env, caplog) -> None:
    connect(env, PROMO)
    connect(env, PLUG)
    env.run("campaign", "create", str(env.campaign_file()))
    env.gmail.revoke(PROMO)
    with caplog.at_level("ERROR", logger="backbeat.outreach.alerts"):
        sent = env.run("send").output
    # Five prospects spread over the two mailboxes: PLUG's three went out, PROMO's two wait.
    assert sent.startswith("sent 3;") and "released: 1 auth_required" in sent, sent
    assert f"ALERT outreach mailbox {PROMO} needs re-authorisation (invalid_grant)" in caplog.text
    assert len(env.gmail.sent(PLUG)) == 3 and not env.gmail.sent(PROMO)
    status = env.run("mailbox", "status").output
    assert f"{PROMO} [label]: auth_required (invalid_grant), sent 0/40" in status
    assert f"{PLUG} [label]: ok" in status and "token stored" in status
    synced = env.run("sync", ok=False)
    assert synced.exit_code == 1 and f"{PROMO}: not synced: auth_required" in synced.output

    connect(env, PROMO)  # a fresh grant
    assert f"{PROMO} [label]: ok (connected)" in env.run("mailbox", "status").output
    assert env.run("send").output.startswith("sent 5;")  # PROMO's first emails and PLUG's follow-ups
    assert len(env.gmail.sent(PROMO)) == 2
    assert set(env.gmail.sent_count_by_message_id().values()) == {1}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_one_click_through_the_unsubscribe_server_stops_the_next_send(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    monkeypatch.setenv("BACKBEAT_UNSUBSCRIBE_URL", f"http://127.0.0.1:{port}")
    connect(env, PROMO)
    connect(env, PLUG)
    env.run("campaign", "create", str(env.campaign_file()))
    assert env.run("send").output.startswith("sent 5;")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("backbeat")), "outreach", "unsubscribe-server", "--port", str(port)],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()
            time.sleep(0.1)
        header = str(env.sent_to("dee@fm-two.example")[0]["List-Unsubscribe"])
        url = next(p.strip(" <>") for p in header.split(",") if p.strip(" <>").startswith("http"))
        answer = httpx.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)
        assert answer.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)

    env.run("sync")  # Bob's bounce
    assert env.run("send").output.startswith("sent 3;")  # the follow-ups: not to Dee (unsubscribed) nor Bob
    assert len(env.sent_to("dee@fm-two.example")) == 1
    assert "sent after a stop: 0" in env.run("campaign", "status").output


def test_export_then_purge_keeps_only_hashed_suppressions_and_deletes_the_tokens(env: Env) -> None:
    connect(env, PROMO)
    connect(env, PLUG)
    env.run("campaign", "create", str(env.campaign_file()))
    env.run("suppress", "dee@fm-two.example", "--org", ORG)
    assert env.run("send").output.startswith("sent 4;")
    exported = env.run("export", ORG, "--to", str(env.data_dir / "export")).output
    assert "exported label's outreach data" in exported and (env.data_dir / "export" / "manifest.json").exists()
    refused = env.run("purge", ORG, ok=False)
    assert refused.exit_code != 0 and "add --yes to confirm" in refused.output
    purged = env.run("purge", ORG, "--yes").output
    assert "purged label" in purged and "deleted 2 mailbox token(s)" in purged
    assert not list((env.data_dir / "secrets" / "gmail").glob("*.token"))
    assert env.warehouse.scalar("SELECT count(*) FROM outreach.prospects WHERE org_id = ?", [ORG]) == 0
    left = env.warehouse.query("SELECT value FROM outreach.suppressions WHERE org_id = ?", [ORG])["value"].to_list()
    assert left and all(v.startswith("sha256:") for v in left)  # Dee stays unmailable, her address is gone
