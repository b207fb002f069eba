"""The plumbing both fake servers share: a ThreadingHTTPServer on 127.0.0.1, request records, latency, faults."""

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DROP = object()  # `FaultPlan.corrupt(..., value=DROP)` removes the field


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it: arrival time (by the server's clock), method, path, endpoint, status."""

    at: float
    method: str
    path: str
    endpoint: str
    status: int


@dataclass
class Burst:
    """The next `remaining` requests to `endpoint` answer `status` (with Retry-After, or a raw body)."""

    endpoint: str
    remaining: int
    status: int
    retry_after: float | None = None
    body: str | None = None


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status,
        json.dumps(payload).encode("utf-8"),
        {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


class FaultPlan:
    """Faults the servers consult on every request; thread-safe, changeable while the server runs.

    - `fail_next(endpoint, count, status, retry_after=None, body=None)`: a burst of errors (or a raw,
      malformed 200 body) on one endpoint;
    - `error_rate` / `error_status`: a random share of API requests fail (the bench's "some 5xx");
    - `corrupt(entity_id, "field.path", value=DROP)`: that entity's JSON loses (or gets a wrong) field;
    - `token_uses`: each access token works for that many API requests, then answers 401 "expired";
    - `refuse_tokens`: every API request answers 401, however fresh the token.
    """

    def __init__(
        self,
        *,
        error_rate: float = 0.0,
        error_status: int = 503,
        token_uses: int | None = None,
        refuse_tokens: bool = False,
        seed: int = 0,
    ) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._bursts: list[Burst] = []
        self._corrupt: dict[str, list[tuple[str, Any]]] = {}
        self.error_rate = error_rate
        self.error_status = error_status
        self.token_uses = token_uses
        self.refuse_tokens = refuse_tokens

    def fail_next(
        self,
        endpoint: str,
        count: int = 1,
        status: int = 503,
        *,
        retry_after: float | None = None,
        body: str | None = None,
    ) -> None:
        with self._lock:
            self._bursts.append(Burst(endpoint, count, status, retry_after, body))

    def clear(self) -> None:
        with self._lock:
            self._bursts.clear()
            self.error_rate = 0.0

    def corrupt(self, entity_id: str, field_path: str, value: Any = DROP) -> None:
        with self._lock:
            self._corrupt.setdefault(entity_id, []).append((field_path, value))

    def take_failure(self, endpoint: str) -> Burst | None:
        """The failure this request should get, if any (consumes one unit of a burst)."""
        with self._lock:
            for burst in self._bursts:
                if burst.endpoint == endpoint and burst.remaining > 0:
                    burst.remaining -= 1
                    return burst
            if self.error_rate and self._rng.random() < self.error_rate:
                return Burst(endpoint, 1, self.error_status)
        return None

    def apply(self, entity_id: str, obj: dict[str, Any]) -> dict[str, Any]:
        """`obj` with this entity's corruptions applied (a deep enough copy; the catalog is never touched)."""
        with self._lock:
            edits = list(self._corrupt.get(entity_id, ()))
        if not edits:
            return obj
        obj = json.loads(json.dumps(obj))
        for path, value in edits:
            *parents, leaf = path.split(".")
            target = obj
            for part in parents:
                target = target.setdefault(part, {})
            if value is DROP:
                target.pop(leaf, None)
            else:
                target[leaf] = value
        return obj


class FakeServer:
    """Base: subclasses implement `route(method, path, query, headers, body) -> (endpoint, Response)`.

    `latency=(low, high)` seconds are slept before every answer; `records` keeps every request, timed by
    `clock` (`time.monotonic`; a test can pass a `ManualClock`'s `now` to time requests without waiting).
    """

    def __init__(
        self, *, latency: tuple[float, float] = (0.0, 0.0), seed: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.latency = latency
        self.clock = clock
        self._latency_rng = random.Random(seed)
        self._records: list[RequestRecord] = []
        self._records_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    # HTTP methods served besides GET and POST (the Spotify playlist endpoints need PUT).
    extra_methods: tuple[str, ...] = ()

    def start(self) -> "FakeServer":
        handler = type("Handler", (_Handler,), {"server_fake": self})
        for method in self.extra_methods:
            setattr(handler, f"do_{method}", _Handler._serve)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash)."""
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- records -----------------------------------------------------------------------------------------

    def record(self, method: str, path: str, endpoint: str, status: int, at: float) -> None:
        with self._records_lock:
            self._records.append(RequestRecord(at, method, path, endpoint, status))

    @property
    def records(self) -> list[RequestRecord]:
        with self._records_lock:
            return list(self._records)

    def count(self, endpoint: str | None = None, status: int | None = None) -> int:
        return sum(
            1
            for r in self.records
            if (endpoint is None or r.endpoint == endpoint) and (status is None or r.status == status)
        )

    def counts(self) -> Counter[str]:
        """Requests per endpoint."""
        return Counter(r.endpoint for r in self.records)

    def statuses(self) -> Counter[int]:
        return Counter(r.status for r in self.records)

    def sleep_latency(self) -> None:
        low, high = self.latency
        if high > 0:
            with self._records_lock:
                delay = self._latency_rng.uniform(low, high)
            time.sleep(delay)

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[str, Response]:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections as they would in production
    # Headers and body go out as separate writes; with Nagle's algorithm on, a keep-alive client's delayed ACK
    # holds the body back ~40 ms per request. Real APIs answer in one segment.
    disable_nagle_algorithm = True
    server_fake: FakeServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence the default stderr log
        pass

    def _serve(self) -> None:
        arrived = self.server_fake.clock()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake = self.server_fake
        try:
            endpoint, response = fake.route(self.command, parts.path, parse_qs(parts.query), headers, body)
        except Exception as exc:  # a bug in the fake must show as a 500, not a hung client
            endpoint, response = "error", json_response(500, {"error": f"fake server bug: {exc!r}"})
        fake.record(self.command, parts.path, endpoint, response.status, arrived)
        fake.sleep_latency()
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = _serve
    do_POST = _serve
