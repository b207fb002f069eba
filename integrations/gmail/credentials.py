"""A mailbox's OAuth credentials: google-auth `Credentials` refreshed at the token endpoint under a lock.

The token travels as a plain mapping `{"refresh_token": ..., "access_token": ... | None, "expiry": iso | None}`
(expiry naive UTC) so the caller can store it encrypted (`integrations.resilience.TokenStore`). Every refresh
hands the new mapping to `on_refresh`. The token endpoint's `invalid_grant` (revoked or expired grant) becomes
`AuthRequired`; a token endpoint that cannot be reached becomes `GmailUnavailable`. Neither tokens nor the client
secret appear in a repr, an exception or a log line.
"""

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
import requests

from integrations.gmail.errors import AuthRequired, GmailUnavailable

Token = dict[str, Any]


def _parse_expiry(value: object) -> datetime | None:
    """A naive UTC datetime from an ISO string (aware values are converted), None when absent."""
    if value in (None, ""):
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


class _TimedRequest(google.auth.transport.requests.Request):
    """google-auth's requests transport with our timeout instead of its 120 s default."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        super().__init__(session)
        self._timeout = timeout

    def __call__(
        self, url: str, method: str = "GET", body: Any = None, headers: Any = None, timeout: Any = None, **kw: Any
    ) -> Any:
        timeout = timeout or self._timeout
        return super().__call__(url, method=method, body=body, headers=headers, timeout=timeout, **kw)  # type: ignore[no-untyped-call]


class MailboxCredentials:
    """The credentials of one mailbox; `google` is the google-auth object the Gmail client is built with."""

    def __init__(
        self,
        mailbox: str,
        token: Mapping[str, Any],
        *,
        client_id: str,
        client_secret: str,
        token_uri: str,
        on_refresh: Callable[[Token], None] | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not token.get("refresh_token"):
            raise AuthRequired("no refresh token stored", reason="no_refresh_token", mailbox=mailbox)
        self.mailbox = mailbox
        self.google = google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
            token=token.get("access_token") or None,
            refresh_token=token["refresh_token"],
            token_uri=token_uri,
            client_id=client_id,
            client_secret=client_secret,
            expiry=_parse_expiry(token.get("expiry")),
        )
        self._on_refresh = on_refresh
        self._lock = threading.Lock()
        self._request = _TimedRequest(requests.Session(), timeout)
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"MailboxCredentials({self.mailbox!r}, valid={self.google.valid})"

    def token(self) -> Token:
        """The current token mapping (what `on_refresh` receives)."""
        expiry = self.google.expiry
        return {
            "refresh_token": self.google.refresh_token,
            "access_token": self.google.token,
            "expiry": expiry.isoformat() if expiry is not None else None,
        }

    def ensure_valid(self) -> None:
        """Refresh first when there is no access token or it is about to expire."""
        if not self.google.valid:
            self.refresh(stale=self.google.token)

    def refresh(self, stale: str | None) -> None:
        """Get a new access token, unless another thread already replaced `stale` (the token that failed)."""
        with self._lock:
            if self.google.token != stale and self.google.valid:
                return
            try:
                self.google.refresh(self._request)  # type: ignore[no-untyped-call]
            except google.auth.exceptions.RefreshError as exc:
                raise self._refresh_error(exc) from None
            except google.auth.exceptions.TransportError as exc:
                raise GmailUnavailable(
                    f"token endpoint unreachable ({type(exc).__name__})", reason="network", mailbox=self.mailbox
                ) from None
            self.refreshes += 1
            token = self.token()
        if self._on_refresh is not None:
            self._on_refresh(token)

    def _refresh_error(self, exc: google.auth.exceptions.RefreshError) -> Exception:
        data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        error = str(data.get("error") or "")
        description = str(data.get("error_description") or "")[:200]
        if error and not getattr(exc, "retryable", False):
            return AuthRequired(
                f"token refresh refused: {description or error}", reason=error, mailbox=self.mailbox, status=400
            )
        if getattr(exc, "retryable", False):
            return GmailUnavailable(
                f"token endpoint failing: {description or error or 'no answer'}",
                reason=error or "backendError",
                mailbox=self.mailbox,
            )
        return AuthRequired("token refresh refused", reason=error or "refresh_failed", mailbox=self.mailbox)
