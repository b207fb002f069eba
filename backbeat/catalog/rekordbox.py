"""Export the library to Rekordbox's XML format without losing what the DJ did to the previous export.

The file is built with pyrekordbox's ``RekordboxXml`` (DJ_PLAYLISTS → PRODUCT, COLLECTION/TRACK, PLAYLISTS/NODE).
When a previous export exists (by default: the file about to be overwritten), each library track is matched to
its previous TRACK by Location, else by TrackID, and keeps:

- every POSITION_MARK (memory cues, hot cues with their colours, loops), copied element for element;
- every attribute Backbeat does not own (Rating, Colour, Comments, PlayCount, DateAdded, Grouping, Label, Mix …);
- its TEMPO beat grid, unless Backbeat's BPM for the track changed (a grid for the old tempo would be wrong);
- its TrackID, so playlists keyed by TrackID still point at it.

Backbeat owns, and always rewrites: Name, Artist, Album, Genre, Kind, TotalTime, AverageBpm, Tonality, Location.
Playlists Backbeat exports are rebuilt; the previous file's other top-level playlists and folders are kept, minus
entries for tracks that left the library. Tracks no longer in the library are dropped, with their cues.

TrackIDs: a numeric Backbeat track id is used as is; otherwise a stable 31-bit hash of the id (so a re-export
finds the same TrackID even when the file moved), probing upwards on a collision.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import polars as pl

from backbeat.catalog.dj import Key, KeyParseError
from backbeat.common.human_exports import xml_text

# pyrekordbox's import runs `warnings.simplefilter("always", DeprecationWarning)` for the whole process, which
# would print every deprecation in every library on every call: keep its filters from leaking.
with warnings.catch_warnings():
    from pyrekordbox.rbxml import Node, RekordboxXml, Track, encode_path

PRODUCT_NAME = "Backbeat"
PRODUCT_VERSION = "1.0"
PRODUCT_COMPANY = "Backbeat"

OWNED_ATTRIBUTES = frozenset(
    {"TrackID", "Name", "Artist", "Album", "Genre", "Kind", "TotalTime", "AverageBpm", "Tonality", "Location"}
)
_KIND_BY_SUFFIX = {
    ".mp3": "MP3 File",
    ".wav": "WAV File",
    ".aif": "AIFF File",
    ".aiff": "AIFF File",
    ".flac": "FLAC File",
    ".m4a": "M4A File",
    ".mp4": "M4A File",
    ".aac": "AAC File",
    ".ogg": "OGG File",
}
_BPM_TOLERANCE = 0.005


class RekordboxExportError(Exception):
    """The export cannot be written safely (for example the previous export is not readable XML)."""


@dataclass(frozen=True)
class DjTrack:
    """One library track as the export needs it. ``location`` is the audio file's absolute path."""

    track_id: str
    title: str
    location: str | Path
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    duration_s: float | None = None
    bpm: float | None = None
    key: str | None = None


@dataclass
class ExportReport:
    """What an export did: counts a Dagster asset can put in its metadata."""

    path: Path
    tracks: int = 0
    new_tracks: int = 0
    kept_tracks: int = 0
    removed_tracks: int = 0
    kept_cues: int = 0
    bpm_changed: int = 0
    unparsed_keys: list[str] = field(default_factory=list)


def tracks_from_frame(frame: pl.DataFrame) -> list[DjTrack]:
    """``DjTrack``s from a frame with columns track_id, title, location and optional artist, album, genre,
    duration_ms or duration_s, bpm (or tempo_bpm), key."""
    rows = []
    for row in frame.iter_rows(named=True):
        duration = row.get("duration_s")
        if duration is None and row.get("duration_ms") is not None:
            duration = row["duration_ms"] / 1000.0
        rows.append(
            DjTrack(
                track_id=str(row["track_id"]),
                title=row["title"],
                location=row["location"],
                artist=row.get("artist"),
                album=row.get("album"),
                genre=row.get("genre"),
                duration_s=duration,
                bpm=row.get("bpm", row.get("tempo_bpm")),
                key=row.get("key"),
            )
        )
    return rows


def _url_path(location: str | Path) -> str:
    # pyrekordbox's encode_path prepends "file://localhost/" to what it is given, so an absolute POSIX path
    # would come out as "file://localhost//Users/…"; Rekordbox itself writes one slash.
    text = str(location)
    if PureWindowsPath(text).drive:
        return text
    return str(PurePosixPath(text)).lstrip("/")


