"""SHOUTcast v1 servers answer `ICY 200 OK` where HTTP says `HTTP/1.0 200 OK`; accept it.

Many stations still run SHOUTcast 1.x (or Icecast's SHOUTcast-compatible mode), whose status line starts
with `ICY`. Python's `http.client` refuses that line (`BadStatusLine`), so without help such a station could
never be captured. Everything after the status line is ordinary: headers (`icy-name`, `icy-metaint`, …), a
blank line, then audio until the server closes the connection, which is HTTP/1.0 without a Content-Length.

`icy_tolerant(session)` mounts an adapter whose connections read an `ICY` status line as `HTTP/1.0`; any
other status line is parsed exactly as before, so HTTP servers, HLS and playlists are unaffected.
"""

from __future__ import annotations

import http.client
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

_ICY = b"ICY "
_AS_HTTP = b"HTTP/1.0 "


class _StatusLine:
    """Stands in for the response's socket file while `http.client` reads the status line, and only then."""

    def __init__(self, line: bytes, stream: Any) -> None:
        self._line = line
        self._stream = stream

    def readline(self, _limit: int = -1) -> bytes:
        line, self._line = self._line, b""
        return line

    def close(self) -> None:  # http.client closes its file when it rejects the line
        self._stream.close()


class IcyTolerantResponse(http.client.HTTPResponse):
    """An `http.client` response that reads `ICY <code> <reason>` as `HTTP/1.0 <code> <reason>`."""

    def _read_status(self) -> tuple[str, int, str]:
        stream = self.fp
        line = stream.readline(http.client._MAXLINE + 1)  # type: ignore[attr-defined]  # the stdlib's own limit
        if line.startswith(_ICY):
            line = _AS_HTTP + line[len(_ICY) :]
        self.fp = _StatusLine(line, stream)
        try:
            return super()._read_status()  # type: ignore[misc]
        finally:
            if self.fp is not None:  # None: the stdlib rejected the line and closed the connection
                self.fp = stream


class _IcyHTTPConnection(HTTPConnection):
    response_class = IcyTolerantResponse


class _IcyHTTPSConnection(HTTPSConnection):
    response_class = IcyTolerantResponse


class _IcyHTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _IcyHTTPConnection


class _IcyHTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _IcyHTTPSConnection


class IcyTolerantAdapter(HTTPAdapter):
    """A `requests` transport whose connections accept SHOUTcast v1's `ICY` status line."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _IcyHTTPConnectionPool, "https": _IcyHTTPSConnectionPool}


def icy_tolerant(session: requests.Session) -> requests.Session:
    """Mount the ICY-tolerant transport on `session` for http and https; returns the session."""
    adapter = IcyTolerantAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
