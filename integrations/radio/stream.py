"""Reading a station's stream over HTTP: compressed audio bytes out, every failure as a `StreamError` reason.

One `StreamSource` per station lives for the whole capture; each `connect()` is one connection attempt and
gives a `Connection` whose `blocks` iterate the audio bytes until the stream fails or the capture stops.
  - Icecast/SHOUTcast (MP3, AAC): the response body itself, ICY metadata stripped if the server sends any;
    SHOUTcast v1's `ICY 200 OK` status line is accepted (`shoutcast.py`).
  - HLS (.m3u8): a master playlist picks its highest-bandwidth variant; the media playlist is re-polled and
    each new segment is downloaded whole, in order. The source remembers the next media sequence number
    across connections, so after an outage it resumes where it stopped (if the segments are still listed)
    and knows how much audio was lost; a segment answering 404/410 is skipped, counted as lost audio.
    Segments encrypted with METHOD=AES-128 (#EXT-X-KEY) are decrypted before decoding; their keys are
    fetched through the same session and cached by URI (the last few, as a live stream rotates them) and never
    logged. SAMPLE-AES and DRM key formats fail as "bad HLS playlist".
  - .pls / plain .m3u station files: followed once to the stream they name.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlparse

import requests
import urllib3

from integrations.radio.hls import (
    HLS_CONTENT_TYPES,
    MasterPlaylist,
    MediaPlaylist,
    PlaylistError,
    Segment,
    SegmentKey,
    is_hls,
)
from integrations.radio.hls import parse_playlist as parse_hls
from integrations.radio.hls_crypto import KEY_BYTES, DecryptError, decrypt_segment, segment_iv
from integrations.radio.icy import IcyStripper
from integrations.radio.shoutcast import icy_tolerant

BLOCK_BYTES = 4096  # ~0.25 s of 128 kb/s MP3: small enough that a stop is noticed quickly
MAX_PLAYLIST_BYTES = 1 << 20
USER_AGENT = "Backbeat-capture/0.1"
_STATION_PLAYLIST_TYPES = ("audio/x-scpls", "application/pls+xml", "audio/x-mpegurl", "audio/mpegurl")
_PLAYLIST_SUFFIXES = (".m3u8", ".m3u", ".pls")
HLS_KEYS_CACHED = 8  # AES-128 keys kept by URI: a live stream rotates keys, old ones are not needed again


class StreamError(Exception):
    """The stream failed; `reason` is short, for people and for the gap log ("HTTP 503", "connection reset")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Connection:
    """One open connection: audio bytes, and where they sit in time when the source knows it."""

    kind: str  # "icecast" or "hls"
    blocks: Iterator[bytes]
    start_utc: float | None  # epoch seconds of the first byte's audio; None: use the arrival time
    abort: Callable[[], None] = field(default=lambda: None)  # unblock a pending read from another thread


@dataclass
class _HlsPosition:
    """Where an HLS capture is, kept across reconnects."""

    next_sequence: int | None = None
    lost_seconds: float = 0.0  # audio skipped since the last segment handed out (404s, fell out of window)
    keys: OrderedDict[str, bytes] = field(default_factory=OrderedDict)  # AES-128 keys by URI, newest last


