"""The demo's outreach: prospecting (discovery, enrichment, hygiene, scoring) and a campaign for a demo track to
twelve of the demo contacts and the station programmers a person approved, from two mailboxes on the local
Gmail stand-in, through the same Dagster jobs and sensors as production.

    with outreach_services(data_dir, warehouse_url) as services:   # Gmail stand-in + unsubscribe server, env set
        defs = build_definitions(...)                    # the `outreach` resource reads that env
        run_everything(..., outreach=outreach_step(services))

`outreach_services` starts the Gmail stand-in (`backbeat/demo/standins/gmail_server.py`, which the tests use
too) serving the two demo mailboxes, and the one-click unsubscribe service (`unsubscribe_app`, uvicorn in a
thread on 127.0.0.1), connects both mailboxes as `backbeat outreach mailbox connect` does (refresh tokens
encrypted with the demo's fixed key) and writes the campaign file `inbox/outreach/campaigns/demo-single.yaml`
(the first demo track with an ISRC; two steps, the follow-up due at once so the demo shows it in seconds).

`outreach_services` also starts the SERP (DataForSEO-style) and email-finder (Hunter-style) stand-ins and writes
the discovery file `inbox/outreach/discovery/demo-radio.yaml` (one paid search and the monitored stations).
The promoted track is one Radio North plays on the demo's airplay day; the outreach clock is set back
(`BACKBEAT_OUTREACH_CLOCK_OFFSET_DAYS`) so the campaign goes out on `CAMPAIGN_SENT_ON`, days before that airplay
day, and the airplay-conversion mart can show the contacted station playing the track afterwards.

`outreach_step` then runs, as the daemon would: the campaign-files sensor (contacts → campaign and prospects),
the prospecting job (candidates from the search and the stations, addresses found and verified under the
credit budget, hygiene, the campaign's ranking), what a person decides on that ranking (consent for the
station programmers found, recorded with who and why; the campaign file then names them), a send pass
(first emails; one address bounces at the stand-in, which answers with a DSN), then what people do: one
person replies, one unsubscribes with the RFC 8058 one-click POST to the running service; the inbox
sensor syncs each mailbox (replies and bounces become outcomes and suppressions), and a second send pass sends
the follow-ups to everyone else — nobody who replied, bounced or unsubscribed gets one. A re-run of the demo
finds everything sent and sends nothing (exactly once), and the people's actions are not repeated.
"""

from __future__ import annotations

import csv
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import httpx

from assets.outreach.prospecting_resources import (
    EMAILFINDER_KEY_ENV,
    EMAILFINDER_URL_ENV,
    SERP_LOGIN_ENV,
    SERP_PASSWORD_ENV,
    SERP_URL_ENV,
)
from backbeat.demo.services import DEMO_SECRET_KEY, _environ
from backbeat.demo.standins._http import FaultPlan
from backbeat.demo.standins.emailfinder_server import FakeEmailFinder
from backbeat.demo.standins.gmail_server import GmailServer, reply_to
from backbeat.demo.standins.serp_server import FakeSerp
from backbeat.outreach.clock import CLOCK_OFFSET_ENV, utcnow
from backbeat.outreach.enrichment import grant_vendor_consent
from backbeat.outreach.ids import contact_id, prospect_id
from backbeat.outreach.mailboxes import (
    API_URL_ENV,
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    TOKEN_DIR_ENV,
    TOKEN_URI_ENV,
    GmailSettings,
    connect_mailbox,
    default_token_dir,
)
from backbeat.outreach.runtime import POLL_SECONDS_ENV, SPREAD_ENV, UNSUBSCRIBE_KEY_ENV, UNSUBSCRIBE_URL_ENV
from backbeat.outreach.unsubscribe_app import create_app
from integrations.resilience.secrets import SECRET_KEY_ENV
from integrations.warehouse import Warehouse

