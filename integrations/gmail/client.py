"""One mailbox's Gmail API through `google-api-python-client`, governed by the shared resilience policy.

The service is built from the discovery document the package ships (`build("gmail", "v1",
static_discovery=True, ...)`) with `api_endpoint` and `token_uri` taken from a `GmailEndpoint`, so tests point
both at the local stand-in. Requests are executed over a google-auth `AuthorizedSession` (requests, no
transport-level retries) instead of httplib2, because httplib2 silently re-sends a request whose connection
dropped before the answer, which for `messages.send` would be a second email.

Every call goes through `RetryPolicy.run` with the process-wide breaker for the endpoint:
- read calls retry 429 (after Retry-After), 5xx and network errors (backoff), and a 401 once after a refresh;
- `send` retries only what certainly did not send (429, a 401 once after a refresh); a 5xx, a timeout or a
  dropped connection after the request left raises `SendOutcomeUnknown`, and a connection that never opened
  or an open circuit raises `GmailUnavailable` (not sent).
Quota units (send 100, messages.list/get 5, history.list 2, getProfile 1) are counted per HTTP attempt in
`units_spent`, and spent through a `QuotaMeter` when one is given (it waits to stay under 15,000 a minute).
"""

import base64
import binascii
import dataclasses
import http.client
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httplib2
import requests
import urllib3.exceptions
from google.auth.transport.requests import AuthorizedSession
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from integrations.gmail.credentials import MailboxCredentials, Token
from integrations.gmail.errors import (
    SERVICE,
    AuthRequired,
    GmailError,
    GmailUnavailable,
    SendOutcomeUnknown,
    Unauthorized,
    from_http,
)
from integrations.gmail.quota import UNITS, QuotaMeter
from integrations.resilience import CallStats, CircuitBreaker, CircuitOpen, RetryPolicy, breaker_for
from integrations.resilience.errors import MalformedPayload
from integrations.resilience.payload import Payload
from integrations.resilience.secrets import install_log_redaction

log = logging.getLogger(__name__)
PAGE_SIZE = 500  # Gmail's maximum maxResults: the fewest list/history calls (5 and 2 units each) per id
_TRANSPORT_LOGGERS = (
    __name__,
    "integrations.resilience.policy",
    "googleapiclient.http",
    "googleapiclient.discovery",
    "google.auth.transport.requests",
    "google.oauth2._client",
    "urllib3.connectionpool",
)


@dataclass(frozen=True)
class GmailEndpoint:
    """Where Google lives; tests point both URLs at the local stand-in."""

    api_endpoint: str = "https://gmail.googleapis.com"
    token_uri: str = "https://oauth2.googleapis.com/token"


@dataclass(frozen=True)
class SentMessage:
    """A message as Gmail stored it."""

    id: str
    thread_id: str


@dataclass(frozen=True)
class MessageMetadata:
    """`messages.get format=metadata`: labels, the time Gmail received it (naive UTC) and every header, with
    lower-cased names (the first value when a header repeats)."""

    id: str
    thread_id: str
    label_ids: tuple[str, ...]
    internal_date: datetime
    headers: dict[str, str]


@dataclass(frozen=True)
class HistoryPage:
    """Messages added since a start history id (every page followed, ids once each in Gmail's order), and the
    mailbox's history id to store as the next checkpoint."""

    added_message_ids: list[str]
    history_id: str


