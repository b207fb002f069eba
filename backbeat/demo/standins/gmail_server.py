"""A local server speaking the Gmail REST API (v1) and Google's OAuth token endpoint, for the methods outreach
calls, with Google's JSON shapes and error format. Thread-safe: tests hit it from threads and subprocesses.

- `POST /token` — `grant_type=refresh_token` with `client_id`, `client_secret`: `{access_token, expires_in,
  scope, token_type}`; an unknown or revoked refresh token answers 400 `{"error": "invalid_grant",
  "error_description": "Token has been expired or revoked."}`, a wrong client 401 `invalid_client`;
- `POST /gmail/v1/users/{userId}/messages/send` — body `{"raw": base64url, "threadId"?}`: `{id, threadId,
  labelIds}`; stored with label SENT (a Message-ID is added when missing, as Gmail does);
- `GET /gmail/v1/users/{userId}/messages?q=&maxResults=&pageToken=&includeSpamTrash=` — newest first:
  `{messages: [{id, threadId}], nextPageToken?, resultSizeEstimate}`; `q` understands `rfc822msgid:`,
  `after:`/`before:` (epoch seconds or YYYY/MM/DD), `from:`, `to:`, `in:`/`label:`, and bare words;
- `GET /gmail/v1/users/{userId}/messages/{id}?format=minimal|metadata|full|raw&metadataHeaders=` — `{id,
  threadId, labelIds, snippet, sizeEstimate, historyId, internalDate (ms string), payload | raw}`;
- `GET /gmail/v1/users/{userId}/history?startHistoryId=&historyTypes=&maxResults=&pageToken=` — `{history:
  [{id, messages, messagesAdded: [{message: {id, threadId, labelIds}}]}], nextPageToken?, historyId}`; a start
  id older than `expire_history` allowed answers 404;
- `GET /gmail/v1/users/{userId}/profile` — `{emailAddress, messagesTotal, threadsTotal, historyId}`.

`userId` is `me` or the token's own address (another address answers 403). Pages hold `maxResults` (default
100, at most 500), further capped by `max_page` so tests exercise paging with few messages. Errors are Google's
`{"error": {"code", "message", "errors": [{"reason", "domain", "message"}], "status"}}` on every path.

Faults (`FaultPlan`, endpoints `token`, `send`, `send_after_store`, `list`, `get`, `history`, `profile`):
`fail_next(endpoint, n, status, retry_after=...)` answers with Google's error for that status (429
rateLimitExceeded, 403 dailyLimitExceeded, 5xx backendError, ...); `send_after_store` answers its error AFTER
the message was stored (the SendOutcomeUnknown case). `GmailServer.fail_next(..., reason=...)` picks the reason.
`token_uses` / `refuse_tokens` of the plan make access tokens expire or be refused; `expire_access_tokens` and
`revoke` do the same on demand. `quota_per_minute` answers 429 past that many units per user per minute, and
`daily_send_limit` 403 dailyLimitExceeded past that many sends per mailbox.

Mail flow: a sent message reaches any served mailbox among its recipients (INBOX); a recipient in
`bounce_addresses` (or `soft_bounce_addresses`) makes the server put a delivery status notification
(multipart/report, message/delivery-status, Status 5.1.1 or 4.2.2, X-Failed-Recipients) from
mailer-daemon@googlemail.com in the sender's mailbox, in the sent message's thread. `deliver` adds inbound mail
(threaded by In-Reply-To/References like Gmail); `reply_to`, `auto_reply_to`, `unsubscribe_email_to` and
`delivery_status_notification` build it.

Inspection: `sent(mailbox)` (parsed messages sent through the API), `sent_count_by_message_id()` (stored sends per
Message-ID header, all mailboxes: the exactly-once check), `messages(mailbox)` / `message(mailbox, id)`
(`StoredMessage`s), `history_id(mailbox)`, `units_spent(mailbox)` (quota units charged), `refreshes` (token
grants per mailbox), plus the base class's request `records`, `count(endpoint, status)` and `counts()`.
"""

import base64
import binascii
import bisect
import email
import email.policy
import email.utils
import html
import json
import math
import re
import secrets
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from backbeat.demo.standins._http import FakeServer, FaultPlan, Response, json_response

