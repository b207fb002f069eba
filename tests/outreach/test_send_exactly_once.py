"""Never twice: real sender processes against the local Gmail stand-in and a real warehouse file or server.

- A sender process killed with SIGKILL at each point of the send path (after its claim, after Gmail accepted the
  message but before it was recorded, after recording), then run again (here, in the test's process): the
  stand-in holds exactly one message per idempotency key, and the key that was in flight is settled (looked up,
  found or sent) by the second run.
- Two senders racing on the same steps, a child process and the test's process (DuckDB file; PostgreSQL):
  exactly one message per key, and no mailbox past its cap.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from backbeat.demo.standins.gmail_server import GmailServer
from backbeat.outreach import campaigns as setup
from backbeat.outreach.clock import utcnow
from backbeat.outreach.ids import idempotency_key, message_id
from backbeat.outreach.pacing import PacingConfig
from backbeat.outreach.sender import PassReport, SendEngine, SenderConfig
from integrations.gmail import GmailClient, GmailEndpoint
from integrations.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
ORG = "label"
A = "promo@label.example"
B = "team@label.example"
LEASE_S = 1.0

# The sender as a separate process: builds real Gmail clients from the tokens it is given, runs passes until
# nothing is due, and kills itself with SIGKILL at the `crash_at` checkpoint of its `crash_on`-th send.
CHILD = r"""
import json, os, signal, sys
from datetime import UTC, datetime, timedelta
from backbeat.outreach.pacing import PacingConfig
from backbeat.outreach.sender import SendEngine, SenderConfig
from integrations.gmail import GmailClient, GmailEndpoint
from integrations.warehouse import Warehouse

cfg = json.loads(sys.argv[1])
endpoint = GmailEndpoint(api_endpoint=cfg["api"], token_uri=cfg["token_uri"])

def client_for(mailbox):
    return GmailClient(mailbox, cfg["tokens"][mailbox], client_id=cfg["client_id"],
                       client_secret=cfg["client_secret"], endpoint=endpoint, timeout=10.0)

seen = {"n": 0}
def checkpoint(point, claim):
    if point == cfg.get("crash_at"):
        seen["n"] += 1
        if seen["n"] == cfg["crash_on"]:
            os.kill(os.getpid(), signal.SIGKILL)

engine = SendEngine(
    Warehouse(cfg["url"]), client_for, lambda contact, campaign: f"https://u.label.example/u/{contact}.{campaign}",
    config=SenderConfig(pacing=PacingConfig(spread=False), lease=timedelta(seconds=cfg["lease"])),
    checkpoint=checkpoint, run_id=cfg["run_id"],
)
if cfg.get("start_at"):
    import time
    time.sleep(max(0.0, cfg["start_at"] - time.time()))
now = datetime.now(UTC).replace(tzinfo=None)
report = engine.run(until=now + timedelta(seconds=cfg["budget"]))
print(json.dumps({"sent": report.sent, "recovered": report.recovered, "deferred": dict(report.deferred)}))
"""


@dataclass
class Rig:
    server: GmailServer
    url: str
    tokens: dict[str, dict] = field(default_factory=dict)
    prospects: list[str] = field(default_factory=list)

    def setup(self, people: int, *, steps: int = 2, mailbox_cap: int | None = None) -> None:
        wh, now = Warehouse(self.url), datetime.now(UTC).replace(tzinfo=None)
        setup.ensure_tables(wh)
        setup.add_organisation(wh, ORG, "Label", now=now)
        for m in (A, B):
            self.tokens[m] = self.server.token_for(m)
            setup.add_mailbox(wh, ORG, m, now=now, created_on=date(2020, 1, 1), daily_cap=mailbox_cap)
        setup.add_template(wh, ORG, "t1", "New single: $track", "Hi $first_name,\n$track is out.\n", now=now)
        # step 2 follows step 1 at once, so one run walks the whole sequence
        sequence = [setup.Step(0, "t1"), setup.Step(0, "t1")][:steps]
        setup.create_campaign(
            wh, ORG, "c1", name="Single", mailbox_ids=[A, B], steps=sequence, now=now, track_title="Blue Hour"
        )
        contacts = [{"email": f"dj{i}@radio{i % 3}.example", "name": f"Dj {i}", "consent": True} for i in range(people)]
        ids = setup.add_contacts(wh, ORG, contacts, provenance="import", now=now)
        self.prospects = setup.enrol(wh, "c1", ids, now=now)

    def child(self, run_id: str, **extra: object) -> subprocess.Popen:
        cfg = {
            "url": self.url,
            "api": self.server.url,
            "token_uri": self.server.token_uri,
            "client_id": self.server.client_id,
            "client_secret": self.server.client_secret,
            "tokens": self.tokens,
            "lease": LEASE_S,
            "run_id": run_id,
            "budget": 20,
            **extra,
        }
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps(cfg)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )

    def engine(self, run_id: str) -> SendEngine:
        """The same sender as the child's, in this process."""
        endpoint = GmailEndpoint(api_endpoint=self.server.url, token_uri=self.server.token_uri)

        def client_for(mailbox: str) -> GmailClient:
            return GmailClient(mailbox, self.tokens[mailbox], client_id=self.server.client_id,
                               client_secret=self.server.client_secret, endpoint=endpoint, timeout=10.0)  # fmt: skip

        return SendEngine(
            Warehouse(self.url),
            client_for,
            lambda contact, campaign: f"https://u.label.example/u/{contact}.{campaign}",
            config=SenderConfig(pacing=PacingConfig(spread=False), lease=timedelta(seconds=LEASE_S)),
            run_id=run_id,
        )

    def rerun(self, run_id: str) -> PassReport:
        return self.engine(run_id).run(until=utcnow() + timedelta(seconds=20))

    def expected_message_ids(self, steps: int) -> set[str]:
        wh = Warehouse(self.url)
        rows = wh.query("SELECT prospect_id, mailbox_id FROM outreach.prospects").iter_rows()
        return {
            f"<{message_id(idempotency_key(mb, 'c1', p, s), 'label.example')}>"
            for p, mb in rows
            for s in range(1, steps + 1)
        }

    def attempts(self) -> list[dict]:
        return (
            Warehouse(self.url)
            .query("SELECT * FROM outreach.send_attempts ORDER BY idempotency_key, attempt_no, occurred_at")
            .to_dicts()
        )


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, dict | None, str]:
    out, err = proc.communicate(timeout=timeout)
    report = json.loads(out.strip().splitlines()[-1]) if proc.returncode == 0 and out.strip() else None
    return proc.returncode, report, err


