"""Benchmark outreach sending: 20 mailboxes, 10,000 prospects, a 3-step sequence, 14 simulated days, with
hard bounces, replies, unsubscribes and a sender crash every 500 sends, against the local Gmail stand-in.

What runs (details and measured figures in `bench/outreach/README.md`):

- one organisation (daily cap), mailboxes (a quarter under a year old: 40 a day, the rest 100), one campaign of
  three steps (step 2 three days after step 1, step 3 four days after step 2, window 08:00-18:00 Mon-Fri
  Europe/London), the prospects enrolled at the start; 0.5 % of the addresses and one domain suppressed by hand
  after enrolment (the stop rules must catch them);
- the Gmail stand-in with 50-150 ms per call, whose message dates follow the simulated clock; 2 % of the
  addresses bounce (the stand-in returns a DSN), 5 % reply, 1 % unsubscribe (half by the one-click POST to the
  real unsubscribe service, half by the `mailto:` email), 2 % send an out-of-office (must not stop anything),
  each on the simulated day after the step they answer;
- the real send engine and inbox sync in a sender process (`worker.py`) on a simulated clock: each slice of
  `--sync-minutes` it sends until the slice's end, then the bench delivers the inbound mail that arrived in the
  slice, posts the one-click unsubscribes, and the sender syncs every inbox; every `--crash-every` sends the
  sender SIGKILLs itself (rotating: after its claim, after Gmail accepted the message but before it is
  recorded, after recording) and the bench starts a new one that repeats the slice.

Then it checks, from what the stand-in stored (the outside world's view), not from the engine's own records:
duplicate sends per Message-ID, sends to suppressed or stopped people after the stop was known, rolling-24 h
cap violations per mailbox and organisation, sends outside the window; and prints sends per second, reply to
stop times, quota units per send, wall time and peak memory.

    .venv/bin/python bench/outreach/run.py --quick      # 2 mailboxes, 500 prospects, 3 days (< 1 min)
    .venv/bin/python bench/outreach/run.py              # the issue's size
"""

from __future__ import annotations

import argparse
import email.message
import email.utils
import heapq
import json
import random
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from simclock import SimClock  # noqa: E402

from backbeat.demo.standins.gmail_server import (  # noqa: E402
    UNITS,
    GmailServer,
    auto_reply_to,
    reply_to,
    unsubscribe_email_to,
)
from backbeat.outreach import campaigns as setup  # noqa: E402
from backbeat.outreach.pacing import SendWindow  # noqa: E402
from backbeat.outreach.suppression import suppress  # noqa: E402
from backbeat.outreach.unsubscribe_app import create_app  # noqa: E402
from integrations.warehouse import Warehouse  # noqa: E402

ORG = "bench-label"
CAMPAIGN = "bench-single"
START = datetime(2026, 12, 7)  # a Monday, 00:00 UTC
WINDOW = SendWindow(start_minute=8 * 60, end_minute=18 * 60, days="12345", tz="Europe/London")
CHECKPOINTS = ("after_gmail", "after_intent", "after_record")
TEMPLATES = {
    "t1": ("$track: new single for $company", "Hi $first_name,\n\n$track is out today. A listen?\n\n$sender_name\n"),
    "t2": ("$track", "Hi $first_name,\n\nJust checking you got $track.\n\n$sender_name\n"),
    "t3": ("$track", "Hi $first_name,\n\nLast note about $track from me.\n\n$sender_name\n"),
}


@dataclass
class Persona:
    """What one address does: bounce, reply / unsubscribe / auto-reply to step `step`, or nothing."""

    kind: str  # plain, bounce, reply, unsub_click, unsub_mail, auto, suppressed
    step: int = 1


@dataclass
class Stop:
    """When the bench knows the engine must have learnt that an address is off limits."""

    reason: str
    event_at: datetime  # simulated time it happened (reply received, DSN, click)
    known_at: datetime  # simulated time the engine's records had it (sync or POST done)
    watermark: int  # the mailbox's history id then: a later send from it came after the stop was known
    wall_s: float = 0.0  # wall seconds from the bench delivering it to the stop being recorded