SCOPE = "https://www.googleapis.com/auth/gmail.modify"
MAILER_DAEMON = "mailer-daemon@googlemail.com"
DEFAULT_PAGE = 100
MAX_PAGE = 500
ACCESS_TOKEN_SECONDS = 3599
UNITS = {"send": 100, "list": 5, "get": 5, "history": 2, "profile": 1}
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_DEFAULT_REASONS = {
    400: ("invalidArgument", "Invalid argument"),
    401: ("authError", "Invalid Credentials"),
    403: ("dailyLimitExceeded", "Daily Limit Exceeded"),
    404: ("notFound", "Requested entity was not found."),
    429: ("rateLimitExceeded", "User-rate limit exceeded"),
    500: ("backendError", "Backend Error"),
    502: ("backendError", "Bad Gateway"),
    503: ("backendError", "The service is currently unavailable."),
    504: ("backendError", "Deadline exceeded"),
}


def google_error(status: int, reason: str | None = None, message: str | None = None, **headers: str) -> Response:
    """Google's error JSON for `status` (with its default reason and message unless given)."""
    default_reason, default_message = _DEFAULT_REASONS.get(status, ("badRequest", "Bad Request"))
    reason, message = reason or default_reason, message or default_message
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [
                {"message": message, "domain": "usageLimits" if status in (403, 429) else "global", "reason": reason}
            ],
            "status": _STATUS_NAMES.get(status, "FAILED_PRECONDITION"),
        }
    }
    return json_response(status, body, {k.replace("_", "-"): v for k, v in headers.items()})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _bare_id(value: str | None) -> str:
    return (value or "").strip().removeprefix("<").removesuffix(">").strip()


def _text_of(message: Message) -> str:
    """The first text/plain part (decoded), for snippets and bare-word search."""
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""


@dataclass
class StoredMessage:
    """One message in one mailbox."""

    id: str
    thread_id: str
    label_ids: list[str]
    raw: bytes
    internal_ms: int
    history_id: int
    seq: int
    message: EmailMessage = field(repr=False)

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", "")).strip()

    def snippet(self) -> str:
        return html.escape(" ".join(_text_of(self.message).split())[:200], quote=True)


@dataclass
class _Mailbox:
    address: str
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    history: list[tuple[int, StoredMessage]] = field(default_factory=list)  # (history id, message added)
    history_id: int = 100_000  # Gmail's ids are large numbers, per mailbox
    history_floor: int = 0  # start ids below this answer 404
    threads: set[str] = field(default_factory=set)
    by_message_id: dict[str, list[StoredMessage]] = field(default_factory=dict)  # bare Message-ID -> messages
    units: deque[tuple[float, int]] = field(default_factory=deque)
    units_in_window: int = 0
    units_total: int = 0
    sends: deque[float] = field(default_factory=deque)  # monotonic times of stored sends


def _query_terms(query: str) -> list[tuple[str, str]]:
    terms = []
    for token in re.findall(r'(?:[^\s"]+:"[^"]*"|[^\s"]+:\S+|"[^"]*"|\S+)', query):
        key, sep, value = token.partition(":")
        if sep and key.lower() in {"rfc822msgid", "after", "before", "from", "to", "in", "label", "subject"}:
            terms.append((key.lower(), value.strip('"')))
        else:
            terms.append(("text", token.strip('"')))
    return terms


def _epoch(value: str) -> float:
    if value.isdigit():
        return float(value)
    return datetime.strptime(value.replace("-", "/"), "%Y/%m/%d").replace(tzinfo=UTC).timestamp()


def _matches(stored: StoredMessage, terms: list[tuple[str, str]]) -> bool:
    msg = stored.message
    for key, value in terms:
        value_l = value.lower()
        if key == "rfc822msgid":
            if _bare_id(stored.message_id) != _bare_id(value):
                return False
        elif key == "after":
            if stored.internal_ms / 1000 < _epoch(value):
                return False
        elif key == "before":
            if stored.internal_ms / 1000 >= _epoch(value):
                return False
        elif key in ("from", "to"):
            if value_l not in str(msg.get(key, "")).lower():
                return False
        elif key == "subject":
            if value_l not in str(msg.get("Subject", "")).lower():
                return False
        elif key in ("in", "label"):
            if value.upper() not in stored.label_ids:
                return False
        elif value_l not in (str(msg.get("Subject", "")) + " " + _text_of(msg)).lower():
            return False
    return True