DEMO_ORG = "backbeat-demo"
DEMO_MAILBOXES = ("promo@backbeat-records.example", "radio@backbeat-records.example")
CAMPAIGN_ID = "demo-single-radio"
CAMPAIGN_FILE = Path("inbox") / "outreach" / "campaigns" / "demo-single.yaml"
DEMO_UNSUBSCRIBE_KEY = "backbeat-demo-unsubscribe-key-not-a-secret"
REPLY_TEXT = "Thanks! We will play it on Friday's show."
DISCOVERY_FILE = Path("inbox") / "outreach" / "discovery" / "demo-radio.yaml"
DEMO_SERP_LOGIN, DEMO_SERP_PASSWORD = "demo-login", "demo-password-not-a-secret"
DEMO_EMAILFINDER_KEY = "demo-emailfinder-key-not-a-secret"
PROMOTED_STATION = "radio-north"
CAMPAIGN_SENT_ON = datetime(2026, 10, 30, 9, 0)
"""When the demo's campaign goes out (on the outreach clock): before the demo's airplay day, 2026-11-02."""
CONSENT_BY = "demo promo manager"
CONSENT_BASIS = "legitimate interest: programmer of a station we monitor, business address"
DEMO_PROSPECTS = 12
"""The campaign goes to the first twelve consenting demo contacts: enough for a funnel, few enough that the
demo's outreach stays within about 20 seconds (each send is a few committed warehouse transactions)."""


def _played_at(data_dir: Path, station_id: str) -> set[str]:
    """Track ids the generated radio of `station_id` plays (`demo/ground_truth_plays.csv`; none without it)."""
    path = Path(data_dir) / "demo" / "ground_truth_plays.csv"
    if not path.exists():
        return set()
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["track_id"] for row in csv.DictReader(handle) if row["station_id"] == station_id}


def demo_track(data_dir: Path) -> tuple[str, str]:
    """(ISRC, title) of the demo track the campaign promotes (`inbox/catalog/tracks.csv`): the first with an ISRC
    that Radio North plays on the airplay day, else the first with an ISRC."""
    played = _played_at(data_dir, PROMOTED_STATION)
    with (Path(data_dir) / "inbox" / "catalog" / "tracks.csv").open(newline="", encoding="utf-8") as handle:
        with_isrc = [row for row in csv.DictReader(handle) if row.get("isrc")]
    if not with_isrc:
        raise ValueError(f"no demo track with an ISRC in {data_dir}/inbox/catalog/tracks.csv")
    row = next((r for r in with_isrc if r["track_id"] in played), with_isrc[0])
    return row["isrc"], row["title"]


def discovery_yaml() -> str:
    """The demo's discovery file: one paid search and Backbeat's monitored stations, with a credit budget."""
    return f"""# The demo's discovery (written by backbeat.demo.outreach): who should hear the single?
org: {DEMO_ORG}
keywords: [community radio presenter indie pop]
location: United Kingdom
language: en
depth: 10
stations: true
budget: 60
moods: [indie, pop, radio]
"""


def approved_station_programmers(warehouse: Warehouse) -> list[str]:
    """Vendor contacts of the demo organisation a person gave consent to (they join the campaign's list)."""
    try:
        rows = warehouse.query(
            "SELECT email FROM outreach.org_contacts WHERE org_id = ? AND provenance = 'vendor' AND consent "
            "ORDER BY email",
            [DEMO_ORG],
        )
    except Exception:  # noqa: BLE001 - no prospecting tables yet: nobody approved
        return []
    return [str(e) for e in rows["email"]]


def consenting_contacts(data_dir: Path) -> list[str]:
    """The demo contacts that said yes, lower-cased, in file order."""
    path = Path(data_dir) / "inbox" / "outreach" / "contacts.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    emails = [r["email"].strip().lower() for r in rows if r.get("consent", "").strip().lower() == "yes" and r["name"]]
    return [e for e in dict.fromkeys(emails) if "@" in e]


def campaign_contacts(data_dir: Path) -> list[str]:
    """The demo contacts the campaign emails (`DEMO_PROSPECTS` consenting contacts); the planted people come from
    them. Station programmers found by prospecting join them once a person approves them."""
    return consenting_contacts(data_dir)[:DEMO_PROSPECTS]


