"""What the Spotify client returns: plain frozen dataclasses, parsed and validated from the Web API's JSON."""

import re
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from integrations.resilience.errors import MalformedPayload
from integrations.resilience.payload import Payload

SERVICE = "spotify"
WITHHELD = "not provided by Spotify (extended access required)"  # provenance of a deprecated field left out
_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")
T = TypeVar("T")


@dataclass(frozen=True)
class ArtistRef:
    id: str
    name: str


@dataclass(frozen=True)
class AlbumTrack:
    """A track as listed on its album (no ISRC or popularity: those need `tracks()`)."""

    id: str
    name: str
    disc_number: int
    track_number: int
    duration_ms: int
    explicit: bool
    artists: tuple[ArtistRef, ...]


@dataclass(frozen=True)
class Album:
    """An album with every track, all pages followed (`len(tracks) == total_tracks` is checked)."""

    id: str
    name: str
    album_type: str
    release_date: str
    release_date_precision: str
    label: str | None
    upc: str | None
    total_tracks: int
    artists: tuple[ArtistRef, ...]
    tracks: tuple[AlbumTrack, ...]
    withheld: tuple[str, ...] = ()  # deprecated fields the answer left out (`label`)

    @property
    def track_ids(self) -> list[str]:
        return [t.id for t in self.tracks]


@dataclass(frozen=True)
class Track:
    """A full track: ISRC (None when Spotify has none; upper-cased, hyphens removed), duration, explicit,
    popularity 0–100 (None when Spotify leaves out this deprecated field; then `withheld` names it)."""

    id: str
    name: str
    album_id: str
    isrc: str | None
    duration_ms: int
    explicit: bool
    popularity: int | None
    disc_number: int
    track_number: int
    artists: tuple[ArtistRef, ...]
    withheld: tuple[str, ...] = ()


@dataclass(frozen=True)
class Artist:
    """A full artist; `genres` and `popularity` are deprecated and None when left out (named in `withheld`)."""

    id: str
    name: str
    genres: tuple[str, ...] | None
    popularity: int | None
    withheld: tuple[str, ...] = ()


@dataclass
class Fetched(Generic[T]):
    """A batch result: what was found, ids Spotify does not know (null in the answer), and entities whose
    payload broke the documented shape — each a `MalformedPayload` whose `.reason` names id and field, so the
    caller quarantines them and keeps the rest."""

    found: list[T] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    malformed: list[MalformedPayload] = field(default_factory=list)

    def extend(self, other: "Fetched[T]") -> None:
        self.found.extend(other.found)
        self.not_found.extend(other.not_found)
        self.malformed.extend(other.malformed)


def _payload(doc: object, entity: str, entity_id: str, path: str = "") -> Payload:
    return Payload(doc, service=SERVICE, entity=entity, entity_id=entity_id, path=path)


def _artists(p: Payload, key: str = "artists") -> tuple[ArtistRef, ...]:
    refs = tuple(ArtistRef(a.text("id"), a.text("name")) for a in p.objects(key))
    if not refs:
        raise p.error(key, "is empty")
    return refs


def _withheld(doc: object, *fields: str) -> tuple[str, ...]:
    """The deprecated `fields` absent (or null) in `doc`; one present with a wrong type is still malformed."""
    return tuple(f for f in fields if not isinstance(doc, dict) or doc.get(f) is None)


def withheld_note(fields: tuple[str, ...]) -> str | None:
    """Provenance for a row: which fields are null because Spotify did not provide them, or None."""
    return f"{', '.join(fields)}: {WITHHELD}" if fields else None


def _check_id(p: Payload, expected: str) -> str:
    got = p.text("id")
    if got != expected:
        raise p.error("id", f"is {got!r}, expected {expected!r}")
    return got


def parse_album_track(p: Payload) -> AlbumTrack:
    return AlbumTrack(
        p.text("id"),
        p.text("name"),
        p.integer("disc_number", minimum=0),
        p.integer("track_number", minimum=0),
        p.integer("duration_ms", minimum=0),
        p.flag("explicit"),
        _artists(p),
    )


def parse_tracks_page(p: Payload) -> tuple[list[AlbumTrack], str | None, int]:
    """(tracks, next URL, total) from a paging object of simplified tracks."""
    return (
        [parse_album_track(item) for item in p.objects("items")],
        p.text("next", optional=True),
        p.integer("total", minimum=0),
    )


def parse_album_head(doc: object, album_id: str) -> tuple[Payload, list[AlbumTrack], str | None]:
    """The album's own fields validated, its first tracks page parsed, and the next page's URL."""
    p = _payload(doc, "album", album_id)
    _check_id(p, album_id)
    tracks, next_url, _ = parse_tracks_page(p.obj("tracks"))  # type: ignore[arg-type]
    return p, tracks, next_url


def build_album(p: Payload, tracks: list[AlbumTrack]) -> Album:
    """The album from its validated head and every track; a short track list is an error, not a silent loss."""
    total = p.integer("total_tracks", minimum=0)
    if len(tracks) != total:
        raise p.error("tracks", f"has {len(tracks)} tracks over all pages, but total_tracks is {total}")
    external = p.obj("external_ids", optional=True)
    return Album(
        p.text("id"),
        p.text("name"),
        p.text("album_type"),
        p.text("release_date"),
        p.text("release_date_precision"),
        p.text("label", optional=True, allow_empty=True),
        external.text("upc", optional=True) if external else None,
        total,
        _artists(p),
        tuple(tracks),
        _withheld(p.data, "label"),
    )


def parse_track(doc: object, track_id: str) -> Track:
    p = _payload(doc, "track", track_id)
    _check_id(p, track_id)
    external = p.obj("external_ids", optional=True)
    isrc = external.text("isrc", optional=True) if external else None
    if isrc is not None:
        isrc = isrc.replace("-", "").strip().upper()
        if not _ISRC.match(isrc):
            raise external.error("isrc", f"is {isrc!r}, not an ISRC (CC-XXX-YY-NNNNN)")  # type: ignore[union-attr]
    album = p.obj("album")
    assert album is not None  # obj() without optional=True raises instead of returning None
    return Track(
        track_id,
        p.text("name"),
        album.text("id"),
        isrc,
        p.integer("duration_ms", minimum=0),
        p.flag("explicit"),
        p.integer("popularity", optional=True, minimum=0, maximum=100),
        p.integer("disc_number", minimum=0),
        p.integer("track_number", minimum=0),
        _artists(p),
        _withheld(doc, "popularity"),
    )


def parse_artist(doc: object, artist_id: str) -> Artist:
    p = _payload(doc, "artist", artist_id)
    _check_id(p, artist_id)
    withheld = _withheld(doc, "genres", "popularity")
    genres = None if "genres" in withheld else p.texts("genres")
    return Artist(
        artist_id, p.text("name"), genres, p.integer("popularity", optional=True, minimum=0, maximum=100), withheld
    )


def envelope(doc: object, key: str, ids: list[str]) -> list[object]:
    """The list under `key` of a Get Several answer, one entry (or null) per requested id, in order."""
    where = f"GET {key}?ids={ids[0]}…(+{len(ids) - 1})" if len(ids) > 1 else f"GET {key}?ids={ids[0]}"
    p = _payload(doc, "response", where)
    items = p.array(key)
    if len(items) != len(ids):
        raise p.error(key, f"has {len(items)} entries for {len(ids)} requested ids")
    return items