def location_url(location: str | Path) -> str:
    """The file URL Rekordbox writes: ``file://localhost/Users/…`` (macOS) or ``file://localhost/C:/…``."""
    return encode_path(_url_path(location))


def stable_track_id(track_id: str) -> int:
    """Rekordbox TrackID for a Backbeat track id: the number itself, or a stable positive 31-bit hash."""
    if track_id.isdigit() and 0 < int(track_id) < 2**31:
        return int(track_id)
    digest = hashlib.blake2b(track_id.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % (2**31 - 1) + 1


@dataclass
class _Previous:
    """The previous export, read with ElementTree so raw attribute strings and child elements survive."""

    tracks: list[ET.Element]
    by_location: dict[str, ET.Element]
    by_id: dict[int, ET.Element]
    playlist_root: ET.Element | None


def _read_previous(path: Path) -> _Previous | None:
    if not path.exists():
        return None
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise RekordboxExportError(f"{path}: previous export is not valid XML ({exc}); not overwriting it") from exc
    collection = root.find("COLLECTION")
    if root.tag != "DJ_PLAYLISTS" or collection is None:
        raise RekordboxExportError(f"{path}: not a Rekordbox XML file (no DJ_PLAYLISTS/COLLECTION); not overwriting")
    tracks = collection.findall("TRACK")
    by_id = {}
    for element in tracks:
        try:
            by_id[int(element.get("TrackID", ""))] = element
        except ValueError:
            continue
    by_location = {element.get("Location", ""): element for element in tracks if element.get("Location")}
    playlists = root.find("PLAYLISTS")
    return _Previous(tracks, by_location, by_id, playlists.find("NODE") if playlists is not None else None)


def _float_attr(element: ET.Element, name: str) -> float | None:
    try:
        value = float(element.get(name, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _owned_attributes(track: DjTrack, report: ExportReport) -> dict[str, str]:
    attrs: dict[str, str] = {"Name": xml_text(track.title)}
    for name, value in (("Artist", track.artist), ("Album", track.album), ("Genre", track.genre)):
        if value:
            attrs[name] = xml_text(str(value))
    kind = _KIND_BY_SUFFIX.get(Path(str(track.location)).suffix.lower())
    if kind:
        attrs["Kind"] = kind
    if track.duration_s is not None:
        attrs["TotalTime"] = str(int(round(track.duration_s)))
    if track.bpm is not None and track.bpm > 0:
        attrs["AverageBpm"] = f"{track.bpm:.2f}"
    if track.key:
        try:
            attrs["Tonality"] = Key.parse(track.key).short
        except KeyParseError:
            report.unparsed_keys.append(track.track_id)
    return attrs


def _assign_ids(
    tracks: Sequence[DjTrack], urls: Sequence[str], previous: _Previous | None
) -> tuple[list[int], list[ET.Element | None]]:
    """TrackID and matched previous TRACK per library track: Location matches first, then TrackID matches."""
    matched: list[ET.Element | None] = [None] * len(tracks)
    ids: list[int | None] = [None] * len(tracks)
    taken: set[int] = set()
    claimed: set[int] = set()  # id() of previous elements already matched
    if previous is not None:
        for i, url in enumerate(urls):
            element = previous.by_location.get(url)
            if element is not None and id(element) not in claimed:
                prev_id = int(element.get("TrackID", "0") or 0)
                if prev_id > 0 and prev_id not in taken:
                    matched[i], ids[i] = element, prev_id
                    taken.add(prev_id)
                    claimed.add(id(element))
        for i, track in enumerate(tracks):
            if matched[i] is not None:
                continue
            wanted = stable_track_id(track.track_id)
            element = previous.by_id.get(wanted)
            if element is not None and id(element) not in claimed and wanted not in taken:
                matched[i], ids[i] = element, wanted
                taken.add(wanted)
                claimed.add(id(element))
    for i, track in enumerate(tracks):
        if ids[i] is None:
            candidate = stable_track_id(track.track_id)
            while candidate in taken:
                candidate = candidate % (2**31 - 1) + 1
            ids[i] = candidate
            taken.add(candidate)
    return [int(i) for i in ids if i is not None], matched


def _track_element(track: Track) -> ET.Element:
    # pyrekordbox has no public way to attach a raw child element, and its PositionMark drops the hot-cue
    # colour attributes (Red, Green, Blue), so previous children are copied onto the element directly.
    return track._element


def _copy_nodes(nodes: Iterable[ET.Element], target: Node, keep_keys: set[str], keep_urls: set[str]) -> None:
    """Rebuild previous playlist folders and playlists under ``target``, keeping entries still in the library."""
    for child in nodes:
        name = child.get("Name", "")
        if child.get("Type") == "0":
            _copy_nodes(child.findall("NODE"), target.add_playlist_folder(name), keep_keys, keep_urls)
            continue
        keytype = "Location" if child.get("KeyType") == "1" else "TrackID"
        playlist = target.add_playlist(name, keytype=keytype)
        allowed = keep_urls if keytype == "Location" else keep_keys
        for entry in child.findall("TRACK"):
            key = entry.get("Key", "")
            if key in allowed:
                playlist.add_track(key)


def export_rekordbox_xml(
    tracks: Iterable[DjTrack] | pl.DataFrame,
    path: str | Path,
    playlists: Mapping[str, Sequence[str]] | None = None,
    previous: str | Path | None = None,
) -> ExportReport:
    """Write ``tracks`` (and ``playlists``: name → Backbeat track ids, in order) as Rekordbox XML at ``path``.

    ``previous`` is the export whose cues and DJ-set fields are kept (default: ``path`` if it exists). The new
    file is written next to ``path`` and moved over it, so a failed export never leaves a half-written file.
    Raises ``RekordboxExportError`` when the previous export is unreadable (rather than overwrite a DJ's cues)
    and ``ValueError`` for duplicate track ids or locations.
    """
    path = Path(path)
    library = tracks_from_frame(tracks) if isinstance(tracks, pl.DataFrame) else list(tracks)
    report = ExportReport(path=path)
    previous_data = _read_previous(Path(previous) if previous is not None else path)
    urls = [location_url(t.location) for t in library]
    if len({t.track_id for t in library}) != len(library):
        raise ValueError("duplicate track_id in the library")
    if len(set(urls)) != len(urls):
        raise ValueError("two library tracks share one file location")
    ids, matched = _assign_ids(library, urls, previous_data)

    doc = RekordboxXml(name=PRODUCT_NAME, version=PRODUCT_VERSION, company=PRODUCT_COMPANY)
    rekordbox_id: dict[str, int] = {}
    for track, track_id, old in zip(library, ids, matched, strict=True):
        attrs: dict[str, Any] = {"TrackID": track_id}
        kept = {} if old is None else {k: v for k, v in old.attrib.items() if k not in OWNED_ATTRIBUTES}
        attrs.update({k: v for k, v in kept.items() if k in Track.ATTRIBS})
        attrs.update(_owned_attributes(track, report))
        element = _track_element(doc.add_track(_url_path(track.location), **attrs))
        for key, value in kept.items():  # attributes newer than pyrekordbox's model survive too
            if key not in Track.ATTRIBS:
                element.set(key, value)
        rekordbox_id[track.track_id] = track_id
        if old is None:
            report.new_tracks += 1
            continue
        report.kept_tracks += 1
        old_bpm, new_bpm = _float_attr(old, "AverageBpm"), track.bpm
        bpm_changed = new_bpm is not None and (old_bpm is None or abs(old_bpm - new_bpm) > _BPM_TOLERANCE)
        report.bpm_changed += int(bpm_changed and old_bpm is not None)
        for child in old:
            if child.tag == "TEMPO" and bpm_changed:
                continue
            report.kept_cues += int(child.tag == "POSITION_MARK")
            element.append(copy.deepcopy(child))
    report.tracks = len(library)
    if previous_data is not None:
        report.removed_tracks = len(previous_data.tracks) - report.kept_tracks

    ours = dict(playlists or {})
    for name, members in ours.items():
        node = doc.add_playlist(name, keytype="TrackID")
        for member in members:
            if member not in rekordbox_id:
                raise ValueError(f"playlist {name!r} names track {member!r}, which is not in the library")
            node.add_track(rekordbox_id[member])
    if previous_data is not None and previous_data.playlist_root is not None:
        others = [n for n in previous_data.playlist_root.findall("NODE") if n.get("Name") not in ours]
        _copy_nodes(others, doc.root_playlist_folder, {str(i) for i in ids}, set(urls))

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    doc.save(str(tmp))
    os.replace(tmp, path)
    return report
