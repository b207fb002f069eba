"""The capture service's health endpoint: `GET /health` answers each station's state as JSON.

200 when every station is running (recording audio now), 503 otherwise (queued, connecting, reconnecting
after a lost stream, restarting after a failure, refused, stopped), so a load balancer, systemd's watchdog
script or a monitoring probe can tell at a glance; the body says which station and why.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Report = Callable[[], tuple[bool, dict[str, Any]]]


class HealthServer:
    """Serves `report()` at `GET /health` on `host:port` from a daemon thread (port 0: any free port)."""

    def __init__(self, report: Report, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler(report))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="capture-health")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/health"

    def __enter__(self) -> HealthServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(report: Report) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:  # probes every few seconds would flood the log
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.split("?")[0] != "/health":
                self.send_error(404)
                return
            healthy, body = report()
            data = json.dumps(body, indent=1, sort_keys=True).encode()
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

    return Handler