def campaign_yaml(isrc: str, contacts: list[str]) -> str:
    """The demo campaign file: two steps from the two demo mailboxes, every day, all day (UTC), to `contacts`."""
    mailboxes = ", ".join(DEMO_MAILBOXES)
    people = "".join(f"\n  - {email}" for email in contacts)
    return f"""# The demo's campaign (written by backbeat.demo.outreach). Real follow-ups wait days; this one is due at
# once so the demo shows it. Create your own with `backbeat outreach campaign create FILE`.
campaign_id: {CAMPAIGN_ID}
org: {DEMO_ORG}
name: Demo single to radio and venues
track: {{isrc: {isrc}}}
mailboxes: [{mailboxes}]
window: {{start: "00:00", end: "24:00", days: "1234567", tz: UTC}}
templates:
  - id: demo-intro
    version: 1
    subject: "New single for $company: $track"
    body: |
      Hi $first_name,

      Our new single "$track" is out today. We think it fits $company. Listen and tell us what you think?

      Best,
      $sender_name
  - id: demo-follow-up
    version: 1
    subject: "Did you get a chance to hear $track?"
    body: |
      Hi $first_name,

      Just checking you got "$track". Happy to send a radio edit.

      $sender_name
steps:
  - {{template: demo-intro, version: 1, delay_hours: 0}}
  - {{template: demo-follow-up, version: 1, delay_hours: 0}}
contacts:{people}
"""


def _write_if_changed(path: Path, text: str) -> Path:
    """Write `text` atomically, only when different (so the sensor watching the file stays quiet)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.part")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    return path


def write_campaign_file(data_dir: Path, approved: Sequence[str] = ()) -> Path:
    """Write the campaign file: the demo contacts, then the `approved` station programmers."""
    contacts = list(dict.fromkeys([*campaign_contacts(data_dir), *approved]))
    return _write_if_changed(Path(data_dir) / CAMPAIGN_FILE, campaign_yaml(demo_track(data_dir)[0], contacts))


def write_discovery_file(data_dir: Path) -> Path:
    """Write the demo's discovery file (`discovery_yaml`)."""
    return _write_if_changed(Path(data_dir) / DISCOVERY_FILE, discovery_yaml())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def unsubscribe_service(warehouse_url: str, key: str) -> Iterator[str]:
    """The one-click unsubscribe app (uvicorn) in a thread on a free 127.0.0.1 port; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        create_app(Warehouse(warehouse_url), key), host="127.0.0.1", port=port, access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="unsubscribe-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the unsubscribe service did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class OutreachServices:
    """The running stand-ins, the environment pointing Backbeat at them, and the demo's planted people."""

    gmail: GmailServer
    serp: FakeSerp
    emailfinder: FakeEmailFinder
    unsubscribe_url: str
    env: dict[str, str]
    data_dir: Path
    warehouse_url: str
    bounces: str  # an address the stand-in bounces (hard, 5.1.1)
    replies: str  # a person who replies to the first email
    unsubscribes: str  # a person who clicks one-click unsubscribe


def clock_offset_days(now: datetime | None = None) -> float:
    """Days to set the outreach clock back so that now, on it, is `CAMPAIGN_SENT_ON`."""
    real = now or datetime.now(UTC).replace(tzinfo=None)
    return (CAMPAIGN_SENT_ON - real).total_seconds() / 86_400


