"""Test media and local HTTP servers that behave like radio streams: Icecast bodies paced in real time (with
drops, stalls, 503s and unrequested ICY metadata) and a live HLS playlist that slides forward over time.

`capture_until` runs a capture until something has happened at the server (so much audio sent, the playlist
ended) rather than for a fixed duration: on a busy machine the test then takes longer instead of failing.
"""

from __future__ import annotations

import hashlib
import math
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import soundfile as sf
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from integrations.radio import CaptureResult, capture_station

MP3_BITRATE = 128_000
MP3_BYTES_PER_SECOND = MP3_BITRATE // 8
RATE = 44100


def chord_wav(path: Path, seconds: float) -> Path:
    """A stereo A-major chord with a slow tremolo, so every second of it is audibly different."""
    t = np.arange(int(seconds * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * f * t) for f in (440.0, 554.37, 659.25)) / 3
    tone = tone * (0.6 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
    sf.write(path, np.column_stack([tone, tone * 0.8]).astype(np.float32), RATE, subtype="PCM_16")
    return path


def _ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_mp3(folder: Path, seconds: float) -> Path:
    """A CBR MP3 of bare frames (no ID3, no Xing header), so it can be looped like a live stream."""
    wav = chord_wav(folder / "chord.wav", seconds)
    mp3 = folder / "chord.mp3"
    _ffmpeg(
        "-i",
        str(wav),
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
        "-write_xing",
        "0",
        "-id3v2_version",
        "0",
        "-f",
        "mp3",
        str(mp3),
    )
    return mp3


def make_hls(folder: Path, seconds: float, segment_seconds: float = 1.0) -> list[tuple[str, float]]:
    """AAC-in-MPEG-TS segments of a chord; returns (file name, EXTINF duration) per segment."""
    wav = chord_wav(folder / "chord.wav", seconds)
    _ffmpeg(
        "-i",
        str(wav),
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-f",
        "hls",
        "-hls_time",
        str(segment_seconds),
        "-hls_list_size",
        "0",
        "-hls_segment_filename",
        str(folder / "seg%03d.ts"),
        str(folder / "vod.m3u8"),
    )
    segments, duration = [], 0.0
    for line in (folder / "vod.m3u8").read_text().splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            segments.append((line, duration))
    return segments


@dataclass
class StreamPlan:
    """How one Icecast mount behaves, connection by connection."""

    body: bytes
    fail_first: int = 0  # answer 503 to this many requests first
    drop_after: float | None = None  # reset the first streaming connection after this many seconds
    stall_at: float | None = None  # stop sending (connection kept open) from this time.time() on
    end_after: float | None = None  # end every streaming connection cleanly after this many seconds
    metaint: int = 0  # interleave ICY metadata every metaint bytes even though the client asked for none
    burst_seconds: float = 0.0  # send this much already-aired audio at once on connect, then real time
    requests: list[float] = field(default_factory=list)  # time.time() of every request
    audio_bytes_sent: int = 0
    streams_opened: int = 0
    stream_bytes: list[int] = field(default_factory=list)  # audio bytes sent on each streaming connection


@dataclass
class HlsPlan:
    """A live HLS stream made of `segments`, `initial` listed at first, one more every segment duration;
    optionally AES-128 encrypted (`keys`), with key rotation and explicit IVs."""

    folder: Path
    segments: list[tuple[str, float]]
    initial: int = 3
    window: int = 3
    missing: frozenset[int] = frozenset()  # segment numbers that answer 404
    started: float | None = None
    requests: list[str] = field(default_factory=list)
    ended_served: int = 0  # media playlists served with #EXT-X-ENDLIST
    # AES-128 (RFC 8216 5.2): segment number -> the key used from it on (None: clear again), served at
    # `keys/<number>.key` and announced by #EXT-X-KEY lines. Empty: nothing is encrypted.
    keys: dict[int, bytes | None] = field(default_factory=dict)
    iv_from: int | None = None  # from this segment on, each segment has its own #EXT-X-KEY with an explicit IV
    key_status: int = 200  # what key requests answer
    key_body: bytes | None = None  # served at every key URI instead of the real key (a wrong key)

    def key_start(self, n: int) -> int | None:
        """The number in the URI of segment `n`'s key; None when segment `n` is not encrypted."""
        start = max((s for s in self.keys if s <= n), default=None)
        return None if start is None or self.keys[start] is None else start

    def iv(self, n: int) -> bytes | None:
        """Segment `n`'s explicit IV; None: the IV is its media sequence number."""
        if self.iv_from is None or n < self.iv_from:
            return None
        return hashlib.sha256(f"iv {n}".encode()).digest()[:16]

    def key_line(self, n: int, first: int) -> str | None:
        """The #EXT-X-KEY line before segment `n` in a playlist listing segments from `first`, if one is due."""
        start, iv = self.key_start(n), self.iv(n)
        if start is not None and iv is not None:
            return f'#EXT-X-KEY:METHOD=AES-128,URI="keys/{start}.key",IV=0x{iv.hex().upper()}'
        if n != first and start == self.key_start(n - 1) and (start is None or self.iv(n - 1) is None):
            return None
        if start is None:
            return None if n == first else "#EXT-X-KEY:METHOD=NONE"
        return f'#EXT-X-KEY:METHOD=AES-128,URI="keys/{start}.key"'

    def segment_body(self, n: int) -> bytes:
        """Segment `n` as served: the file, AES-128-CBC encrypted with PKCS#7 padding when a key applies."""
        data = (self.folder / self.segments[n][0]).read_bytes()
        start = self.key_start(n)
        if start is None:
            return data
        key = self.keys[start]
        assert key is not None
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(self.iv(n) or n.to_bytes(16, "big"))).encryptor()
        return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()

    def playlist(self) -> str:
        if self.started is None:
            self.started = time.monotonic()
        elapsed = time.monotonic() - self.started
        available = min(len(self.segments), self.initial + math.floor(elapsed / self.segments[0][1]))
        first = max(0, available - self.window)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{math.ceil(self.segments[0][1])}",
            f"#EXT-X-MEDIA-SEQUENCE:{first}",
        ]
        for n, (name, duration) in enumerate(self.segments[first:available], start=first):
            key_line = self.key_line(n, first)
            lines += [key_line] if key_line else []
            lines += [f"#EXTINF:{duration:.6f},", f"segments/{name}"]
        if available == len(self.segments):
            lines.append("#EXT-X-ENDLIST")
            self.ended_served += 1
        return "\n".join(lines) + "\n"


