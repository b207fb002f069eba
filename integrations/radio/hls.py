"""HLS playlists (RFC 8216) as plain data: master playlists list variants, media playlists list segments.

Only what live audio capture needs is parsed: variants and their bandwidth, segment URIs, durations, media
sequence numbers, program date-times, the end-of-stream marker and segment encryption (RFC 8216 4.3.2.4).
METHOD=AES-128 with the default "identity" KEYFORMAT (whole segments, AES-128-CBC, key fetched from its URI)
is parsed into each segment's `key`; decryption is in `hls_crypto`. SAMPLE-AES (per-sample encryption inside
the container), other methods and DRM key formats are refused with a `PlaylistError`, not guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

HLS_CONTENT_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl")
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


class PlaylistError(ValueError):
    """A playlist this client cannot follow."""


@dataclass(frozen=True)
class SegmentKey:
    """How a segment is encrypted: `method` is "AES-128"; `uri` is absolute; `iv` is 16 bytes, or None when
    the IV is the segment's media sequence number (RFC 8216 5.2). It holds where the key is, never the key."""

    method: str
    uri: str
    iv: bytes | None = None


@dataclass(frozen=True)
class Variant:
    uri: str
    bandwidth: int


@dataclass(frozen=True)
class Segment:
    uri: str
    duration: float
    sequence: int
    program_date_time: datetime | None = None
    key: SegmentKey | None = None  # None: the segment is not encrypted


@dataclass(frozen=True)
class MasterPlaylist:
    variants: tuple[Variant, ...]

    def best(self) -> Variant:
        """The highest-bandwidth variant (the first one among equals)."""
        return max(self.variants, key=lambda v: v.bandwidth)


@dataclass(frozen=True)
class MediaPlaylist:
    target_duration: float
    segments: tuple[Segment, ...]
    ended: bool

    @property
    def first_sequence(self) -> int:
        return self.segments[0].sequence if self.segments else 0

    def live_start(self, lead_targets: float = 3.0) -> int:
        """Index of the segment to start at: the newest ones covering `lead_targets` target durations.

        RFC 8216 6.3.3 asks clients not to start closer than three target durations to the end; starting no
        further back keeps the first chunk's estimated time close to the wall clock.
        """
        covered, index = 0.0, len(self.segments)
        while index > 0 and covered < lead_targets * self.target_duration:
            index -= 1
            covered += self.segments[index].duration
        return index


def is_hls(text: str) -> bool:
    """An extended M3U with HLS tags (plain .m3u station lists carry none)."""
    return text.lstrip("\ufeff").startswith("#EXTM3U") and "#EXT-X-" in text


def parse_playlist(text: str, base_url: str) -> MasterPlaylist | MediaPlaylist:
    """Parse an HLS playlist; relative URIs are resolved against `base_url`."""
    if not is_hls(text):
        raise PlaylistError("not an HLS playlist (no #EXTM3U header with #EXT-X- tags)")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if any(line.startswith("#EXT-X-STREAM-INF") for line in lines):
        return _parse_master(lines, base_url)
    return _parse_media(lines, base_url)


def _attributes(line: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in _ATTRIBUTE.findall(line.partition(":")[2])}


def _parse_master(lines: list[str], base_url: str) -> MasterPlaylist:
    variants, pending = [], None
    for line in lines:
        if line.startswith("#EXT-X-STREAM-INF"):
            pending = int(_attributes(line).get("BANDWIDTH", "0") or 0)
        elif not line.startswith("#") and pending is not None:
            variants.append(Variant(urljoin(base_url, line), pending))
            pending = None
    if not variants:
        raise PlaylistError("master playlist lists no variants")
    return MasterPlaylist(tuple(variants))


def _parse_media(lines: list[str], base_url: str) -> MediaPlaylist:
    target, sequence, ended = 0.0, 0, False
    segments: list[Segment] = []
    duration: float | None = None
    stamp: datetime | None = None
    key: SegmentKey | None = None
    key_tags: list[dict[str, str]] = []  # consecutive #EXT-X-KEY tags: alternatives for the next segments
    for line in lines:
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-TARGETDURATION":
            target = float(value)
        elif tag == "#EXT-X-MEDIA-SEQUENCE":
            sequence = int(value)
        elif tag == "#EXT-X-ENDLIST":
            ended = True
        elif tag == "#EXT-X-KEY":
            key_tags.append(_attributes(line))
        elif tag == "#EXT-X-PROGRAM-DATE-TIME":
            stamp = _parse_time(value)
        elif tag == "#EXTINF":
            duration = float(value.split(",")[0])
        elif not line.startswith("#"):
            if duration is None:
                raise PlaylistError(f"segment {line} has no #EXTINF duration")
            if key_tags:  # a key applies to every following segment, until the next #EXT-X-KEY
                key, key_tags = _segment_key(key_tags, base_url), []
            segments.append(Segment(urljoin(base_url, line), duration, sequence + len(segments), stamp, key))
            duration, stamp = None, None
    if target <= 0:
        target = max((s.duration for s in segments), default=0.0)
    if target <= 0:
        raise PlaylistError("media playlist has no #EXT-X-TARGETDURATION and no segments")
    return MediaPlaylist(target, tuple(segments), ended)


def _segment_key(tags: list[dict[str, str]], base_url: str) -> SegmentKey | None:
    """The key of the segments after `tags` (several tags in a row offer one key per KEYFORMAT, RFC 8216
    4.3.2.4): the "identity" one is used; a stream offering only DRM key formats is refused."""
    identity = [t for t in tags if t.get("KEYFORMAT", "identity") == "identity"]
    if not identity:
        formats = ", ".join(sorted({t.get("KEYFORMAT", "") for t in tags}))
        raise PlaylistError(f'HLS KEYFORMAT {formats} (DRM) is not supported, only "identity"')
    attributes = identity[-1]
    method = attributes.get("METHOD", "")
    if method == "NONE":
        return None
    if method != "AES-128":
        why = " (per-sample encryption inside the container)" if method.startswith("SAMPLE-AES") else ""
        raise PlaylistError(f"HLS encryption METHOD={method or '(missing)'}{why} is not supported, only AES-128")
    if not attributes.get("URI"):
        raise PlaylistError("HLS #EXT-X-KEY METHOD=AES-128 has no URI")
    return SegmentKey(method, urljoin(base_url, attributes["URI"]), _parse_iv(attributes.get("IV")))


def _parse_iv(value: str | None) -> bytes | None:
    """A 0x-prefixed hexadecimal IV as 16 bytes (shorter sequences are the same number, zero-padded)."""
    if value is None:
        return None
    digits = value[2:] if value[:2] in ("0x", "0X") else ""
    if not digits or len(digits) > 32 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise PlaylistError(f"HLS #EXT-X-KEY IV {value[:40]!r} is not a 0x-prefixed 128-bit hexadecimal number")
    return int(digits, 16).to_bytes(16, "big")


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None  # a bad date-time only costs the precise anchor; the wall clock still works