@contextmanager
def outreach_services(data_dir: Path, warehouse_url: str) -> Iterator[OutreachServices]:
    """Start the Gmail, SERP and email-finder stand-ins and the unsubscribe service, connect the demo mailboxes,
    write the discovery and campaign files; the `.env` variables are set in `os.environ` while open (build the
    Dagster definitions inside)."""
    data_dir = Path(data_dir)
    people = campaign_contacts(data_dir)
    if len(people) < 3:
        raise ValueError(f"the demo needs at least three consenting contacts, found {len(people)}")
    warehouse = Warehouse(warehouse_url)
    write_discovery_file(data_dir)
    write_campaign_file(data_dir, approved_station_programmers(warehouse))
    offset = {CLOCK_OFFSET_ENV: f"{clock_offset_days():.6f}"}
    with _environ(offset):  # the stand-in dates its messages on the same clock as the engine
        shifted = utcnow().replace(tzinfo=UTC).timestamp() - time.time()
    with (
        GmailServer(DEMO_MAILBOXES, now=lambda: time.time() + shifted) as gmail,
        FakeSerp(DEMO_SERP_LOGIN, DEMO_SERP_PASSWORD, FaultPlan()) as serp,
        FakeEmailFinder(api_keys=(DEMO_EMAILFINDER_KEY,), credits=None) as emailfinder,
        unsubscribe_service(warehouse_url, DEMO_UNSUBSCRIBE_KEY) as unsubscribe_url,
    ):
        gmail.bounce_addresses.add(people[-1])
        token_dir = default_token_dir(data_dir)
        env = {
            CLIENT_ID_ENV: gmail.client_id,
            CLIENT_SECRET_ENV: gmail.client_secret,
            API_URL_ENV: gmail.url,
            TOKEN_URI_ENV: gmail.token_uri,
            TOKEN_DIR_ENV: str(token_dir),
            SECRET_KEY_ENV: DEMO_SECRET_KEY,
            UNSUBSCRIBE_URL_ENV: unsubscribe_url,
            UNSUBSCRIBE_KEY_ENV: DEMO_UNSUBSCRIBE_KEY,
            SPREAD_ENV: "0",  # the demo sends its window's steps at once instead of spacing them over the day
            POLL_SECONDS_ENV: "0",
            SERP_LOGIN_ENV: DEMO_SERP_LOGIN,
            SERP_PASSWORD_ENV: DEMO_SERP_PASSWORD,
            SERP_URL_ENV: serp.url,
            EMAILFINDER_KEY_ENV: DEMO_EMAILFINDER_KEY,
            EMAILFINDER_URL_ENV: emailfinder.api_url,
            **offset,
        }
        store = GmailSettings(token_dir=str(token_dir), secret_key=DEMO_SECRET_KEY).token_store()
        for address in DEMO_MAILBOXES:  # the stand-in is new each run: a fresh grant, as a reconnect would be
            connect_mailbox(
                warehouse,
                store,
                address,
                DEMO_ORG,
                gmail.issue_refresh_token(address),
                display_name="Backbeat Demo Records",
                actor="demo",
            )
        services = OutreachServices(
            gmail, serp, emailfinder, unsubscribe_url, env, data_dir, warehouse_url, people[-1], people[0], people[1]
        )
        with _environ(env):
            yield services


def _sent_to(gmail: GmailServer, address: str, step_subject_prefix: str = "New single") -> tuple[str, Message] | None:
    for mailbox in DEMO_MAILBOXES:
        for message in gmail.sent(mailbox):
            if address in str(message["To"]).lower() and str(message["Subject"]).startswith(step_subject_prefix):
                return mailbox, message
    return None


def _one_click_url(message: Message) -> str:
    header = str(message["List-Unsubscribe"])
    return next(part.strip(" <>") for part in header.split(",") if part.strip(" <>").startswith("http"))


