"""Email alerts over SMTP (`smtplib`): plain, STARTTLS or implicit TLS, with optional login.

The server is one URL: `smtp://host:25`, `smtp://host:587?starttls=1` (STARTTLS; port 587 implies it),
`smtps://host:465` (TLS from the first byte). A user and password may sit in the URL (percent-encoded) or be
passed separately (what the settings do with `BACKBEAT_ALERT_SMTP_USER` / `..._PASSWORD`, so a password with
special characters needs no encoding). Neither ever appears in a repr, a log line or an error.

A 4xx reply, a dropped connection or a timeout is `Transient` and retried by `integrations.resilience`'s
policy; a 5xx reply or a refused login fails at once.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlparse

from integrations.notify.channel import Notification, NotifyError
from integrations.notify.message import email_message
from integrations.resilience import IntegrationError, PermanentError, RetryPolicy, Transient

SERVICE = "smtp"
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpSettings:
    """Where the SMTP server is and how to talk to it; `password` never shows in a repr."""

    host: str
    port: int = 25
    tls: str = "none"  # none, starttls or ssl
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 10.0

    @classmethod
    def from_url(cls, url: str, *, username: str = "", password: str = "", timeout: float = 10.0) -> SmtpSettings:
        """Settings from an `smtp://` or `smtps://` URL; `username`/`password` given here win over the URL's."""
        parts = urlparse(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("an SMTP URL looks like smtp://host:587?starttls=1 or smtps://host:465")
        query = {k: v[-1].strip().lower() for k, v in parse_qs(parts.query).items()}
        if parts.scheme == "smtps":
            tls, default_port = "ssl", 465
        else:
            port = parts.port or 25
            starttls = query.get("starttls", "1" if port == 587 else "0") in _TRUE
            tls, default_port = ("starttls" if starttls else "none"), 25
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            tls=tls,
            username=username or unquote(parts.username or ""),
            password=password or unquote(parts.password or ""),
            timeout=timeout,
        )


class SmtpChannel:
    """Sends each notification as one plain-text email to every address in `to`."""

    name = "smtp"

    def __init__(
        self,
        settings: SmtpSettings,
        sender: str,
        to: Sequence[str],
        *,
        policy: RetryPolicy | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not to:
            raise ValueError("an SMTP channel needs at least one recipient")
        self.settings = settings
        self.sender = sender
        self.to = list(to)
        self.policy = policy or RetryPolicy(max_attempts=3)
        self.ssl_context = ssl_context

    def __repr__(self) -> str:
        return f"SmtpChannel({self.settings.host}:{self.settings.port}, tls={self.settings.tls}, to={self.to})"

    def send(self, notification: Notification) -> None:
        """Deliver the email; `NotifyError` when the server refused it or kept failing."""
        message = email_message(notification, self.sender, self.to)
        try:
            self.policy.run(lambda: self._deliver(message), service=SERVICE, label="send")
        except IntegrationError as exc:
            raise NotifyError(str(exc), channel=self.name, retryable=exc.retryable) from None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.tls == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self.ssl_context)
        client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.tls == "starttls":
            client.starttls(context=self.ssl_context)
        return client

    def _deliver(self, message: object) -> None:
        try:
            with self._connect() as client:
                if self.settings.username:
                    client.login(self.settings.username, self.settings.password)
                refused = client.send_message(message)  # type: ignore[arg-type]
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(f"login refused ({exc.smtp_code})", service=SERVICE, status=exc.smtp_code) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            error = Transient if all(400 <= c < 500 for c in codes) else PermanentError
            raise error(f"recipients refused {codes}", service=SERVICE) from None
        except smtplib.SMTPResponseException as exc:
            error = Transient if 400 <= exc.smtp_code < 500 else PermanentError
            raise error(f"server replied {exc.smtp_code}", service=SERVICE, status=exc.smtp_code) from None
        except smtplib.SMTPServerDisconnected:
            raise Transient("network: the server closed the connection", service=SERVICE) from None
        except smtplib.SMTPException as exc:  # before OSError, its base: e.g. STARTTLS not offered
            raise PermanentError(f"{type(exc).__name__}", service=SERVICE) from None
        except OSError as exc:  # refused, reset, timed out, TLS handshake
            raise Transient(f"network: {type(exc).__name__}", service=SERVICE) from None
        if refused:
            raise PermanentError(f"{len(refused)} of {len(self.to)} recipients refused", service=SERVICE)
