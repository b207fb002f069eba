"""The benchmark's sender process: the real send engine and inbox sync, driven by commands on stdin.

Started by `run.py` with a JSON config (warehouse URL, Gmail stand-in URL, tokens, unsubscribe service, the
simulated clock's file). Reads one JSON command per line and answers one JSON line on stdout:

- `{"op": "send", "until": ISO, "crash_at": N | null, "crash_point": P, "sent_before": M}` runs
  `SendEngine.run(until, sleep=clock.sleep)`: passes until nothing more is due before `until`, the simulated
  clock jumping to each pass's wake time. When the stand-in's send count (`sent_before` + sends of this run)
  reaches `crash_at` at checkpoint `P` (`after_intent`, `after_gmail`: Gmail accepted the message but it is not
  recorded, `after_record`), the process SIGKILLs itself; `run.py` starts a new one and repeats the command.
- `{"op": "sync"}` syncs every mailbox's inbox (`runtime.sync_one`, as the per-mailbox sensor does) at the
  simulated now, the mailboxes in parallel threads (one transaction at a time: `SerialWarehouse`).
- `{"op": "quit"}`.

Between commands the process holds no warehouse connection, so `run.py` (the one-click unsubscribe service)
can write to the DuckDB file; during a command one anchor connection keeps the database open, so the engine's
many short transactions do not reopen the file each time. With `BENCH_OUTREACH_PROFILE=FILE` the process
writes a cProfile of its commands there when it quits.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from simclock import SimClock  # noqa: E402

from backbeat.outreach.runtime import campaign_unsubscribe_url, sync_one  # noqa: E402
from backbeat.outreach.sender import Claim, SendEngine, SenderConfig  # noqa: E402
from integrations.gmail import GmailClient, GmailEndpoint  # noqa: E402
from integrations.warehouse import Warehouse, WarehouseConnection  # noqa: E402
from integrations.warehouse.urls import duckdb_path  # noqa: E402


class SerialWarehouse(Warehouse):
    """One transaction at a time in this process, as DuckDB's single writer is across processes: the
    per-mailbox syncs run in threads (a sensor per mailbox), their Gmail calls overlap, their writes do not."""

    _lock = threading.RLock()

    @contextmanager
    def connect(self) -> Iterator[WarehouseConnection]:
        with self._lock, super().connect() as conn:
            yield conn


class Worker:
    """One sender process: a Gmail client per mailbox, the engine on the simulated clock, the sync."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.clock = SimClock(cfg["clock_file"])
        self.warehouse = SerialWarehouse(cfg["warehouse"])
        endpoint = GmailEndpoint(api_endpoint=cfg["gmail_url"], token_uri=cfg["token_uri"])
        self.clients = {
            mailbox: GmailClient(
                mailbox,
                token,
                client_id=cfg["client_id"],
                client_secret=cfg["client_secret"],
                endpoint=endpoint,
                timeout=30.0,
            )
            for mailbox, token in cfg["tokens"].items()
        }
        self.crash: tuple[int, str] | None = None
        self.sent_here = 0
        self.sent_before = 0
        self.engine = SendEngine(
            self.warehouse,
            self.clients.__getitem__,
            campaign_unsubscribe_url(self.warehouse, cfg["unsubscribe_url"], cfg["unsubscribe_key"]),
            config=SenderConfig(),
            clock=self.clock.now,
            run_id=cfg["run_id"],
            checkpoint=self.checkpoint,
            actor="bench",
        )

    def checkpoint(self, point: str, claim: Claim) -> None:
        """Count sends Gmail accepted; die at the planned send and point."""
        if point == "after_gmail":
            self.sent_here += 1
        if self.crash is None:
            return
        crash_at, crash_point = self.crash
        number = self.sent_before + self.sent_here + (1 if point == "after_intent" else 0)
        if point == crash_point and number == crash_at:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def anchor(self) -> Any:
        """An open connection for the command's duration (DuckDB reuses the open database for the others)."""
        if self.warehouse.kind != "duckdb":
            return None
        import duckdb

        return duckdb.connect(str(duckdb_path(self.warehouse.url)))

    def send(self, cmd: dict[str, Any]) -> dict[str, Any]:
        until = datetime.fromisoformat(cmd["until"])
        self.sent_before = int(cmd.get("sent_before", 0))
        self.sent_here = 0
        self.crash = (int(cmd["crash_at"]), str(cmd["crash_point"])) if cmd.get("crash_at") else None
        started = time.perf_counter()
        report = self.engine.run(until, sleep=self.clock.sleep)
        self.clock.set(until)
        return {
            "sent": report.sent,
            "recovered": report.recovered,
            "unknown": report.unknown,
            "failed": report.failed,
            "passes": report.passes,
            "released": dict(report.released),
            "skipped": dict(report.skipped),
            "deferred": dict(report.deferred),
            "wall_s": time.perf_counter() - started,
        }

    def sync(self) -> dict[str, Any]:
        started = time.perf_counter()
        outcomes: dict[str, int] = {}
        errors = []
        now = self.clock.now()

        def one(mailbox: str) -> Any:
            return sync_one(
                self.warehouse, self.clients.__getitem__, mailbox, unsubscribe_key=self.cfg["unsubscribe_key"], now=now
            )

        with ThreadPoolExecutor(max_workers=min(20, len(self.clients))) as pool:
            results = list(pool.map(one, self.clients))
        for mailbox, result in zip(self.clients, results, strict=True):
            if result.error:
                errors.append(f"{mailbox}: {result.error}")
            elif result.result is not None:
                for kind, n in result.result.outcomes.items():
                    outcomes[kind] = outcomes.get(kind, 0) + n
        return {"outcomes": outcomes, "errors": errors, "wall_s": time.perf_counter() - started}


def main() -> None:
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    cfg = json.loads(Path(sys.argv[1]).read_text())
    worker = Worker(cfg)
    print(json.dumps({"ready": True}), flush=True)
    profile = None
    if os.environ.get("BENCH_OUTREACH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        anchor = worker.anchor()
        try:
            answer = worker.send(cmd) if cmd["op"] == "send" else worker.sync()
        finally:
            if anchor is not None:
                anchor.close()
        print(json.dumps(answer), flush=True)
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["BENCH_OUTREACH_PROFILE"])


if __name__ == "__main__":
    main()