def people_act(services: OutreachServices) -> list[str]:
    """One person replies to the first email, one clicks one-click unsubscribe; the bounce happened at the
    stand-in already. Only what this run's stand-in sent can be answered: on a re-run nothing was sent (the
    first run did it), so nobody acts again."""
    done = []
    warehouse = Warehouse(services.warehouse_url)
    bounced = _sent_to(services.gmail, services.bounces)
    if bounced is not None:
        done.append(f"{services.bounces} bounced (the stand-in answered with a 5.1.1 delivery status notification)")
    replied = _sent_to(services.gmail, services.replies)
    if replied is not None:
        mailbox, message = replied
        services.gmail.deliver(mailbox, reply_to(message, services.replies, REPLY_TEXT))
        done.append(f"{services.replies} replied to {mailbox}")
    clicked = _sent_to(services.gmail, services.unsubscribes)
    if clicked is not None:
        _, message = clicked
        answer = httpx.post(_one_click_url(message), data={"List-Unsubscribe": "One-Click"}, timeout=10)
        answer.raise_for_status()
        pid = prospect_id(CAMPAIGN_ID, contact_id(services.unsubscribes))
        recorded = warehouse.scalar(
            "SELECT count(*) FROM outreach.outcomes WHERE prospect_id = ? AND kind = 'unsubscribed'", [pid]
        )
        done.append(
            f"{services.unsubscribes} unsubscribed with the one-click POST (HTTP {answer.status_code}, "
            f"recorded: {bool(recorded)})"
        )
    return done


Execute = Callable[..., None]
SensorRuns = Callable[[str], list[str]]


def approve_station_programmers(services: OutreachServices) -> list[str]:
    """What a person does with the campaign's ranking: give consent (recorded with who and why) to the station
    programmers prospecting found and verified, the best ranked first. Returns the addresses approved now."""
    warehouse = Warehouse(services.warehouse_url)
    try:
        ranked = warehouse.query(
            "SELECT s.email FROM outreach.prospect_scores s "
            "JOIN outreach.candidates c ON c.candidate_id = s.candidate_id "
            "JOIN outreach.org_contacts o ON o.org_id = s.org_id AND o.email = s.email "
            "WHERE s.campaign_id = ? AND c.station_id IS NOT NULL AND o.provenance = 'vendor' AND NOT o.consent "
            "ORDER BY s.rank",
            [CAMPAIGN_ID],
        )
    except Exception:  # noqa: BLE001 - prospecting found nothing to rank yet
        return []
    emails = list(dict.fromkeys(str(e) for e in ranked["email"]))
    if emails:
        grant_vendor_consent(warehouse, DEMO_ORG, emails, actor=CONSENT_BY, basis=CONSENT_BASIS, now=utcnow())
    return emails


def outreach_step(services: OutreachServices) -> Callable[[Execute, SensorRuns], list[str]]:
    """What `backbeat.pipeline.run_everything` calls (with its `execute(job)` and `sensor_runs(sensor)`): the
    campaign, prospecting, a person's approvals, the first send pass, the people, the inbox syncs and the
    follow-up pass (see the module)."""

    def step(execute: Execute, sensor_runs: SensorRuns) -> list[str]:
        lines = []
        sensor_runs("outreach_campaign_files_sensor")
        sensor_runs("outreach_discovery_files_sensor")  # the discovery file is new: one prospecting run
        approved = approve_station_programmers(services)
        if approved:
            lines.append(
                f"outreach: {CONSENT_BY} approved {len(approved)} station programmer(s) found by prospecting: "
                + ", ".join(approved)
            )
            write_campaign_file(services.data_dir, approved_station_programmers(Warehouse(services.warehouse_url)))
            sensor_runs("outreach_campaign_files_sensor")
        execute("outreach_send_job")
        first = sum(len(services.gmail.sent(m)) for m in DEMO_MAILBOXES)
        if first:
            lines.append(
                f"outreach: {first} first emails sent from {len(DEMO_MAILBOXES)} mailboxes on the Gmail stand-in "
                f"(outreach clock set back to {CAMPAIGN_SENT_ON:%Y-%m-%d}, before the airplay day)"
            )
        else:
            lines.append("outreach: nothing to send: every step of the demo campaign was sent by an earlier run")
        lines += [f"outreach: {line}" for line in people_act(services)]
        synced = sensor_runs("outreach_inbox_sensor")
        execute("outreach_send_job")
        follow_ups = sum(len(services.gmail.sent(m)) for m in DEMO_MAILBOXES) - first
        lines.append(f"outreach: {len(synced)} inbox syncs, then {follow_ups} follow-ups sent")
        return lines

    return step