class StreamSource:
    """A station's stream URL; `connect()` as often as needed."""

    def __init__(
        self,
        url: str,
        *,
        halt: threading.Event,
        connect_timeout: float = 10.0,
        read_timeout: float = 15.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.halt = halt
        self.timeout = (connect_timeout, read_timeout)
        self.http = icy_tolerant(session or requests.Session())
        self.http.headers.update({"User-Agent": USER_AGENT, "Icy-MetaData": "0"})
        self._hls = _HlsPosition()

    def connect(self, previous_end: float | None) -> Connection:
        """Open the stream; `previous_end` is the end of the audio already captured (to place resumed HLS)."""
        url = self.url
        for _ in range(2):  # a .pls/.m3u station file may point at the real stream once
            response = self._get(url, stream=True)
            if not _looks_like_playlist(response):
                return _icecast(response)
            text = _read_text(response)
            if is_hls(text):
                return self._hls_connect(text, response.url, previous_end)
            url = _station_playlist_target(text)
        raise StreamError("station playlist points at another playlist")

    # ---- HLS --------------------------------------------------------------------------------------------

    def _hls_connect(self, text: str, base_url: str, previous_end: float | None) -> Connection:
        fetched_at = time.time()
        playlist = _parse(text, base_url)
        if isinstance(playlist, MasterPlaylist):
            base_url = playlist.best().uri
            fetched_at, playlist = time.time(), self._media_playlist(base_url)
        if not isinstance(playlist, MediaPlaylist):
            raise StreamError("HLS variant is itself a master playlist")
        index, start_utc = self._resume_point(playlist, fetched_at, previous_end)
        return Connection("hls", self._follow(base_url, playlist, index), start_utc)

    def _resume_point(
        self, playlist: MediaPlaylist, fetched_at: float, previous_end: float | None
    ) -> tuple[int, float | None]:
        """Which segment to start at, and the UTC time of its audio when it can be told."""
        position, segments = self._hls, playlist.segments
        last = segments[-1].sequence if segments else playlist.first_sequence - 1
        resuming = position.next_sequence is not None and position.next_sequence <= last + 1
        if resuming:
            missed = max(0, playlist.first_sequence - position.next_sequence)
            position.lost_seconds += missed * playlist.target_duration  # their durations are gone with them
            index = max(0, position.next_sequence - playlist.first_sequence)
        else:  # first connection, or the media sequence restarted (encoder restart)
            index, position.lost_seconds = playlist.live_start(), 0.0
        if index < len(segments) and segments[index].program_date_time is not None:
            return index, segments[index].program_date_time.timestamp()
        if resuming and previous_end is not None:
            return index, previous_end + position.lost_seconds
        # Without date-times, the newest segment is taken to end about when the playlist was fetched.
        return index, fetched_at - sum(s.duration for s in segments[index:])

    def _follow(self, media_url: str, playlist: MediaPlaylist, index: int) -> Iterator[bytes]:
        position = self._hls
        pending = list(playlist.segments[index:])
        if position.next_sequence is None:
            position.next_sequence = pending[0].sequence if pending else playlist.first_sequence + index
        quiet_since = time.monotonic()
        while True:
            for segment in pending:
                data = self._segment(segment)
                position.next_sequence, position.lost_seconds = segment.sequence + 1, 0.0
                quiet_since = time.monotonic()
                yield data
                if self.halt.is_set():
                    return
            if playlist.ended:
                raise StreamError("HLS playlist ended (#EXT-X-ENDLIST)")
            if time.monotonic() - quiet_since > 3 * playlist.target_duration + 5:
                raise StreamError("HLS playlist stalled (no new segment)")
            # RFC 8216 6.3.4: when nothing changed, wait half a target duration before reloading.
            if self.halt.wait(max(0.1, playlist.target_duration / 2)):
                return
            playlist = self._media_playlist(media_url)
            expected = position.next_sequence
            if playlist.first_sequence > expected:
                raise StreamError(f"fell behind the HLS window (segments {expected}-{playlist.first_sequence - 1})")
            if playlist.segments and playlist.segments[-1].sequence < expected - 1:
                position.next_sequence = None  # sequence went backwards: start afresh at the live edge
                raise StreamError("HLS media sequence restarted")
            pending = [s for s in playlist.segments if s.sequence >= expected]

    def _media_playlist(self, url: str) -> MasterPlaylist | MediaPlaylist:
        response = self._get(url, stream=True)
        return _parse(_read_text(response), response.url)

    def _segment(self, segment: Segment) -> bytes:
        sequence = segment.sequence
        try:
            response = self.http.get(segment.uri, timeout=self.timeout)
        except requests.RequestException as exc:
            raise StreamError(describe(exc)) from exc
        if response.status_code in (404, 410):
            # A segment that is gone stays gone; skip it rather than retry it forever.
            self._hls.next_sequence = sequence + 1
            self._hls.lost_seconds += segment.duration
            raise StreamError(f"HTTP {response.status_code} on HLS segment {sequence}")
        if response.status_code != 200:
            raise StreamError(f"HTTP {response.status_code} on HLS segment {sequence}")
        if segment.key is None:
            return response.content
        key = self._hls_key(segment.key, sequence)
        try:
            return decrypt_segment(response.content, key, segment_iv(segment.key.iv, sequence))
        except DecryptError as exc:
            self._hls.keys.pop(segment.key.uri, None)  # a key changed behind its URI is fetched afresh
            raise StreamError(f"cannot decrypt HLS segment {sequence}: {exc}") from exc

    def _hls_key(self, key: SegmentKey, sequence: int) -> bytes:
        """The 16 key bytes at `key.uri`, from the cache or fetched once; never logged, never in a message."""
        cache = self._hls.keys
        if key.uri in cache:
            cache.move_to_end(key.uri)
            return cache[key.uri]
        try:
            response = self.http.get(key.uri, timeout=self.timeout)
        except requests.RequestException as exc:
            raise StreamError(f"{describe(exc)} on HLS key") from exc
        if response.status_code != 200:
            raise StreamError(f"HTTP {response.status_code} on HLS key")
        data = response.content
        if len(data) != KEY_BYTES:
            raise StreamError(f"HLS key for segment {sequence} is {len(data)} bytes, expected {KEY_BYTES}")
        cache[key.uri] = data
        while len(cache) > HLS_KEYS_CACHED:
            cache.popitem(last=False)
        return data

    def _get(self, url: str, *, stream: bool) -> requests.Response:
        try:
            response = self.http.get(url, stream=stream, timeout=self.timeout)
        except requests.RequestException as exc:
            raise StreamError(describe(exc)) from exc
        if response.status_code != 200:
            response.close()
            raise StreamError(f"HTTP {response.status_code}")
        return response


def _parse(text: str, base_url: str) -> MasterPlaylist | MediaPlaylist:
    try:
        return parse_hls(text, base_url)
    except (PlaylistError, ValueError) as exc:
        raise StreamError(f"bad HLS playlist: {exc}") from exc


def _content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _looks_like_playlist(response: requests.Response) -> bool:
    kind = _content_type(response)
    path = urlparse(response.url).path.lower()
    return kind in HLS_CONTENT_TYPES or kind in _STATION_PLAYLIST_TYPES or path.endswith(_PLAYLIST_SUFFIXES)


def _read_text(response: requests.Response) -> str:
    body = bytearray()
    try:
        for block in response.iter_content(BLOCK_BYTES):
            body += block
            if len(body) > MAX_PLAYLIST_BYTES:
                raise StreamError("playlist larger than 1 MB (is it an audio stream?)")
    except requests.RequestException as exc:
        raise StreamError(describe(exc)) from exc
    finally:
        response.close()
    return body.decode("utf-8", "replace")


def _station_playlist_target(text: str) -> str:
    """The first stream URL in a .pls (`File1=`) or plain .m3u station file."""
    for line in text.splitlines():
        line = line.strip()
        value = line.partition("=")[2].strip() if line.lower().startswith("file") else line
        if value.startswith(("http://", "https://")):
            return value
    raise StreamError("station playlist names no http(s) stream")


def _icecast(response: requests.Response) -> Connection:
    metaint = response.headers.get("icy-metaint", "")
    stripper = IcyStripper(int(metaint)) if metaint.isdigit() and int(metaint) > 0 else None

    def blocks() -> Iterator[bytes]:
        try:
            # read1 hands over whatever has arrived instead of waiting for a full block: the first block's
            # arrival then dates the audio accurately, and a reset loses no bytes already received.
            while block := response.raw.read1(BLOCK_BYTES):
                audio = stripper.feed(block) if stripper else block
                if audio:
                    yield audio
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StreamError(describe(exc)) from exc
        finally:
            response.close()
        raise StreamError("server closed the stream")

    return Connection("icecast", blocks(), None, abort=lambda: _shutdown(response))


def _shutdown(response: requests.Response) -> None:
    """Wake a thread blocked reading this response (closing alone does not interrupt a blocking recv)."""
    # http.client hands the socket to the response body's reader; urllib3's connection no longer holds it.
    body = getattr(getattr(response.raw, "_fp", None), "fp", None)
    connection = getattr(response.raw, "_connection", None)
    sock = getattr(getattr(body, "raw", None), "_sock", None) or getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed: nothing is blocked on it
            sock.shutdown(socket.SHUT_RDWR)


def describe(exc: BaseException) -> str:
    """A short reason for a requests/socket failure, found by walking the wrapped exceptions."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        todo += [e for e in (current.__cause__, current.__context__, getattr(current, "reason", None)) if e]
        todo += [a for a in current.args if isinstance(a, BaseException)]
    for current in seen:
        if isinstance(current, ConnectionRefusedError) or getattr(current, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(current, ConnectionResetError):
            return "connection reset"
        if isinstance(current, http.client.BadStatusLine):
            return f"not an HTTP or ICY server (status line {current.line.strip()[:60]!r})"
    text = " ".join(str(e) for e in seen).lower()
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout) or "read timed out" in text:
        return "read timeout (no data)"
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("reset by peer", "connection reset"),
        ("name or service not known", "DNS lookup failed"),
        ("incompleteread", "connection broken mid-response"),
        ("connection broken", "connection broken mid-response"),
    ):
        if needle in text:
            return reason
    return f"{type(exc).__name__}: {exc}"[:200]