@dataclass
class Figures:
    send_wall: float = 0.0
    sync_wall: list[float] = field(default_factory=list)
    sync_calls: int = 0
    reports: Counter[str] = field(default_factory=Counter)
    deferred: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    restarts_wall: float = 0.0
    delivered: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    sync_errors: list[str] = field(default_factory=list)
    child_rss_kib: int = 0


QUICK = {
    "mailboxes": 2,
    "prospects": 40,
    "days": 3,
    "delays": [24, 24],
    "crash_every": 40,
    "sync_minutes": 120,
    "bounce": 0.05,  # higher shares, so that 40 people still show every kind
    "reply": 0.1,
    "unsubscribe": 0.1,
    "auto_reply": 0.05,
    "suppressed": 0.05,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help=f"a smoke run (< 1 min): {QUICK}")
    p.add_argument("--mailboxes", type=int, default=20)
    p.add_argument("--prospects", type=int, default=10_000)
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--delays", type=int, nargs=2, default=[72, 96], metavar=("STEP2", "STEP3"), help="hours")
    p.add_argument("--crash-every", type=int, default=500, help="sends between injected crashes (0: none)")
    p.add_argument("--sync-minutes", type=int, default=60, help="simulated minutes between inbox syncs")
    p.add_argument("--latency", type=float, nargs=2, default=(0.05, 0.15), metavar=("LOW", "HIGH"))
    p.add_argument("--org-cap", type=int, default=None, help="organisation daily cap (default: 85 %% of the sum)")
    p.add_argument("--bounce", type=float, default=0.02)
    p.add_argument("--reply", type=float, default=0.05)
    p.add_argument("--unsubscribe", type=float, default=0.01)
    p.add_argument("--auto-reply", type=float, default=0.02)
    p.add_argument("--suppressed", type=float, default=0.005, help="share suppressed by hand after enrolment")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--workdir", type=Path, default=None, help="keep the warehouse here (default: a temp dir)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    p.add_argument(
        "--plant",
        action="store_true",
        help="after the run, send a duplicate, a message to a suppressed and to a stopped person and a mailbox's "
        "cap + 1 messages straight through Gmail, to show the checks catch them",
    )
    args = p.parse_args(argv)
    if args.quick:  # the quick sizes, unless given explicitly
        p.set_defaults(**QUICK)
        args = p.parse_args(argv)
    return args


def mailbox_address(n: int) -> str:
    return f"promo{n:02d}@label.example"


def mailbox_cap(n: int) -> int:
    return 40 if n % 4 == 3 else 100  # every fourth mailbox is under a year old


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- setup ------------------------------------------------------------------------------------------------


