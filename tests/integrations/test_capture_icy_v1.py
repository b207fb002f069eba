"""SHOUTcast v1 (`ICY 200 OK` instead of an HTTP status line) against a raw local TCP server.

`http.server` cannot send a non-HTTP status line, so the server here writes the bytes a SHOUTcast 1.x server
writes: `ICY 200 OK`, icy-* headers, a blank line, then MP3 paced in real time with in-band metadata.
"""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf
from support_modules import load_support_module

from backbeat.airplay.landing import list_landing
from integrations.radio import CaptureConfig
from integrations.radio.stream import StreamError, StreamSource
from integrations.retry import Backoff

servers = load_support_module(Path(__file__).parent / "radio_support" / "servers.py", "radio_support_servers")
FAST = CaptureConfig(chunk_seconds=2.0, backoff=Backoff(base=0.2, factor=2.0, maximum=1.0), stable_seconds=60)
METAINT = 8192


class _RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, status_line: bytes, body: bytes) -> None:
        self.status_line = status_line
        self.body = body
        self.requests: list[bytes] = []
        self.audio_bytes_sent = 0
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(socketserver.StreamRequestHandler):
    server: _RawServer

    def handle(self) -> None:
        request = b""
        while not request.endswith(b"\r\n\r\n"):
            line = self.rfile.readline()
            if not line:
                return
            request += line
        self.server.requests.append(request)
        self.wfile.write(self.server.status_line + b"\r\n")
        self.wfile.write(b"icy-notice1: <BR>This stream requires Winamp<BR>\r\n")
        self.wfile.write(b"icy-name: Test Radio v1\r\nicy-genre: Various\r\nicy-pub: 0\r\nicy-br: 128\r\n")
        self.wfile.write(b"content-type: audio/mpeg\r\n")
        self.wfile.write(f"icy-metaint: {METAINT}\r\n\r\n".encode())
        started, sent, until_meta = time.monotonic(), 0, METAINT
        try:
            while True:
                due = int((time.monotonic() - started) * servers.MP3_BYTES_PER_SECOND) - sent
                if due <= 0:
                    time.sleep(0.02)
                    continue
                block = servers._cyclic(self.server.body, sent, due)
                sent += len(block)
                self.server.audio_bytes_sent += len(block)
                framed, until_meta = servers._with_metadata(block, METAINT, until_meta)
                self.wfile.write(framed)
                self.wfile.flush()
        except OSError:
            pass  # the client hung up


@pytest.fixture(scope="module")
def mp3(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return servers.make_mp3(tmp_path_factory.mktemp("mp3"), seconds=8).read_bytes()


def _serving(status_line: bytes, body: bytes) -> Iterator[_RawServer]:
    server = _RawServer(status_line, body)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_shoutcast_v1_station_is_captured_with_its_metadata_cut_out(mp3: bytes, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for server in _serving(b"ICY 200 OK", mp3):
        # Until 4 s of audio were sent, however long a busy machine takes to connect and decode.
        result = servers.capture_until(
            lambda s=server: s.audio_bytes_sent >= 4 * servers.MP3_BYTES_PER_SECOND,
            "v1-fm",
            server.url,
            landing,
            config=FAST,
        )
        sent_seconds = server.audio_bytes_sent / servers.MP3_BYTES_PER_SECOND

    assert result.error is None and result.connections == 1 and result.gaps == []
    assert b"Icy-MetaData: 0" in server.requests[0]
    captured = sum(sf.info(str(f.path)).duration for f in list_landing(landing))
    # Every audio byte decodes: a status line taken for audio, or metadata left in, would lose frames.
    assert sent_seconds - 0.4 <= captured <= sent_seconds + 0.1
    assert captured > 3.0


def test_the_icy_status_code_is_honoured_and_other_status_lines_still_fail(mp3: bytes) -> None:
    halt = threading.Event()
    for server in _serving(b"ICY 401 Service Unavailable", mp3):
        with pytest.raises(StreamError, match="HTTP 401"):
            StreamSource(server.url, halt=halt, read_timeout=2).connect(None)
    for server in _serving(b"XYZ 200 OK", mp3):
        with pytest.raises(StreamError) as failure:
            StreamSource(server.url, halt=halt, read_timeout=2).connect(None)
        assert failure.value.reason == "not an HTTP or ICY server (status line 'XYZ 200 OK')"  # not read as audio


def test_an_http_station_reads_exactly_as_before(mp3: bytes) -> None:
    """The tolerant transport leaves real HTTP alone: status, headers and body bytes are untouched."""
    halt = threading.Event()
    with servers.RadioServer() as server:
        server.mounts["/plain.mp3"] = servers.StreamPlan(mp3)
        connection = StreamSource(f"{server.url}/plain.mp3", halt=halt).connect(None)
        received = b""
        for block in connection.blocks:
            received += block
            if len(received) >= 4096:
                break
        connection.abort()
    assert received[:4096] == mp3[:4096]
