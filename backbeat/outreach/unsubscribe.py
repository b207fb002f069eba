"""Signed unsubscribe tokens: who asked to stop (organisation, contact, campaign), until when the link works.

A token is `base64url(payload || mac)` without padding: the payload is a version byte, the expiry as a 4-byte
Unix time and the three ids as length-prefixed UTF-8; `mac` is the first 16 bytes of HMAC-SHA256 over the
payload (128 bits, RFC 2104's truncation). A typical token is about 60 characters, safe in a URL path and in a
`mailto:` subject. Nothing in it is secret (the ids are readable by whoever holds the link); the MAC only proves
that Backbeat issued it.

The key is passed in: in production the caller reads `BACKBEAT_UNSUBSCRIBE_KEY` (or falls back to
`BACKBEAT_SECRET_KEY`); this module never reads it from the environment. The MAC key is derived from it with a
purpose label, so the same secret used for the token store is never used raw for a second job.

Links expire after `DEFAULT_TTL` (90 days): CAN-SPAM wants an opt-out to keep working for at least 30 days after
a message is sent, and follow-ups re-issue fresh links.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from backbeat.outreach.clock import utcnow as _now

VERSION = 1
DEFAULT_TTL = timedelta(days=90)
MIN_KEY_BYTES = 16
MAC_BYTES = 16
MAILTO_SUBJECT_PREFIX = "unsubscribe "
_PURPOSE = b"backbeat/outreach/unsubscribe/v1"
_HEADER = struct.Struct(">BI")  # version, expiry (Unix seconds)
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]{36,}")  # the shortest token is 36 characters


class TokenRefused(ValueError):
    """A token that must not be honoured; `reason` is a short sentence safe to show and to log."""

    status_code = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidToken(TokenRefused):
    """Malformed, forged, signed with another key, or altered after signing."""


class ExpiredToken(TokenRefused):
    """Genuine but past its expiry."""

    status_code = 410


@dataclass(frozen=True)
class UnsubscribeClaim:
    """What a genuine token says: this contact of this organisation asked to stop, from this campaign's mail."""

    org_id: str
    contact_id: str
    campaign_id: str
    expires_at: datetime  # naive UTC


def check_key(key: str | bytes) -> None:
    """Refuse a key too short to sign with (ValueError), before any token is made or read."""
    _mac_key(key)


def _mac_key(key: str | bytes) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise ValueError(f"the unsubscribe key must be at least {MIN_KEY_BYTES} bytes")
    return hmac.new(raw, _PURPOSE, hashlib.sha256).digest()


def _mac(mac_key: bytes, payload: bytes) -> bytes:
    return hmac.new(mac_key, payload, hashlib.sha256).digest()[:MAC_BYTES]


def _utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _field(value: str, name: str) -> bytes:
    encoded = value.encode("utf-8")
    if not encoded or len(encoded) > 255:
        raise ValueError(f"{name} must be 1 to 255 bytes of UTF-8")
    return bytes([len(encoded)]) + encoded


def make_token(
    key: str | bytes,
    org_id: str,
    contact_id: str,
    campaign_id: str,
    *,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> str:
    """A signed, URL-safe token naming `org_id`, `contact_id` and `campaign_id`, valid for `ttl` from `now`."""
    expires = _utc_naive(now or _now()) + ttl
    expiry = int(expires.replace(tzinfo=UTC).timestamp())
    payload = _HEADER.pack(VERSION, expiry) + b"".join(
        _field(v, n) for v, n in ((org_id, "org_id"), (contact_id, "contact_id"), (campaign_id, "campaign_id"))
    )
    return base64.urlsafe_b64encode(payload + _mac(_mac_key(key), payload)).rstrip(b"=").decode("ascii")


def read_token(key: str | bytes, token: str, *, now: datetime | None = None) -> UnsubscribeClaim:
    """The claim in `token`, or `InvalidToken` (forged, altered, other key, malformed) / `ExpiredToken`.

    The MAC is checked (in constant time) before anything in the payload is trusted, so a forged token is
    reported as forged even when its expiry field says it is old.
    """
    mac_key = _mac_key(key)
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("the unsubscribe link is not valid") from None
    if len(blob) < _HEADER.size + 3 * 2 + MAC_BYTES:
        raise InvalidToken("the unsubscribe link is not valid")
    payload, mac = blob[:-MAC_BYTES], blob[-MAC_BYTES:]
    if not hmac.compare_digest(_mac(mac_key, payload), mac):
        raise InvalidToken("the unsubscribe link is not valid: its signature does not match")
    version, expiry = _HEADER.unpack_from(payload)
    if version != VERSION:
        raise InvalidToken(f"the unsubscribe link has an unknown version ({version})")
    fields: list[str] = []
    offset = _HEADER.size
    for _ in range(3):
        size = payload[offset] if offset < len(payload) else 0
        value = payload[offset + 1 : offset + 1 + size]
        if size == 0 or len(value) != size:
            raise InvalidToken("the unsubscribe link is not valid")
        fields.append(value.decode("utf-8"))
        offset += 1 + size
    if offset != len(payload):
        raise InvalidToken("the unsubscribe link is not valid")
    expires_at = datetime.fromtimestamp(expiry, UTC).replace(tzinfo=None)
    if _utc_naive(now or _now()) >= expires_at:
        raise ExpiredToken("the unsubscribe link has expired")
    return UnsubscribeClaim(fields[0], fields[1], fields[2], expires_at)


def unsubscribe_url(
    base_url: str, key: str | bytes, org_id: str, *, ttl: timedelta = DEFAULT_TTL
) -> Callable[[str, str], str]:
    """A function `(contact_id, campaign_id) -> https URL` for the one-click `List-Unsubscribe` header.

    `base_url` is where the unsubscribe server is reachable (e.g. `https://u.label.example`); the URL is
    `{base_url}/u/{token}`, which takes the RFC 8058 POST and shows a confirmation page on GET.
    """
    base = base_url.rstrip("/")
    check_key(key)  # refuse a weak key now, not at the first message

    def url(contact_id: str, campaign_id: str) -> str:
        return f"{base}/u/{make_token(key, org_id, contact_id, campaign_id, ttl=ttl)}"

    return url


def unsubscribe_mailto(
    address: str, key: str | bytes, org_id: str, *, ttl: timedelta = DEFAULT_TTL
) -> Callable[[str, str], str]:
    """A function `(contact_id, campaign_id) -> mailto: URI` for `List-Unsubscribe` (RFC 2369).

    The subject carries the token (`unsubscribe <token>`), so the inbox sync can tell who asked without trusting
    the `From` address; `token_in_text` finds it again.
    """
    check_key(key)

    def mailto(contact_id: str, campaign_id: str) -> str:
        subject = MAILTO_SUBJECT_PREFIX + make_token(key, org_id, contact_id, campaign_id, ttl=ttl)
        return f"mailto:{address}?subject={quote(subject)}"

    return mailto


def token_in_text(key: str | bytes, text: str, *, now: datetime | None = None) -> UnsubscribeClaim | None:
    """The first genuine, unexpired token found in `text` (a subject line or a body), or None."""
    for candidate in _TOKEN_CHARS.findall(text or ""):
        try:
            return read_token(key, candidate, now=now)
        except TokenRefused:
            continue
    return None