@pytest.fixture
def server() -> Iterator[GmailServer]:
    with GmailServer([A, B]) as s:
        yield s


@pytest.mark.parametrize("point", ["after_intent", "after_gmail", "after_record"])
def test_killed_at_every_point_of_the_send_path_then_rerun_sends_each_key_once(
    point: str, server: GmailServer, tmp_path: Path
) -> None:
    rig = Rig(server, f"duckdb:///{tmp_path}/w.duckdb")
    rig.setup(3)
    code, _, err = finish(rig.child("crashing", crash_at=point, crash_on=2))
    assert code == -signal.SIGKILL, err
    stored_before = sum(server.sent_count_by_message_id().values())
    assert stored_before == {"after_intent": 1, "after_gmail": 2, "after_record": 2}[point]

    report = rig.rerun("rerun")
    counts = server.sent_count_by_message_id()
    assert set(counts) == rig.expected_message_ids(2)  # every step of every prospect went out...
    assert set(counts.values()) == {1}  # ...exactly once
    attempts = rig.attempts()
    sent = Counter(a["idempotency_key"] for a in attempts if a["event"] == "sent")
    assert len(sent) == 6 and set(sent.values()) == {1}
    # the key the crash left open was settled by a second attempt that looked the Message-ID up first
    second = [a for a in attempts if a["attempt_no"] == 2]
    if point == "after_record":
        assert second == [] and report.recovered == 0
    else:
        assert [a["event"] for a in second] == ["intent", "sent"]
        assert second[1]["recovered"] is (point == "after_gmail")
        assert report.recovered == (1 if point == "after_gmail" else 0)
    assert Warehouse(rig.url).scalar("SELECT count(*) FROM outreach.prospects WHERE status = 'completed'") == 3


def _race(rig: Rig, people: int, cap: int | None) -> None:
    rig.setup(people, mailbox_cap=cap)
    start = time.time() + 3.0  # the child is past its imports: both go together
    child = rig.child("racer-child", start_at=start)
    engine = rig.engine("racer-parent")
    time.sleep(max(0.0, start - time.time()))
    mine = engine.run(until=utcnow() + timedelta(seconds=20))
    code, theirs, err = finish(child, timeout=120)
    assert code == 0, err
    print(f"race: this process sent {mine.sent}, the child {theirs['sent']} ({theirs['deferred']})")
    counts = rig.server.sent_count_by_message_id()
    assert set(counts.values()) == {1}, counts
    per_mailbox = Counter(a["mailbox_id"] for a in rig.attempts() if a["event"] == "sent")
    if cap is None:
        assert set(counts) == rig.expected_message_ids(2)
        assert mine.sent + theirs["sent"] == 2 * people
    else:
        assert per_mailbox == Counter({A: cap, B: cap})
        assert sum(len(rig.server.sent(m)) for m in (A, B)) == 2 * cap


def test_two_runs_racing_on_duckdb_send_each_key_once(server: GmailServer, tmp_path: Path) -> None:
    _race(Rig(server, f"duckdb:///{tmp_path}/w.duckdb"), 4, None)


def test_two_runs_racing_on_postgres_send_each_key_once_within_caps(server: GmailServer, postgres_server) -> None:
    _race(Rig(server, postgres_server.create_database("outreach_race")), 8, 5)