class _SessionHttp:
    """The `http.request(...)` interface googleapiclient executes on, over a requests session: each call is
    one HTTP request (no silent re-send)."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self._session = session
        self._timeout = timeout

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        redirections: int = 0,
        connection_type: object = None,
    ) -> tuple[httplib2.Response, bytes]:
        response = self._session.request(
            method, uri, data=body, headers=dict(headers or {}), timeout=self._timeout, allow_redirects=False
        )
        info = {k.lower(): v for k, v in response.headers.items() if k.lower() != "content-encoding"}
        info["status"] = str(response.status_code)
        resp = httplib2.Response(info)
        resp.reason = response.reason or ""
        return resp, response.content


def _network_error(exc: BaseException, mailbox: str) -> GmailUnavailable:
    """`connect` when the connection never opened (nothing was sent), else `network` (it may have been)."""
    seen: Any = exc
    never_connected = False
    for _ in range(6):
        if isinstance(seen, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError)):
            never_connected = True
            break
        if isinstance(seen, requests.exceptions.ConnectTimeout):
            never_connected = True
            break
        inner = getattr(seen, "reason", None) or (seen.args[0] if getattr(seen, "args", None) else None)
        if not isinstance(inner, BaseException):
            break
        seen = inner
    reason = "connect" if never_connected else "network"
    return GmailUnavailable(f"network: {type(exc).__name__}", reason=reason, mailbox=mailbox)


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _naive_utc(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo is not None else when


class GmailClient:
    """The Gmail API of one mailbox. Thread-safe: concurrent calls share one refresh and one quota count."""

    def __init__(
        self,
        mailbox: str,
        token: Mapping[str, Any],
        *,
        client_id: str,
        client_secret: str,
        endpoint: GmailEndpoint = GmailEndpoint(),
        on_refresh: Callable[[Token], None] | None = None,
        quota: QuotaMeter | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        install_log_redaction(_TRANSPORT_LOGGERS)
        self.mailbox = mailbox
        self.endpoint = endpoint
        self.credentials = MailboxCredentials(
            mailbox,
            token,
            client_id=client_id,
            client_secret=client_secret,
            token_uri=endpoint.token_uri,
            on_refresh=on_refresh,
            timeout=timeout,
        )
        self._service = build(
            "gmail",
            "v1",
            static_discovery=True,
            credentials=self.credentials.google,
            client_options={"api_endpoint": endpoint.api_endpoint},
        )
        self._users = self._service.users()
        # Requests run over this session, not the httplib2 transport build() made (see the module docstring).
        session = AuthorizedSession(self.credentials.google, refresh_status_codes=(), max_refresh_attempts=0)  # type: ignore[no-untyped-call]
        self._http = _SessionHttp(session, timeout)
        self._policy = policy or RetryPolicy()
        self._send_policy = dataclasses.replace(self._policy, max_attempts=1)
        self._breaker = breaker or breaker_for(f"{SERVICE}:{endpoint.api_endpoint}")
        self._quota = quota
        self._units_lock = threading.Lock()
        self.units_spent = 0
        self.stats = CallStats()

    def __repr__(self) -> str:
        return f"GmailClient({self.mailbox!r}, api_endpoint={self.endpoint.api_endpoint!r})"

    # -- the calls ---------------------------------------------------------------------------------------

    def profile(self) -> tuple[str, str]:
        """(emailAddress, historyId) of the mailbox (`users.getProfile`)."""
        doc = self._payload(self._call("getProfile", lambda users: users.getProfile(userId="me")), "profile")
        history_id = doc.data.get("historyId")
        if history_id in (None, ""):
            raise doc.error("historyId", "is missing")
        return doc.text("emailAddress"), str(history_id)

    def send(self, raw: bytes, thread_id: str | None = None) -> SentMessage:
        """Send an RFC 2822 message (`users.messages.send`), in `thread_id` when given. See the module docstring
        for what is retried; `SendOutcomeUnknown` means: look the Message-ID up before sending again."""
        body: dict[str, str] = {"raw": base64.urlsafe_b64encode(raw).decode("ascii")}
        if thread_id:
            body["threadId"] = thread_id
        result = self._call("send", lambda users: users.messages().send(userId="me", body=body), sending=True)
        try:
            doc = self._payload(result, "sent message")
            return SentMessage(doc.text("id"), doc.text("threadId"))
        except MalformedPayload as exc:
            raise SendOutcomeUnknown(
                f"send answered without an id ({exc.field} {exc.problem})", reason="malformed", mailbox=self.mailbox
            ) from None

    def find_rfc822(self, message_id: str) -> SentMessage | None:
        """The message with this Message-ID header (spam and trash included), or None."""
        bare = message_id.strip().removeprefix("<").removesuffix(">")
        found = self._list(f"rfc822msgid:{bare}", include_spam_trash=True, stop_after_first=True)
        if not found:
            return None
        first = found[0]
        return SentMessage(first.text("id"), first.text("threadId"))

    def list_since(self, after: datetime) -> list[str]:
        """Ids of the messages received after `after` (naive UTC), newest first, every page followed
        (`messages.list q=after:<epoch seconds>`): the full resync when history has expired."""
        epoch = int(_naive_utc(after).replace(tzinfo=UTC).timestamp())
        return [m.text("id") for m in self._list(f"after:{epoch}", include_spam_trash=False)]

    def history(self, start_history_id: str) -> HistoryPage:
        """Messages added since `start_history_id` (`users.history.list historyTypes=messageAdded`, paged).

        Raises `HistoryExpired` when Gmail no longer has that history id (404): resync with `list_since`."""
        added: dict[str, None] = {}
        page_token: str | None = None
        history_id = str(start_history_id)
        while True:
            token = page_token

            def request(users: Any, token: str | None = token) -> Any:
                params: dict[str, Any] = {
                    "userId": "me",
                    "startHistoryId": str(start_history_id),
                    "historyTypes": "messageAdded",
                    "maxResults": PAGE_SIZE,
                }
                if token:
                    params["pageToken"] = token
                return users.history().list(**params)

            doc = self._payload(self._call("history.list", request), "history page")
            for record in doc.objects("history", optional=True):
                for added_entry in record.objects("messagesAdded", optional=True):
                    message = added_entry.obj("message")
                    assert message is not None
                    added[message.text("id")] = None
            history_id = str(doc.data.get("historyId") or history_id)
            page_token = doc.data.get("nextPageToken") or None
            if not page_token:
                return HistoryPage(list(added), history_id)

    def metadata(self, message_id: str) -> MessageMetadata:
        """Labels, received time and headers of a message (`messages.get format=metadata`), no body."""
        doc = self._payload(
            self._call(
                "messages.get", lambda users: users.messages().get(userId="me", id=message_id, format="metadata")
            ),
            "message",
            message_id,
        )
        headers: dict[str, str] = {}
        payload = doc.obj("payload")
        assert payload is not None
        for header in payload.objects("headers", optional=True):
            headers.setdefault(header.text("name").lower(), header.text("value", allow_empty=True))
        millis = doc.text("internalDate")
        try:
            received = datetime.fromtimestamp(int(millis) / 1000, UTC).replace(tzinfo=None)
        except ValueError:
            raise doc.error("internalDate", f"is {millis!r}, expected milliseconds since the epoch") from None
        return MessageMetadata(
            id=doc.text("id"),
            thread_id=doc.text("threadId"),
            label_ids=doc.texts("labelIds", optional=True),
            internal_date=received,
            headers=headers,
        )

    def raw(self, message_id: str) -> bytes:
        """The full RFC 2822 bytes of a message (`messages.get format=raw`); for DSNs, whose status is in the body."""
        doc = self._payload(
            self._call("messages.get", lambda users: users.messages().get(userId="me", id=message_id, format="raw")),
            "message",
            message_id,
        )
        try:
            return _unb64(doc.text("raw"))
        except (binascii.Error, ValueError):
            raise doc.error("raw", "is not base64url") from None

    # -- plumbing ----------------------------------------------------------------------------------------

    def _list(self, query: str, *, include_spam_trash: bool, stop_after_first: bool = False) -> list[Payload]:
        found: list[Payload] = []
        page_token: str | None = None
        while True:
            token = page_token

            def request(users: Any, token: str | None = token) -> Any:
                params: dict[str, Any] = {"userId": "me", "q": query, "maxResults": PAGE_SIZE}
                if include_spam_trash:
                    params["includeSpamTrash"] = True
                if token:
                    params["pageToken"] = token
                return users.messages().list(**params)

            doc = self._payload(self._call("messages.list", request), "message list")
            found.extend(doc.objects("messages", optional=True))
            page_token = doc.data.get("nextPageToken") or None
            if not page_token or (stop_after_first and found):
                return found

    def _payload(self, result: Any, entity: str, entity_id: str = "") -> Payload:
        return Payload(result, service=SERVICE, entity=entity, entity_id=entity_id or self.mailbox)

    def _spend(self, units: int) -> None:
        if self._quota is not None:
            self._quota.spend(self.mailbox, units)
        with self._units_lock:
            self.units_spent += units

    def _call(self, call: str, make: Callable[[Any], Any], *, sending: bool = False) -> Any:
        """Run one Gmail method under the policy; `make(users)` builds the googleapiclient request."""
        tried: dict[str, str | None] = {"token": None}

        def attempt() -> Any:
            self.credentials.ensure_valid()
            self._spend(UNITS[call])
            tried["token"] = self.credentials.google.token
            request = make(self._users)
            try:
                return request.execute(http=self._http)
            except HttpError as exc:
                headers = {str(k).lower(): str(v) for k, v in dict(exc.resp).items()}
                raise from_http(exc.resp.status, headers, exc.content, mailbox=self.mailbox, call=call) from None
            except (requests.RequestException, OSError, http.client.HTTPException) as exc:
                raise _network_error(exc, self.mailbox) from None

        policy = self._send_policy if sending else self._policy
        try:
            return policy.run(
                attempt,
                service=SERVICE,
                breaker=self._breaker,
                refresh=lambda: self.credentials.refresh(stale=tried["token"]),
                stats=self.stats,
                label=call,
            )
        except Unauthorized as exc:
            raise self._carry(
                AuthRequired(
                    "access token refused after a refresh", reason=exc.reason, mailbox=self.mailbox, status=401
                ),
                exc,
            ) from None
        except CircuitOpen as exc:
            raise GmailUnavailable(
                "circuit open: Gmail kept failing", reason="circuitOpen", mailbox=self.mailbox, retry_in=exc.retry_in
            ) from None
        except GmailUnavailable as exc:
            if sending and exc.reason not in ("connect", "circuitOpen"):
                log.warning("%s: send outcome unknown after %s; the engine must look the message up", self.mailbox, exc)
                raise self._carry(
                    SendOutcomeUnknown(
                        f"send may have gone out: {exc.detail}",
                        reason=exc.reason,
                        mailbox=self.mailbox,
                        status=exc.status,
                    ),
                    exc,
                ) from None
            raise

    @staticmethod
    def _carry(new: GmailError, old: GmailError) -> GmailError:
        new.attempts = old.attempts
        return new
