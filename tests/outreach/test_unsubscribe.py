"""Signed unsubscribe tokens: a round trip, and every way a token must be refused."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from backbeat.outreach.unsubscribe import (
    ExpiredToken,
    InvalidToken,
    make_token,
    read_token,
    token_in_text,
    unsubscribe_mailto,
    unsubscribe_url,
)

KEY = "a-test-unsubscribe-key-of-32-bytes!"
NOW = datetime(2026, 12, 5, 8, 0, 0)


def test_round_trip_names_org_contact_campaign_and_expiry() -> None:
    token = make_token(KEY, "org-1", "c-42", "camp-ü", ttl=timedelta(days=30), now=NOW)
    claim = read_token(KEY, token, now=NOW + timedelta(days=29))
    assert (claim.org_id, claim.contact_id, claim.campaign_id) == ("org-1", "c-42", "camp-ü")
    assert claim.expires_at == NOW + timedelta(days=30)
    assert len(token) < 80 and token.replace("-", "").replace("_", "").isalnum()


def test_every_altered_byte_is_refused() -> None:
    token = make_token(KEY, "org-1", "c-42", "camp-1", now=NOW)
    blob = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for i in range(len(blob)):
        altered = bytearray(blob)
        altered[i] ^= 0x01
        forged = base64.urlsafe_b64encode(bytes(altered)).rstrip(b"=").decode()
        with pytest.raises(InvalidToken):
            read_token(KEY, forged, now=NOW)


def test_a_swapped_contact_is_refused() -> None:
    """Re-assembling a payload for another contact without the key gives a MAC that does not match."""
    mine = base64.urlsafe_b64decode(make_token(KEY, "org-1", "c-42", "camp-1", now=NOW) + "==")
    other = base64.urlsafe_b64decode(
        make_token("another-key-that-is-long-enough", "org-1", "c-43", "camp-1", now=NOW) + "=="
    )
    spliced = base64.urlsafe_b64encode(other[:-16] + mine[-16:]).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="signature"):
        read_token(KEY, spliced, now=NOW)


def test_wrong_key_is_refused_with_a_reason() -> None:
    token = make_token(KEY, "org-1", "c-42", "camp-1", now=NOW)
    with pytest.raises(InvalidToken) as refused:
        read_token("some-other-key-of-enough-length", token, now=NOW)
    assert refused.value.status_code == 400
    assert "signature" in refused.value.reason


@pytest.mark.parametrize("garbage", ["", "abc", "!!!not-base64!!!", "A" * 200, "x" * 41])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        read_token(KEY, garbage, now=NOW)


def test_expired_token_is_refused_after_its_signature_is_checked() -> None:
    token = make_token(KEY, "org-1", "c-42", "camp-1", ttl=timedelta(days=1), now=NOW)
    assert read_token(KEY, token, now=NOW + timedelta(hours=23, minutes=59)).contact_id == "c-42"
    with pytest.raises(ExpiredToken) as refused:
        read_token(KEY, token, now=NOW + timedelta(days=1))
    assert refused.value.status_code == 410
    assert "expired" in refused.value.reason
    # The same expired token under a wrong key is reported as forged, not as expired.
    with pytest.raises(InvalidToken):
        read_token("some-other-key-of-enough-length", token, now=NOW + timedelta(days=2))


def test_weak_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        make_token("short", "org-1", "c-42", "camp-1")
    with pytest.raises(ValueError, match="at least"):
        unsubscribe_url("https://u.example", b"short", "org-1")


def test_url_and_mailto_builders_carry_a_token_that_reads_back() -> None:
    url = unsubscribe_url("https://u.label.example/", KEY, "org-1")("c-42", "camp-1")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "u.label.example")
    assert parts.path.startswith("/u/")
    assert read_token(KEY, parts.path.removeprefix("/u/")).contact_id == "c-42"

    mailto = unsubscribe_mailto("unsubscribe@label.example", KEY, "org-1")("c-42", "camp-1")
    assert mailto.startswith("mailto:unsubscribe@label.example?subject=")
    subject = parse_qs(urlsplit(mailto).query)["subject"][0]
    claim = token_in_text(KEY, "Re: " + unquote(subject))
    assert claim is not None and (claim.org_id, claim.campaign_id) == ("org-1", "camp-1")
    assert token_in_text(KEY, "please take me off your list") is None
