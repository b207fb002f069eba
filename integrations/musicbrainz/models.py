"""What the MusicBrainz client returns: frozen dataclasses parsed and validated from WS/2 JSON."""

import re
from dataclasses import dataclass

from integrations.resilience.errors import MalformedPayload
from integrations.resilience.payload import Payload

SERVICE = "musicbrainz"
_ISWC = re.compile(r"^T-?\d{3}\.?\d{3}\.?\d{3}-?\d$")
_MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PERFORMANCE = "performance"
WRITER_ROLES = frozenset({"composer", "lyricist", "writer", "librettist", "arranger", "translator"})


@dataclass(frozen=True)
class ArtistCredit:
    """One name in an artist credit: the artist, the name printed on the recording, and the joining phrase."""

    artist_id: str
    artist_name: str
    credited_as: str
    join_phrase: str


@dataclass(frozen=True)
class WorkRef:
    """A work a recording performs (`performance` relationship), with its ISWCs as MusicBrainz lists them."""

    id: str
    title: str
    iswcs: tuple[str, ...]


@dataclass(frozen=True)
class Recording:
    id: str
    title: str
    length_ms: int | None
    artist_credits: tuple[ArtistCredit, ...]
    works: tuple[WorkRef, ...]

    @property
    def artist_credit(self) -> str:
        """The credit as printed: "A feat. B"."""
        return "".join(c.credited_as + c.join_phrase for c in self.artist_credits)


@dataclass(frozen=True)
class Writer:
    artist_id: str
    name: str
    role: str


@dataclass(frozen=True)
class Work:
    id: str
    title: str
    iswcs: tuple[str, ...]
    language: str | None
    writers: tuple[Writer, ...]


def _payload(doc: object, entity: str, entity_id: str) -> Payload:
    return Payload(doc, service=SERVICE, entity=entity, entity_id=entity_id)


def _mbid(p: Payload, key: str = "id") -> str:
    value = p.text(key)
    if not _MBID.match(value):
        raise p.error(key, f"is {value!r}, not an MBID")
    return value


def _iswcs(p: Payload) -> tuple[str, ...]:
    values = p.texts("iswcs", optional=True)
    for i, value in enumerate(values):
        if not _ISWC.match(value):
            raise p.error(f"iswcs[{i}]", f"is {value!r}, not an ISWC (T-ddd.ddd.ddd-c)")
    return values


def parse_recording(p: Payload, *, with_credits: bool = True) -> Recording:
    credits = tuple(
        ArtistCredit(_mbid(artist), artist.text("name"), c.text("name"), c.text("joinphrase", allow_empty=True))
        for c in p.objects("artist-credit", optional=not with_credits)
        for artist in [c.obj("artist")]
        if artist is not None
    )
    if with_credits and not credits:
        raise p.error("artist-credit", "is empty")
    works = []
    for rel in p.objects("relations", optional=True):
        if rel.text("target-type") != "work" or rel.text("type") != PERFORMANCE:
            continue
        work = rel.obj("work")
        works.append(WorkRef(_mbid(work), work.text("title"), _iswcs(work)))  # type: ignore[arg-type]
    return Recording(_mbid(p), p.text("title"), p.integer("length", optional=True, minimum=0), credits, tuple(works))


def parse_isrc_lookup(doc: object, isrc: str) -> list[Recording]:
    """The recordings of an `/isrc/{isrc}` answer; a payload for a different ISRC is malformed."""
    p = _payload(doc, "isrc", isrc)
    if p.text("isrc") != isrc:
        raise p.error("isrc", f"is {p.text('isrc')!r}, expected {isrc!r}")
    return [parse_recording(r) for r in p.objects("recordings")]


def parse_recording_lookup(doc: object, mbid: str) -> Recording:
    p = _payload(doc, "recording", mbid)
    recording = parse_recording(p)
    if recording.id != mbid:
        raise p.error("id", f"is {recording.id!r}, expected {mbid!r}")
    return recording


def parse_work(doc: object, mbid: str) -> Work:
    p = _payload(doc, "work", mbid)
    if _mbid(p) != mbid:
        raise p.error("id", f"is {p.text('id')!r}, expected {mbid!r}")
    writers = []
    for rel in p.objects("relations", optional=True):
        if rel.text("target-type") == "artist" and rel.text("type") in WRITER_ROLES:
            artist = rel.obj("artist")
            writers.append(Writer(_mbid(artist), artist.text("name"), rel.text("type")))  # type: ignore[arg-type]
    return Work(mbid, p.text("title"), _iswcs(p), p.text("language", optional=True), tuple(writers))


def check_mbid(value: str, entity: str) -> str:
    if not _MBID.match(value):
        raise ValueError(f"{entity} id {value!r} is not an MBID")
    return value


__all__ = ["ArtistCredit", "MalformedPayload", "Recording", "Work", "WorkRef", "Writer"]