def build_world(args: argparse.Namespace, url: str, rng: random.Random) -> tuple[dict[str, Persona], list[str], int]:
    """Organisation, mailboxes, templates, campaign, contacts, enrolment, manual suppressions."""
    wh = Warehouse(url)
    now = START
    mailboxes = [mailbox_address(n) for n in range(args.mailboxes)]
    caps = sum(mailbox_cap(n) for n in range(args.mailboxes))
    org_cap = args.org_cap if args.org_cap is not None else int(caps * 0.85)
    setup.ensure_tables(wh)
    setup.add_organisation(wh, ORG, "Bench Label", now=now, daily_cap=org_cap)
    for n, m in enumerate(mailboxes):
        created = date(2026, 9, 1) if mailbox_cap(n) == 40 else date(2023, 1, 1)
        setup.add_mailbox(wh, ORG, m, now=now, display_name=f"Promo {n}", created_on=created)
    for tid, (subject, body) in TEMPLATES.items():
        setup.add_template(wh, ORG, tid, subject, body, now=now)
    steps = [
        setup.Step(0, "t1", window=WINDOW),
        setup.Step(args.delays[0], "t2", window=WINDOW),
        setup.Step(args.delays[1], "t3", window=WINDOW),
    ]
    setup.create_campaign(
        wh, ORG, CAMPAIGN, name="Bench single", mailbox_ids=mailboxes, steps=steps, now=now, track_title="Blue Hour"
    )
    domains = [f"radio{k:03d}.example" for k in range(max(10, args.prospects // 25))]
    contacts = [
        {
            "email": f"dj{i:05d}@{domains[i % len(domains)]}",
            "name": f"Dj{i} Presenter",
            "company": f"Radio {i % len(domains)}",
            "consent": True,
        }
        for i in range(args.prospects)
    ]
    ids = setup.add_contacts(wh, ORG, contacts, provenance="import", now=now)
    setup.enrol(wh, CAMPAIGN, ids, now=now)

    personas: dict[str, Persona] = {}
    shares = [
        ("bounce", args.bounce),
        ("reply", args.reply),
        ("unsub_click", args.unsubscribe / 2),
        ("unsub_mail", args.unsubscribe / 2),
        ("auto", args.auto_reply),
        ("suppressed", args.suppressed),
    ]
    suppressed_domain = domains[-1]
    for c in contacts:
        address = str(c["email"])
        if address.endswith("@" + suppressed_domain):
            personas[address] = Persona("suppressed_domain")
            continue
        draw, kind = rng.random(), "plain"
        for name, share in shares:
            if draw < share:
                kind = name
                break
            draw -= share
        step = rng.choices((1, 2, 3), weights=(6, 3, 1))[0] if kind in ("reply", "unsub_click", "unsub_mail") else 1
        personas[address] = Persona(kind, step)
    for address, persona in personas.items():
        if persona.kind == "suppressed":
            suppress(wh, ORG, address, "manual", source="bench", actor="bench", at=now)
    suppress(wh, ORG, suppressed_domain, "manual", source="bench", actor="bench", at=now)
    return personas, mailboxes, org_cap


# -- the sender process -----------------------------------------------------------------------------------


class Sender:
    """The worker process: commands in, JSON answers out; a SIGKILL shows as EOF."""

    def __init__(self, config_file: Path, log: Path) -> None:
        self.config_file = config_file
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.peak_kib = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), str(self.config_file)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("a"),
            text=True,
        )
        if self._read() is None:
            raise RuntimeError(f"the sender did not start: see {self.log}")

    def _read(self) -> dict[str, Any] | None:
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def call(self, cmd: dict[str, Any]) -> dict[str, Any] | None:
        """The answer, or None when the process died (its exit code is then in `returncode`)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if answer is None:
            self.proc.wait()
        return answer

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc else None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        self.peak_kib = max(self.peak_kib, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


# -- the unsubscribe service ------------------------------------------------------------------------------


class UnsubscribeService:
    """The real Starlette app on uvicorn, in a thread of the bench."""

    def __init__(self, url: str, key: str) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(Warehouse(url), key), host="127.0.0.1", port=self.port, log_level="error", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> UnsubscribeService:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the unsubscribe service did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# -- the simulation ---------------------------------------------------------------------------------------


@dataclass(order=True)
class Inbound:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    mailbox: str = field(compare=False)
    recipient: str = field(compare=False)
    message: Any = field(compare=False)


def next_day_time(sent_at: datetime, rng: random.Random) -> datetime:
    """A time on the simulated day after `sent_at`, between 07:00 and 22:00 UTC."""
    day = datetime(sent_at.year, sent_at.month, sent_at.day) + timedelta(days=1)
    return day + timedelta(minutes=rng.randrange(7 * 60, 22 * 60))


def recipient_of(message: Any) -> str:
    return email.utils.parseaddr(str(message["To"]))[1].lower()


def one_click_url(message: Any) -> str:
    header = str(message.get("List-Unsubscribe", ""))
    return next(u for u in re.findall(r"<([^>]+)>", header) if u.startswith("http"))


def simulate(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    url = f"duckdb:///{workdir}/warehouse.duckdb"
    started = time.perf_counter()
    personas, mailboxes, org_cap = build_world(args, url, rng)
    setup_s = time.perf_counter() - started
    clock = SimClock(workdir / "clock", START)
    key = secrets.token_urlsafe(32)
    figures = Figures()
    stops: dict[str, Stop] = {}  # recipient -> the first stop the engine knew of
    pending: list[tuple[str, str, Stop]] = []  # (recipient, mailbox, stop) waiting for the next sync
    inbound: list[Inbound] = []
    seen_sends: dict[str, int] = defaultdict(int)
    step_of: dict[str, int] = {}  # Message-ID -> step number (by order of sends to the recipient)
    sends_to: Counter[str] = Counter()
    seq = 0

    server = GmailServer(mailboxes, latency=tuple(args.latency), now=clock.epoch, seed=args.seed)
    server.bounce_addresses.update(a for a, p in personas.items() if p.kind == "bounce")
    with server, UnsubscribeService(url, key) as unsubscribe:
        cfg = {
            "warehouse": url,
            "gmail_url": server.url,
            "token_uri": server.token_uri,
            "client_id": server.client_id,
            "client_secret": server.client_secret,
            "tokens": {m: server.token_for(m) for m in mailboxes},
            "unsubscribe_url": unsubscribe.url,
            "unsubscribe_key": key,
            "clock_file": str(workdir / "clock"),
            "run_id": "bench",
        }
        (workdir / "worker.json").write_text(json.dumps(cfg))
        sender = Sender(workdir / "worker.json", workdir / "worker.log")
        t0 = time.perf_counter()
        sender.start()
        figures.restarts_wall += time.perf_counter() - t0
        crash_at = args.crash_every or None
        http = httpx.Client(timeout=30)
        end = START + timedelta(days=args.days)
        t = START
        sim_started = time.perf_counter()
        while t < end:
            t_next = min(t + timedelta(minutes=args.sync_minutes), end)
            # 1. send until the slice's end, surviving the injected crashes
            while True:
                sent_before = sum(server.sent_count_by_message_id().values())
                while crash_at is not None and crash_at <= sent_before:
                    crash_at += args.crash_every
                point = CHECKPOINTS[sum(figures.crashes.values()) % len(CHECKPOINTS)]
                cmd = {"op": "send", "until": t_next.isoformat(), "crash_at": crash_at, "crash_point": point}
                t0 = time.perf_counter()
                answer = sender.call({**cmd, "sent_before": sent_before})
                figures.send_wall += time.perf_counter() - t0
                if answer is not None:
                    break
                if sender.returncode != -9:
                    raise RuntimeError(f"the sender died with {sender.returncode}: see {workdir / 'worker.log'}")
                figures.crashes[point] += 1
                if crash_at is not None:
                    crash_at += args.crash_every
                t0 = time.perf_counter()
                sender.start()
                figures.restarts_wall += time.perf_counter() - t0
            for k in ("sent", "recovered", "unknown", "failed", "passes"):
                figures.reports[k] += answer[k]
            figures.deferred.update(answer["deferred"])
            figures.skipped.update(answer["skipped"])

            # 2. what went out in the slice: bounces become known at the next sync; schedule the answers
            for mailbox in mailboxes:
                sent = server.sent(mailbox)
                for message in sent[seen_sends[mailbox] :]:
                    to = recipient_of(message)
                    sends_to[to] += 1
                    step = sends_to[to]
                    step_of[str(message["Message-ID"])] = step
                    persona = personas.get(to, Persona("plain"))
                    sent_at = email.utils.parsedate_to_datetime(str(message["Date"])).replace(tzinfo=None)
                    if persona.kind == "bounce" and to not in stops:
                        pending.append((to, mailbox, Stop("bounce", sent_at, sent_at, 0)))
                    elif persona.kind in ("reply", "unsub_click", "unsub_mail", "auto") and step == persona.step:
                        seq += 1
                        at = next_day_time(sent_at, rng)
                        heapq.heappush(inbound, Inbound(at, seq, persona.kind, mailbox, to, message))
                seen_sends[mailbox] = len(sent)

            # 3. deliver what arrived in the slice; one-click POSTs are recorded at once
            delivered_wall = time.perf_counter()
            while inbound and inbound[0].at <= t_next:
                item = heapq.heappop(inbound)
                figures.delivered[item.kind] += 1
                if item.kind == "unsub_click":
                    clicked = time.perf_counter()
                    response = http.post(one_click_url(item.message), data={"List-Unsubscribe": "One-Click"})
                    response.raise_for_status()
                    if item.recipient not in stops:
                        stops[item.recipient] = Stop(
                            "unsubscribe (one-click)",
                            t_next,
                            t_next,
                            int(server.history_id(item.mailbox)),
                            time.perf_counter() - clicked,
                        )
                    continue
                if item.kind == "reply":
                    raw = reply_to(item.message, item.recipient, "Thanks, playing it Friday.")
                elif item.kind == "auto":
                    raw = auto_reply_to(item.message, item.recipient)
                else:
                    raw = unsubscribe_email_to(item.message, item.recipient)
                server.deliver(item.mailbox, raw, received=item.at.replace(tzinfo=UTC))
                if item.kind != "auto":
                    reason = "reply" if item.kind == "reply" else "unsubscribe (email)"
                    pending.append((item.recipient, item.mailbox, Stop(reason, item.at, item.at, 0)))

            # 4. the inbox sync at the slice's end (the sensor's tick)
            answer = sender.call({"op": "sync"})
            if answer is None:
                raise RuntimeError(f"the sender died during a sync: see {workdir / 'worker.log'}")
            figures.sync_wall.append(answer["wall_s"])
            figures.sync_calls += 1
            figures.outcomes.update(answer["outcomes"])
            figures.sync_errors.extend(answer["errors"])
            synced_wall = time.perf_counter()
            for recipient, mailbox, stop in pending:
                if recipient in stops:
                    continue
                stop.known_at = t_next
                stop.watermark = int(server.history_id(mailbox))
                stop.wall_s = synced_wall - delivered_wall if stop.reason != "bounce" else answer["wall_s"]
                stops[recipient] = stop
            pending.clear()
            if t_next.hour == 0 and t_next.minute == 0 or t_next == end:
                print(
                    f"day {(t_next - START).days:>2}: {sum(seen_sends.values()):>6} sends, "
                    f"{sum(figures.crashes.values())} crashes, {time.perf_counter() - sim_started:7.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
            t = t_next
        sim_wall = time.perf_counter() - sim_started
        sender.stop()
        http.close()
        if args.plant:
            plant(server, cfg, mailboxes, personas, stops)
        result = check(args, server, mailboxes, personas, stops, org_cap, url, figures)
        result.update(
            setup_s=round(setup_s, 1),
            simulation_wall_s=round(sim_wall, 1),
            send_wall_s=round(figures.send_wall, 1),
            sender_restarts_wall_s=round(figures.restarts_wall, 1),
            sync_wall_s=round(sum(figures.sync_wall), 1),
            peak_rss_mib_bench=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            peak_rss_mib_sender=round(sender.peak_kib / 1024),
        )
    clock.close()
    return result


def plant(
    server: GmailServer, cfg: dict[str, Any], mailboxes: list[str], personas: dict[str, Persona], stops: dict[str, Stop]
) -> None:
    """Break every promise once behind the engine's back (the real client, straight to the stand-in)."""
    from integrations.gmail import GmailClient, GmailEndpoint

    endpoint = GmailEndpoint(api_endpoint=server.url, token_uri=server.token_uri)
    box = mailboxes[0]
    client = GmailClient(
        box, server.token_for(box), client_id=server.client_id, client_secret=server.client_secret, endpoint=endpoint
    )
    first = server.sent(box)[0]
    client.send(first.as_bytes())  # the same Message-ID again
    suppressed = next(a for a, p in personas.items() if p.kind in ("suppressed", "suppressed_domain"))
    stopped = next(r for r, stop in stops.items() if stop.reason == "reply")
    for n, to in enumerate([suppressed, stopped] + [f"extra{k}@planted.example" for k in range(mailbox_cap(0) + 1)]):
        message = email.message.EmailMessage()
        message["From"], message["To"], message["Subject"] = box, to, "planted"
        message["Message-ID"] = f"<planted-{n}@label.example>"
        message.set_content("planted\n")
        client.send(message.as_bytes())


# -- the checks -------------------------------------------------------------------------------------------


def max_in_rolling_day(times: list[datetime]) -> int:
    """The most events in any 24 h window (a send at t counts against (t - 24 h, t])."""
    times = sorted(times)
    best = lo = 0
    for hi, t in enumerate(times):
        while times[lo] <= t - timedelta(hours=24):
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def check(
    args: argparse.Namespace,
    server: GmailServer,
    mailboxes: list[str],
    personas: dict[str, Persona],
    stops: dict[str, Stop],
    org_cap: int,
    url: str,
    figures: Figures,
) -> dict[str, Any]:
    counts = server.sent_count_by_message_id()
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    sends: list[tuple[str, str, datetime, int]] = []  # mailbox, recipient, simulated time, history id
    for mailbox in mailboxes:
        for stored in server.messages(mailbox):
            if "SENT" in stored.label_ids:
                when = datetime.fromtimestamp(stored.internal_ms / 1000, UTC).replace(tzinfo=None)
                sends.append((mailbox, recipient_of(stored.message), when, stored.history_id))
    total = len(sends)

    # never to the wrong person
    to_suppressed = sum(
        1 for _, r, _, _ in sends if personas.get(r, Persona("plain")).kind in ("suppressed", "suppressed_domain")
    )
    after_stop = Counter()
    in_gap = 0  # sent after the reply / bounce happened but before the engine could know (before the sync)
    for _, recipient, when, history in sends:
        stop = stops.get(recipient)
        if stop is None:
            continue
        if history > stop.watermark:
            after_stop[stop.reason] += 1
        elif when > stop.event_at:
            in_gap += 1

    # never past a limit (simulated time)
    caps = {mailbox_address(n): mailbox_cap(n) for n in range(args.mailboxes)}
    per_mailbox: dict[str, list[datetime]] = defaultdict(list)
    for mailbox, _, when, _ in sends:
        per_mailbox[mailbox].append(when)
    mailbox_peaks = {m: max_in_rolling_day(ts) for m, ts in per_mailbox.items()}
    cap_violations = sum(1 for m, peak in mailbox_peaks.items() if peak > caps[m])
    org_peak = max_in_rolling_day([when for _, _, when, _ in sends])
    zone = ZoneInfo(WINDOW.tz)
    outside_window = 0
    for _, _, when, _ in sends:
        local = when.replace(tzinfo=UTC).astimezone(zone)
        minute = local.hour * 60 + local.minute
        if str(local.isoweekday()) not in WINDOW.days or not WINDOW.start_minute <= minute < WINDOW.end_minute:
            outside_window += 1

    # the engine's records against the stand-in's
    wh = Warehouse(url)
    db_sent = wh.scalar("SELECT count(*) FROM outreach.send_attempts WHERE event = 'sent'")
    db_keys_twice = wh.scalar(
        "SELECT count(*) FROM (SELECT idempotency_key FROM outreach.send_attempts WHERE event = 'sent' "
        "GROUP BY idempotency_key HAVING count(*) > 1)"
    )
    unsettled = wh.scalar(  # keys whose last claim has no result and that were never sent
        "SELECT count(*) FROM (SELECT idempotency_key, max(attempt_no) AS n, "
        "max(CASE WHEN event IN ('sent', 'failed') THEN 1 ELSE 0 END) AS done FROM outreach.send_attempts "
        "GROUP BY idempotency_key) k WHERE k.done = 0 AND NOT EXISTS (SELECT 1 FROM outreach.send_attempts r "
        "WHERE r.idempotency_key = k.idempotency_key AND r.attempt_no = k.n AND r.event = 'released')"
    )
    by_step = dict(
        wh.query(
            "SELECT step_no, count(*) AS n FROM outreach.send_attempts WHERE event = 'sent' GROUP BY step_no ORDER BY 1"
        ).iter_rows()
    )
    statuses = dict(wh.query("SELECT status, count(*) FROM outreach.prospects GROUP BY status ORDER BY 1").iter_rows())
    sends_to = Counter(recipient for _, recipient, _, _ in sends)
    auto_continued = sum(1 for r, p in personas.items() if p.kind == "auto" and sends_to[r] > 1)

    units = sum(server.units_spent(m) for m in mailboxes)
    by_endpoint = Counter()
    for record in server.records:
        if record.endpoint in UNITS:
            by_endpoint[record.endpoint] += UNITS[record.endpoint]
    reply_sim = [(s.known_at - s.event_at).total_seconds() / 60 for s in stops.values() if s.reason == "reply"]
    reply_wall = [s.wall_s for s in stops.values() if s.reason == "reply"]
    click_wall = [s.wall_s for s in stops.values() if s.reason.startswith("unsubscribe (one")]
    return {
        "mailboxes": args.mailboxes,
        "prospects": args.prospects,
        "days": args.days,
        "sends": total,
        "sends_by_step": by_step,
        "sends_per_second_sending": round(total / figures.send_wall, 2) if figures.send_wall else None,
        "duplicate_sends": duplicates,
        "keys_sent_twice_in_records": db_keys_twice,
        "stand_in_sends_vs_recorded": f"{total} vs {db_sent}",
        "claims_unsettled_at_end": unsettled,
        "crashes": dict(figures.crashes),
        "recovered_by_lookup": figures.reports["recovered"],
        "sends_to_suppressed": to_suppressed,
        "sends_after_stop_known": dict(after_stop) or 0,
        "sends_after_event_before_sync": in_gap,
        "stops_known": dict(Counter(s.reason for s in stops.values())),
        "inbound_delivered": dict(figures.delivered),
        "outcomes_recorded": dict(figures.outcomes),
        "auto_repliers_who_got_a_follow_up": auto_continued,
        "prospect_status": statuses,
        "mailbox_cap_violations": cap_violations,
        "mailbox_peak_24h_vs_cap": dict(
            Counter(f"{mailbox_peaks.get(m, 0)}/{caps[m]}" for m in sorted(caps)).most_common()
        ),
        "org_peak_24h_vs_cap": f"{org_peak}/{org_cap}",
        "org_cap_violations": int(org_peak > org_cap),
        "sends_outside_window": outside_window,
        "reply_to_stop_sim_minutes": {
            "median": round(statistics.median(reply_sim), 1) if reply_sim else None,
            "p95": round(percentile(reply_sim, 0.95), 1),
            "max": round(max(reply_sim), 1) if reply_sim else None,
        },
        "reply_to_stop_wall_s": {
            "median": round(statistics.median(reply_wall), 2) if reply_wall else None,
            "p95": round(percentile(reply_wall, 0.95), 2),
            "max": round(max(reply_wall), 2) if reply_wall else None,
        },
        "one_click_to_stop_wall_s_median": round(statistics.median(click_wall), 3) if click_wall else None,
        "sync_wall_s_median": round(statistics.median(figures.sync_wall), 2) if figures.sync_wall else None,
        "syncs": figures.sync_calls,
        "sync_errors": len(figures.sync_errors),
        "quota_units": units,
        "quota_units_per_send": round(units / total, 1) if total else None,
        "quota_units_by_endpoint": dict(by_endpoint),
        "engine_passes": figures.reports["passes"],
        # from the sender processes that answered (a killed one's report is lost): claims tried per send
        "claim_transactions_per_send": round(
            (
                sum(figures.reports[k] for k in ("sent", "recovered", "unknown", "failed"))
                + sum(n for reason, n in figures.deferred.items() if reason not in ("blocked", "pass_limit"))
                + sum(figures.skipped.values())
            )
            / (figures.reports["sent"] + figures.reports["recovered"]),
            2,
        )
        if figures.reports["sent"] + figures.reports["recovered"]
        else None,
        "deferred": dict(figures.deferred.most_common(8)),
        "skipped": dict(figures.skipped),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-outreach-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        result = simulate(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    for k, v in result.items():
        print(f"{k:36} {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