class RadioServer:
    """A threaded HTTP server on 127.0.0.1 serving Icecast mounts (`/name.mp3`) and HLS (`/hls/...`)."""

    def __init__(self) -> None:
        self.mounts: dict[str, StreamPlan] = {}
        self.hls: HlsPlan | None = None
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RadioServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, delta: int) -> None:
        with self._lock:
            self.active += delta
            self.max_active = max(self.max_active, self.active)


def _handler_for(server: RadioServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.startswith("/hls/"):
                self._hls(self.path[len("/hls/") :])
                return
            plan = server.mounts.get(self.path)
            if plan is None:
                self.send_error(404)
                return
            plan.requests.append(time.time())
            if len(plan.requests) <= plan.fail_first:
                self.send_error(503, "Service Unavailable")
                return
            server.count(1)
            try:
                self._stream(plan)
            except OSError:
                pass  # the client went away
            finally:
                server.count(-1)

        def _stream(self, plan: StreamPlan) -> None:
            plan.stream_bytes.append(0)
            plan.streams_opened += 1
            first_stream = plan.streams_opened == 1
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("icy-name", "test radio")
            if plan.metaint:
                self.send_header("icy-metaint", str(plan.metaint))
            self.end_headers()
            started, sent, until_meta = time.monotonic(), 0, plan.metaint
            while True:
                elapsed = time.monotonic() - started
                if first_stream and plan.drop_after is not None and elapsed >= plan.drop_after:
                    self._reset()
                    return
                if plan.end_after is not None and elapsed >= plan.end_after:
                    return  # HTTP/1.0 without a length: the body ends when the connection closes
                if plan.stall_at is not None and time.time() >= plan.stall_at:
                    time.sleep(0.05)
                    continue
                # Real-time pace, `burst_seconds` ahead: the stream's live edge is the request time.
                due = int((elapsed + plan.burst_seconds) * MP3_BYTES_PER_SECOND) - sent
                if due <= 0:
                    time.sleep(0.02)
                    continue
                block = _cyclic(plan.body, sent, due)
                sent += len(block)
                plan.audio_bytes_sent += len(block)
                plan.stream_bytes[-1] += len(block)
                if plan.metaint:
                    block, until_meta = _with_metadata(block, plan.metaint, until_meta)
                self.wfile.write(block)
                self.wfile.flush()

        def _reset(self) -> None:
            """Drop the connection with a TCP reset, as a crashing server or a broken link does."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

        def _hls(self, name: str) -> None:
            plan = server.hls
            assert plan is not None
            plan.requests.append(name)
            if name == "master.m3u8":
                body = (
                    b'#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=32000,CODECS="mp4a.40.2"\nlow.m3u8\n'
                    b'#EXT-X-STREAM-INF:BANDWIDTH=96000,CODECS="mp4a.40.2"\nlive.m3u8\n'
                )
                self._send(body, "application/vnd.apple.mpegurl")
            elif name == "live.m3u8":
                self._send(plan.playlist().encode(), "application/vnd.apple.mpegurl")
            elif name.startswith("segments/"):
                index = int(name[len("segments/seg") : -3])
                if index in plan.missing:
                    self.send_error(404)
                else:
                    self._send(plan.segment_body(index), "video/mp2t")
            elif name.startswith("keys/"):
                key = plan.keys.get(int(name[len("keys/") : -len(".key")]))
                if plan.key_status != 200 or key is None:
                    self.send_error(plan.key_status if plan.key_status != 200 else 404)
                else:
                    self._send(plan.key_body if plan.key_body is not None else key, "application/octet-stream")
            else:
                self.send_error(404)

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _cyclic(body: bytes, offset: int, size: int) -> bytes:
    """`size` bytes of `body` looped forever, starting at `offset`."""
    start = offset % len(body)
    out = body[start : start + size]
    while len(out) < size:
        out += body[: size - len(out)]
    return out


def _with_metadata(block: bytes, metaint: int, until_meta: int) -> tuple[bytes, int]:
    """Insert an ICY metadata block every `metaint` audio bytes; `until_meta` audio bytes remain before the next."""
    title = b"StreamTitle='Test Artist - Test Song';"
    meta = bytes([math.ceil(len(title) / 16)]) + title.ljust(16 * math.ceil(len(title) / 16), b"\0")
    out, i = bytearray(), 0
    while i < len(block):
        take = min(until_meta, len(block) - i)
        out += block[i : i + take]
        i += take
        until_meta -= take
        if until_meta == 0:
            out += meta
            until_meta = metaint
    return bytes(out), until_meta


def unused_port_url(path: str = "/stream.mp3") -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def capture_until(
    condition: Callable[[], bool], station_id: str, url: str, landing: Path, *, timeout: float = 60.0, **options: Any
) -> CaptureResult:
    """`capture_station` in a thread, stopped (its `stop` event) as soon as `condition()` holds.

    Fails if the condition does not hold within `timeout` seconds, a bound meant to catch a hang, not to time
    anything; `options` go to `capture_station` (config, rng).
    """
    stop = threading.Event()
    results: list[CaptureResult] = []
    thread = threading.Thread(
        target=lambda: results.append(capture_station(station_id, url, landing, stop=stop, **options)),
        daemon=True,
        name=f"test-capture-{station_id}",
    )
    thread.start()
    reached = wait_for(lambda: condition() or not thread.is_alive(), timeout) and condition()
    stop.set()
    thread.join(timeout)
    assert not thread.is_alive(), f"{station_id}: the capture did not stop within {timeout} s of being told to"
    assert results, f"{station_id}: capture_station raised"
    assert reached, f"{station_id}: the awaited condition never held (capture result: {results[0]})"
    return results[0]
