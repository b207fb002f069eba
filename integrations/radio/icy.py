"""ICY (SHOUTcast/Icecast) in-band metadata: strip it from the audio bytes, keep the latest stream title.

We ask servers not to interleave metadata (`Icy-MetaData: 0`), but some send it anyway; when a response
carries `icy-metaint`, every `metaint` audio bytes are followed by one length byte (x16) and that much text.
Left in, those bytes would reach the decoder as corrupt frames.
"""

from __future__ import annotations

import re

_TITLE = re.compile(rb"StreamTitle='(.*?)';", re.DOTALL)


class IcyStripper:
    """Feed it response bytes in any block sizes; it returns only the audio bytes."""

    def __init__(self, metaint: int) -> None:
        if metaint <= 0:
            raise ValueError("icy-metaint must be positive")
        self.metaint = metaint
        self.title: str | None = None
        self._audio_left = metaint
        self._meta_left = 0
        self._meta = bytearray()

    def feed(self, data: bytes) -> bytes:
        audio = bytearray()
        i = 0
        while i < len(data):
            if self._meta_left:
                take = min(self._meta_left, len(data) - i)
                self._meta += data[i : i + take]
                self._meta_left -= take
                i += take
                if not self._meta_left:
                    self._read_title()
            elif not self._audio_left:
                self._meta_left = data[i] * 16
                self._audio_left = self.metaint
                i += 1
            else:
                take = min(self._audio_left, len(data) - i)
                audio += data[i : i + take]
                self._audio_left -= take
                i += take
        return bytes(audio)

    def _read_title(self) -> None:
        match = _TITLE.search(bytes(self._meta))
        if match:
            self.title = match.group(1).decode("utf-8", "replace")
        self._meta.clear()