class GmailServer(FakeServer):
    """The Gmail stand-in for `mailboxes`. Use as a context manager; point a `GmailEndpoint(api_endpoint=
    server.url, token_uri=server.token_uri)` at it and give the client `issue_refresh_token(mailbox)`."""

    def __init__(
        self,
        mailboxes: Iterable[str],
        *,
        latency: float | tuple[float, float] = 0.0,
        faults: FaultPlan | None = None,
        max_page: int = MAX_PAGE,
        client_id: str = "backbeat-outreach.apps.googleusercontent.com",
        client_secret: str = "GOCSPX-test-secret",
        quota_per_minute: int | None = None,
        daily_send_limit: int | None = None,
        now: Callable[[], float] = time.time,
        seed: int = 0,
    ) -> None:
        low_high = latency if isinstance(latency, tuple) else (latency, latency)
        super().__init__(latency=low_high, seed=seed)
        self.faults = faults or FaultPlan()
        self.max_page = max_page
        self.client_id = client_id
        self.client_secret = client_secret
        self.quota_per_minute = quota_per_minute
        self.daily_send_limit = daily_send_limit
        self.now = now  # wall clock for internalDate (a bench can pass simulated time)
        self.bounce_addresses: set[str] = set()
        self.soft_bounce_addresses: set[str] = set()
        self._lock = threading.RLock()
        self._mailboxes = {m.lower(): _Mailbox(m.lower()) for m in mailboxes}
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> mailbox
        self._access_tokens: dict[str, tuple[str, float, int]] = {}  # token -> (mailbox, expires at, uses)
        self._seq = 0
        self._next_id = 0x18C0_0000_0000_0000 + seed * 0x1000_0000
        self._sent_ids: list[tuple[str, str]] = []  # (mailbox, message id) per stored send, in order
        self.refreshes: Counter[str] = Counter()

    def start(self) -> "GmailServer":
        super().start()
        httpd = self._httpd
        assert httpd is not None
        default = httpd.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            # a client that gave up waiting (timeout tests) is expected, not a server bug
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                default(request, client_address)

        httpd.handle_error = handle_error  # type: ignore[method-assign]
        return self

    def __enter__(self) -> "GmailServer":
        return self.start()

    # -- addresses ---------------------------------------------------------------------------------------

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    @property
    def mailboxes(self) -> list[str]:
        return list(self._mailboxes)

    def add_mailbox(self, address: str) -> None:
        with self._lock:
            self._mailboxes.setdefault(address.lower(), _Mailbox(address.lower()))

    # -- OAuth -------------------------------------------------------------------------------------------

    def issue_refresh_token(self, mailbox: str) -> str:
        """A refresh token for `mailbox`, as the consent flow would hand out."""
        with self._lock:
            self._box(mailbox)
            token = "1//0g" + secrets.token_urlsafe(40)
            self._refresh_tokens[token] = mailbox.lower()
            return token

    def token_for(self, mailbox: str) -> dict[str, Any]:
        """A token mapping for `GmailClient` (`{"refresh_token", "access_token": None, "expiry": None}`)."""
        return {"refresh_token": self.issue_refresh_token(mailbox), "access_token": None, "expiry": None}

    def revoke(self, mailbox: str) -> None:
        """The user revoked access: refresh tokens answer invalid_grant, access tokens 401."""
        with self._lock:
            box = mailbox.lower()
            self._refresh_tokens = {t: m for t, m in self._refresh_tokens.items() if m != box}
            self._access_tokens = {t: v for t, v in self._access_tokens.items() if v[0] != box}

    def expire_access_tokens(self, mailbox: str | None = None) -> None:
        """Every access token (of `mailbox`, or all) now answers 401."""
        with self._lock:
            self._access_tokens = {
                t: v for t, v in self._access_tokens.items() if mailbox is not None and v[0] != mailbox.lower()
            }

    @property
    def issued_access_tokens(self) -> list[str]:
        with self._lock:
            return list(self._access_tokens)

    # -- inspection --------------------------------------------------------------------------------------

    def sent(self, mailbox: str) -> list[EmailMessage]:
        """The messages `mailbox` sent through the API, in order."""
        with self._lock:
            box = self._box(mailbox)
            return [box.messages[mid].message for owner, mid in self._sent_ids if owner == box.address]

    def sent_count_by_message_id(self) -> Counter[str]:
        """How many messages.send calls stored each Message-ID (all mailboxes): the exactly-once check."""
        with self._lock:
            return Counter(self._mailboxes[owner].messages[mid].message_id for owner, mid in self._sent_ids)

    def messages(self, mailbox: str) -> list[StoredMessage]:
        """Every message in the mailbox, oldest first."""
        with self._lock:
            return sorted(self._box(mailbox).messages.values(), key=lambda m: m.seq)

    def message(self, mailbox: str, message_id: str) -> StoredMessage:
        with self._lock:
            return self._box(mailbox).messages[message_id]

    def history_id(self, mailbox: str) -> str:
        with self._lock:
            return str(self._box(mailbox).history_id)

    def units_spent(self, mailbox: str) -> int:
        """Quota units the server charged `mailbox` (successful or not, as Google charges)."""
        with self._lock:
            return self._box(mailbox).units_total

    def expire_history(self, mailbox: str) -> None:
        """History before now is gone: `history.list` from an older start id answers 404."""
        with self._lock:
            box = self._box(mailbox)
            box.history_floor = box.history_id

    # -- faults ------------------------------------------------------------------------------------------

    def fail_next(
        self,
        endpoint: str,
        count: int = 1,
        status: int = 503,
        *,
        reason: str | None = None,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """The next `count` requests to `endpoint` answer Google's error `status`/`reason`."""
        default_reason, default_message = _DEFAULT_REASONS.get(status, ("badRequest", "Bad Request"))
        body = google_error(status, reason or default_reason, message or default_message).body.decode()
        self.faults.fail_next(endpoint, count, status, retry_after=retry_after, body=body)

    # -- inbound mail ------------------------------------------------------------------------------------

    def deliver(
        self,
        mailbox: str,
        raw: bytes,
        thread_id: str | None = None,
        label_ids: Iterable[str] = ("INBOX",),
        *,
        received: datetime | None = None,
    ) -> str:
        """Put an inbound message in `mailbox` (threaded by In-Reply-To/References unless `thread_id`); its id."""
        with self._lock:
            box = self._box(mailbox)
            if thread_id is None:
                thread_id = self._thread_of_references(box, _parse(raw))
            at_ms = int(
                (received.replace(tzinfo=received.tzinfo or UTC).timestamp() if received else self.now()) * 1000
            )
            return self._store(box, raw, thread_id, list(label_ids), at_ms).id

    # -- routing -----------------------------------------------------------------------------------------

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[str, Response]:
        if path.rstrip("/") == "/token":
            return "token", self._token(method, body)
        parts = path.strip("/").split("/")
        if len(parts) < 5 or parts[:3] != ["gmail", "v1", "users"]:
            return "unknown", google_error(404, "notFound", "Not Found")
        user, rest = unquote(parts[3]), parts[4:]
        endpoint, allowed = {
            ("profile",): ("profile", "GET"),
            ("messages", "send"): ("send", "POST"),
            ("messages",): ("list", "GET"),
            ("history",): ("history", "GET"),
        }.get(tuple(rest), ("get", "GET") if len(rest) == 2 and rest[0] == "messages" else ("unknown", ""))
        if endpoint == "unknown":
            return endpoint, google_error(404, "notFound", "Not Found")
        if method != allowed:
            return endpoint, google_error(405, "httpMethodNotAllowed", f"Method {method} not allowed")
        mailbox, refused = self._authorise(headers.get("authorization", ""), user)
        if refused is not None:
            return endpoint, refused
        assert mailbox is not None
        limited = self._charge(mailbox, endpoint)
        if limited is not None:
            return endpoint, limited
        burst = self.faults.take_failure(endpoint)
        if burst is not None:
            return endpoint, self._burst_response(burst.status, burst.retry_after, burst.body)
        if endpoint == "send":
            return endpoint, self._send(mailbox, body)
        if endpoint == "list":
            return endpoint, self._list(mailbox, query)
        if endpoint == "get":
            return endpoint, self._get(mailbox, rest[1], query)
        if endpoint == "history":
            return endpoint, self._history(mailbox, query)
        return endpoint, self._profile(mailbox)

    @staticmethod
    def _burst_response(status: int, retry_after: float | None, body: str | None) -> Response:
        extra = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        if body is not None:
            return Response(status, body.encode(), {"Content-Type": "application/json; charset=UTF-8", **extra})
        response = google_error(status)
        response.headers.update(extra)
        return response

    def _token(self, method: str, body: bytes) -> Response:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", errors="replace")).items()}
        if method != "POST" or form.get("grant_type") != "refresh_token":
            return json_response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Invalid grant_type: " + form.get("grant_type", ""),
                },
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return json_response(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        burst = self.faults.take_failure("token")
        if burst is not None:
            return json_response(burst.status, {"error": "internal_failure", "error_description": "Backend Error"})
        with self._lock:
            mailbox = self._refresh_tokens.get(form.get("refresh_token", ""))
            if mailbox is None:
                return json_response(
                    400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                )
            token = "ya29.a0" + secrets.token_urlsafe(48)
            self._access_tokens[token] = (mailbox, time.monotonic() + ACCESS_TOKEN_SECONDS, 0)
            self.refreshes[mailbox] += 1
        return json_response(
            200, {"access_token": token, "expires_in": ACCESS_TOKEN_SECONDS, "scope": SCOPE, "token_type": "Bearer"}
        )

    def _authorise(self, authorization: str, user: str) -> tuple[str | None, Response | None]:
        token = authorization.removeprefix("Bearer ").strip()
        with self._lock:
            entry = self._access_tokens.get(token)
            if entry is not None:
                mailbox, expires, uses = entry
                self._access_tokens[token] = (mailbox, expires, uses + 1)
        plan = self.faults
        if (
            entry is None
            or time.monotonic() >= entry[1]
            or plan.refuse_tokens
            or (plan.token_uses is not None and entry[2] + 1 > plan.token_uses)
        ):
            message = (
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                "other valid authentication credential."
            )
            response = google_error(
                401, "authError", message, WWW_Authenticate='Bearer realm="https://accounts.google.com/"'
            )
            return None, response
        mailbox = entry[0]
        if user != "me" and user.lower() != mailbox:
            return None, google_error(403, "forbidden", f"Delegation denied for {mailbox}")
        return mailbox, None

    def _charge(self, mailbox: str, endpoint: str) -> Response | None:
        """Count the call's quota units; past `quota_per_minute` (or `daily_send_limit`) answer Google's limit."""
        units = UNITS[endpoint]
        now = time.monotonic()
        with self._lock:
            box = self._box(mailbox)
            box.units_total += units
            while box.units and box.units[0][0] <= now - 60:
                box.units_in_window -= box.units.popleft()[1]
            used = box.units_in_window
            box.units.append((now, units))
            box.units_in_window += units
            if self.quota_per_minute is not None and used + units > self.quota_per_minute:
                wait = max(1, math.ceil(box.units[0][0] + 60 - now))
                return google_error(
                    429,
                    "rateLimitExceeded",
                    "Quota exceeded for quota metric 'Queries' per user per minute",
                    Retry_After=str(wait),
                )
            if endpoint == "send" and self.daily_send_limit is not None:
                while box.sends and box.sends[0] <= now - 86_400:
                    box.sends.popleft()
                if len(box.sends) >= self.daily_send_limit:
                    return google_error(403, "dailyLimitExceeded", "Daily user sending limit exceeded.")
        return None

    # -- API methods -------------------------------------------------------------------------------------

    def _box(self, mailbox: str) -> _Mailbox:
        try:
            return self._mailboxes[mailbox.lower()]
        except KeyError:
            raise KeyError(f"the stand-in serves no mailbox {mailbox!r}") from None

    def _store(self, box: _Mailbox, raw: bytes, thread_id: str | None, labels: list[str], at_ms: int) -> StoredMessage:
        """Add a message to `box` and to its history (caller holds the lock)."""
        self._seq += 1
        self._next_id += 1 + self._seq % 7
        message_id = f"{self._next_id:016x}"
        box.history_id += 1 + self._seq % 3  # history ids grow, not always by one
        stored = StoredMessage(
            id=message_id,
            thread_id=thread_id or message_id,
            label_ids=labels,
            raw=raw,
            internal_ms=at_ms,
            history_id=box.history_id,
            seq=self._seq,
            message=_parse(raw),
        )
        box.messages[message_id] = stored
        box.history.append((box.history_id, stored))
        box.threads.add(stored.thread_id)
        box.by_message_id.setdefault(_bare_id(stored.message_id), []).append(stored)
        return stored

    def _thread_of_references(self, box: _Mailbox, message: EmailMessage) -> str | None:
        refs = [_bare_id(r) for r in str(message.get("References", "")).split()]
        refs.append(_bare_id(str(message.get("In-Reply-To", ""))))
        known = (box.by_message_id.get(r) for r in reversed(refs) if r)
        return next((found[0].thread_id for found in known if found), None)

    def _send(self, mailbox: str, body: bytes) -> Response:
        try:
            payload = json.loads(body or b"{}")
            raw = _unb64(str(payload["raw"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return google_error(
                400,
                "invalidArgument",
                "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
            )
        message = _parse(raw)
        recipients = [
            addr
            for _, addr in email.utils.getaddresses(
                [str(v) for k in ("To", "Cc", "Bcc") for v in message.get_all(k, [])]
            )
            if addr
        ]
        if not recipients:
            return google_error(400, "invalidArgument", "Recipient address required")
        if "Message-ID" not in message:
            raw = f"Message-ID: {email.utils.make_msgid(domain='mail.gmail.com')}\r\n".encode() + raw
        if "From" not in message:
            raw = f"From: {mailbox}\r\n".encode() + raw
        thread_id = payload.get("threadId") or None
        with self._lock:
            box = self._box(mailbox)
            if thread_id is not None and thread_id not in box.threads:
                return google_error(404, "notFound", "Requested entity was not found.")
            stored = self._store(box, raw, thread_id, ["SENT"], int(self.now() * 1000))
            self._sent_ids.append((box.address, stored.id))
            box.sends.append(time.monotonic())
            for recipient in recipients:
                self._route_mail(box, stored, recipient.lower())
        answer = {"id": stored.id, "threadId": stored.thread_id, "labelIds": list(stored.label_ids)}
        after = self.faults.take_failure("send_after_store")
        if after is not None:
            return self._burst_response(after.status, after.retry_after, after.body)
        return json_response(200, answer)

    def _route_mail(self, sender: _Mailbox, stored: StoredMessage, recipient: str) -> None:
        """What the outside world does with a sent message (caller holds the lock)."""
        hard_bounces = {a.lower() for a in self.bounce_addresses}
        if recipient in hard_bounces or recipient in {a.lower() for a in self.soft_bounce_addresses}:
            hard = recipient in hard_bounces
            dsn = delivery_status_notification(stored.message, recipient, hard=hard, now=self.now())
            self._store(sender, dsn, stored.thread_id, ["INBOX", "UNREAD"], int(self.now() * 1000))
        elif recipient in self._mailboxes and recipient != sender.address:
            box = self._mailboxes[recipient]
            thread = self._thread_of_references(box, stored.message)
            self._store(box, stored.raw, thread, ["INBOX", "UNREAD"], int(self.now() * 1000))

    def _page_size(self, query: dict[str, list[str]]) -> int | Response:
        try:
            wanted = int(query.get("maxResults", [str(DEFAULT_PAGE)])[0])
        except ValueError:
            return google_error(400, "invalidArgument", "Invalid value for maxResults")
        if wanted < 1:
            return google_error(400, "invalidArgument", "maxResults must be positive")
        return min(wanted, MAX_PAGE, self.max_page)

    def _list(self, mailbox: str, query: dict[str, list[str]]) -> Response:
        size = self._page_size(query)
        if isinstance(size, Response):
            return size
        terms = _query_terms(query.get("q", [""])[0])
        spam_trash = query.get("includeSpamTrash", ["false"])[0].lower() == "true"
        labels = {label.upper() for label in query.get("labelIds", [])}
        try:
            cursor = int(query["pageToken"][0]) if "pageToken" in query else None
        except ValueError:
            return google_error(400, "invalidArgument", "Invalid pageToken")
        wanted_ids = [_bare_id(value) for key, value in terms if key == "rfc822msgid"]
        with self._lock:
            box = self._box(mailbox)
            candidates = box.by_message_id.get(wanted_ids[0], []) if wanted_ids else box.messages.values()
            found = [
                m
                for m in sorted(candidates, key=lambda m: (m.internal_ms, m.seq), reverse=True)
                if (spam_trash or not {"SPAM", "TRASH"} & set(m.label_ids))
                and labels <= set(m.label_ids)
                and _matches(m, terms)
            ]
        start = 0 if cursor is None else next((n + 1 for n, m in enumerate(found) if m.seq == cursor), len(found))
        page = found[start : start + size]
        answer: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if page:
            answer["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in page]
        if start + size < len(found):
            answer["nextPageToken"] = str(page[-1].seq)
        return json_response(200, answer)

    def _get(self, mailbox: str, message_id: str, query: dict[str, list[str]]) -> Response:
        fmt = query.get("format", ["full"])[0]
        if fmt not in ("minimal", "metadata", "full", "raw"):
            return google_error(400, "invalidArgument", f"Invalid value at 'format' ({fmt})")
        with self._lock:
            stored = self._box(mailbox).messages.get(message_id)
        if stored is None:
            return google_error(404, "notFound", "Requested entity was not found.")
        answer: dict[str, Any] = {
            "id": stored.id,
            "threadId": stored.thread_id,
            "labelIds": list(stored.label_ids),
            "snippet": stored.snippet(),
            "sizeEstimate": len(stored.raw),
            "historyId": str(stored.history_id),
            "internalDate": str(stored.internal_ms),
        }
        if fmt == "raw":
            answer["raw"] = _b64(stored.raw)
        elif fmt == "metadata":
            wanted = {h.lower() for h in query.get("metadataHeaders", [])}
            headers = [
                {"name": name, "value": str(value)}
                for name, value in stored.message.items()
                if not wanted or name.lower() in wanted
            ]
            answer["payload"] = {
                "partId": "",
                "mimeType": stored.message.get_content_type(),
                "filename": "",
                "headers": headers,
                "body": {"size": 0},
            }
        elif fmt == "full":
            answer["payload"] = _part_json(stored.message, "")
        return json_response(200, answer)

    def _history(self, mailbox: str, query: dict[str, list[str]]) -> Response:
        size = self._page_size(query)
        if isinstance(size, Response):
            return size
        try:
            start = int(query["startHistoryId"][0])
            cursor = int(query["pageToken"][0]) if "pageToken" in query else start
        except (KeyError, ValueError):
            return google_error(400, "invalidArgument", "Invalid startHistoryId")
        types = set(query.get("historyTypes", ["messageAdded"]))
        with self._lock:
            box = self._box(mailbox)
            if start < box.history_floor:
                return google_error(404, "notFound", "Requested entity was not found.")
            first = bisect.bisect_right(box.history, cursor, key=lambda record: record[0])
            records = box.history[first:] if "messageAdded" in types else []
            current = box.history_id
        page = records[:size]
        answer: dict[str, Any] = {"historyId": str(current)}
        if page:
            answer["history"] = [
                {
                    "id": str(hid),
                    "messages": [{"id": m.id, "threadId": m.thread_id}],
                    "messagesAdded": [
                        {"message": {"id": m.id, "threadId": m.thread_id, "labelIds": list(m.label_ids)}}
                    ],
                }
                for hid, m in page
            ]
        if len(records) > size:
            answer["nextPageToken"] = str(page[-1][0])
        return json_response(200, answer)

    def _profile(self, mailbox: str) -> Response:
        with self._lock:
            box = self._box(mailbox)
            return json_response(
                200,
                {
                    "emailAddress": box.address,
                    "messagesTotal": len(box.messages),
                    "threadsTotal": len({m.thread_id for m in box.messages.values()}),
                    "historyId": str(box.history_id),
                },
            )


def _part_json(part: Message, part_id: str) -> dict[str, Any]:
    """A MessagePart of `format=full`: headers, body (base64url data for leaves), nested parts."""
    doc: dict[str, Any] = {
        "partId": part_id,
        "mimeType": part.get_content_type(),
        "filename": part.get_filename() or "",
        "headers": [{"name": k, "value": str(v)} for k, v in part.items()],
    }
    if part.get_content_maintype() == "multipart":
        children = part.get_payload()
        assert isinstance(children, list)
        prefix = f"{part_id}." if part_id else ""
        doc["body"] = {"size": 0}
        doc["parts"] = [_part_json(child, f"{prefix}{n}") for n, child in enumerate(children)]
        return doc
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):  # message/* parts: their serialised content
        data = part.as_bytes().split(b"\n\n", 1)[-1]
    doc["body"] = {"size": len(data), "data": _b64(data)}
    return doc


# -- builders of inbound mail ----------------------------------------------------------------------------------


def _reply_headers(sent: Message, from_addr: str, subject_prefix: str) -> EmailMessage:
    reply = EmailMessage()
    original_id = str(sent.get("Message-ID", "")).strip()
    subject = str(sent.get("Subject", ""))
    reply["From"] = from_addr
    reply["To"] = str(sent.get("Reply-To") or sent.get("From", ""))
    reply["Subject"] = subject if subject.lower().startswith(subject_prefix.lower()) else f"{subject_prefix}{subject}"
    reply["Date"] = email.utils.formatdate(usegmt=True)
    reply["Message-ID"] = email.utils.make_msgid(domain=from_addr.rpartition("@")[2] or "example.com")
    if original_id:
        reply["In-Reply-To"] = original_id
        reply["References"] = " ".join(filter(None, [str(sent.get("References", "")).strip(), original_id]))
    return reply


def reply_to(sent: Message, from_addr: str, text: str) -> bytes:
    """A person's reply to `sent` (quoted, in its thread by In-Reply-To/References)."""
    reply = _reply_headers(sent, from_addr, "Re: ")
    quoted = "\n".join("> " + line for line in _text_of(sent).splitlines())
    reply.set_content(f"{text}\n\nOn {sent.get('Date', 'an earlier day')}, {sent.get('From', '')} wrote:\n{quoted}\n")
    return reply.as_bytes()


def auto_reply_to(sent: Message, from_addr: str, text: str = "I am out of the office until Monday.") -> bytes:
    """An out-of-office answer to `sent` (`Auto-Submitted: auto-replied`, RFC 3834): not a reply."""
    reply = _reply_headers(sent, from_addr, "Automatic reply: ")
    reply["Auto-Submitted"] = "auto-replied"
    reply["X-Autoreply"] = "yes"
    reply["Precedence"] = "auto_reply"
    reply.set_content(text + "\n")
    return reply.as_bytes()


def unsubscribe_email_to(sent: Message, from_addr: str) -> bytes:
    """The email a mail client sends for the `mailto:` in `sent`'s List-Unsubscribe (RFC 2369)."""
    header = str(sent.get("List-Unsubscribe", ""))
    mailto = next((u for u in re.findall(r"<([^>]+)>", header) if u.lower().startswith("mailto:")), None)
    if mailto is None:
        raise ValueError("the message has no mailto: List-Unsubscribe")
    target = urlsplit(mailto)
    params = {k.lower(): v[0] for k, v in parse_qs(target.query).items()}
    message = EmailMessage()
    message["From"] = from_addr
    message["To"] = unquote(target.path)
    message["Subject"] = params.get("subject", "unsubscribe")
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain=from_addr.rpartition("@")[2] or "example.com")
    message.set_content(params.get("body", "unsubscribe") + "\n")
    return message.as_bytes()


def delivery_status_notification(
    sent: Message, recipient: str, *, hard: bool = True, now: float | None = None
) -> bytes:
    """The DSN Gmail's mailer-daemon returns when `recipient` refused `sent` (RFC 3464, multipart/report)."""
    status, action = ("5.1.1", "failed") if hard else ("4.2.2", "failed")
    diagnostic = (
        "smtp; 550-5.1.1 The email account that you tried to reach does not exist."
        if hard
        else "smtp; 452-4.2.2 The email account that you tried to reach is over quota."
    )
    sender = str(sent.get("From", ""))
    original_id = str(sent.get("Message-ID", "")).strip()
    date = email.utils.formatdate(now, usegmt=True)
    boundary = "000000000000" + secrets.token_hex(8)
    domain = recipient.rpartition("@")[2]
    summary = (
        f"** Address not found **\r\n\r\nYour message wasn't delivered to {recipient} because the address couldn't be "
        "found, or is unable to receive mail.\r\n"
        if hard
        else f"** Message not delivered **\r\n\r\nYour message couldn't be delivered to {recipient} because the "
        "remote server's mailbox is full.\r\n"
    )
    original_headers = "".join(f"{k}: {v}\r\n" for k, v in sent.items())
    text = (
        f"From: Mail Delivery Subsystem <{MAILER_DAEMON}>\r\n"
        f"To: {sender}\r\n"
        f"Subject: Delivery Status Notification ({'Failure' if hard else 'Delay'})\r\n"
        f"Date: {date}\r\n"
        f"Message-ID: {email.utils.make_msgid(domain='mx.google.com')}\r\n"
        + (f"In-Reply-To: {original_id}\r\nReferences: {original_id}\r\n" if original_id else "")
        + f"X-Failed-Recipients: {recipient}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; boundary="{boundary}"; report-type=delivery-status\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        'Content-Type: text/plain; charset="UTF-8"\r\n\r\n'
        f"{summary}\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; googlemail.com\r\n"
        f"Arrival-Date: {date}\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Remote-MTA: dns; mx.{domain}\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n"
        f"Last-Attempt-Date: {date}\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"{original_headers}\r\n"
        f"--{boundary}--\r\n"
    )
    return text.encode("utf-8")
