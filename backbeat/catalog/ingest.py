"""Fetching the album queue from Spotify and ISRCs from MusicBrainz into source-recording rows.

Plain Python over the integration clients (no Dagster): the `catalog/spotify_recordings` and
`catalog/musicbrainz_recordings` assets call these, and so can a benchmark.

Spotify, per unit of 20 queued albums (one Get Several Albums request, then Get Several Tracks, then the
artists not known yet): a unit either completes, or leaves all its albums to be tried again (`retry`) when
the service failed after the client's own retries (5xx, rate limits, an open breaker). What each album becomes:

- `ingested`: the album and all its tracks were fetched and are written;
- `failed`, "not found at Spotify": Spotify answered null for the id;
- `failed`, "malformed payload: …": the album's own payload broke the documented shape (quarantined, nothing
  of it written); or some of its tracks did (those are quarantined, the album's other tracks are written);
- `retry`: stays queued with one more attempt, or fails once it has had `max_attempts`.

A malformed artist is quarantined without failing its albums (only the genre is missing).

Popularity, genres and label are deprecated at Spotify and left out for apps without extended access (the
client then also reads entity by entity): those rows keep them null and say why in `withheld`, e.g.
"popularity, genre: not provided by Spotify (extended access required)". Nothing fails for their absence.
"""

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from backbeat.common.quarantine import Reject
from backbeat.identifiers import normalise_isrc, parse_isrc_or_none
from integrations.musicbrainz import MusicBrainzClient, Recording
from integrations.resilience import IntegrationError, MalformedPayload
from integrations.spotify import Album, Artist, SpotifyCatalogClient, Track
from integrations.spotify.models import withheld_note

ALBUMS_PER_UNIT = 20  # one Get Several Albums request
NOT_FOUND = "not found at Spotify"
_BASE62_ID = re.compile(r"^[0-9A-Za-z]{22}$")

Status = Literal["ingested", "failed", "retry"]


@dataclass(frozen=True)
class AlbumOutcome:
    """What became of one album in this run; `reason` says why it failed or will be retried."""

    album_id: str
    status: Status
    reason: str | None = None


@dataclass
class SpotifyBatch:
    """Rows to write and albums' outcomes from one run over part of the queue."""

    outcomes: dict[str, AlbumOutcome] = field(default_factory=dict)
    recordings: list[dict] = field(default_factory=list)
    albums: list[dict] = field(default_factory=list)
    artists: list[dict] = field(default_factory=list)
    malformed: list[MalformedPayload] = field(default_factory=list)

    def extend(self, other: "SpotifyBatch") -> None:
        self.outcomes.update(other.outcomes)
        self.recordings.extend(other.recordings)
        self.albums.extend(other.albums)
        self.artists.extend(other.artists)
        self.malformed.extend(other.malformed)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes.values() if o.status == status)


def release_date(text: str | None, precision: str | None = None) -> date | None:
    """Spotify's release date ("2019", "2019-05", "2019-05-17") as a date: the first day of a less precise year
    or month; None when it is missing or not a date (Spotify writes "0000" for unknown)."""
    if not text:
        return None
    parts = text.split("-")
    try:
        numbers = [int(p) for p in parts[:3]]
        year, month, day = (*numbers, 1, 1)[:3]
        if precision == "year":
            month, day = 1, 1
        elif precision == "month":
            day = 1
        return date(year, month, day)
    except ValueError:
        return None


def malformed_reject(exc: MalformedPayload) -> Reject:
    """A quarantine row for a malformed payload: the entity as `service:entity:id`, the field, what is wrong with
    its value (the payload's own words, e.g. "is str 'x', expected an integer") and the full reason."""
    return Reject(f"{exc.service or 'api'}:{exc.entity}:{exc.entity_id}", None, exc.field, exc.problem, exc.reason)


def _credit(names: Iterable[str]) -> str:
    return ", ".join(names)


def _album_row(album: Album, now: datetime) -> dict:
    return {
        "source": "spotify",
        "album_id": album.id,
        "name": album.name,
        "album_type": album.album_type,
        "artist": _credit(a.name for a in album.artists),
        "release_date": release_date(album.release_date, album.release_date_precision),
        "release_date_precision": album.release_date_precision,
        "label": album.label,
        "upc": album.upc,
        "total_tracks": album.total_tracks,
        "withheld": withheld_note(album.withheld),
        "ingested_at": now,
    }


def _artist_row(artist: Artist, now: datetime) -> dict:
    return {
        "source": "spotify",
        "artist_id": artist.id,
        "name": artist.name,
        "genres": None if artist.genres is None else "; ".join(artist.genres),
        "popularity": artist.popularity,
        "withheld": withheld_note(artist.withheld),
        "ingested_at": now,
    }


def _recording_row(track: Track, album: Album, genres: Mapping[str, tuple[str, ...] | None], now: datetime) -> dict:
    first_genres = next((g for a in track.artists if (g := genres.get(a.id))), ())
    withheld = track.withheld
    if not first_genres and any(a.id in genres and genres[a.id] is None for a in track.artists):
        withheld = (*withheld, "genre")  # the artists' genres were left out, not empty
    return {
        "source": "spotify",
        "source_id": track.id,
        "isrc": track.isrc,
        "title": track.name,
        "artist": _credit(a.name for a in track.artists),
        "album": album.name,
        "album_id": album.id,
        "release_date": release_date(album.release_date, album.release_date_precision),
        "duration_ms": track.duration_ms,
        "explicit": track.explicit,
        "popularity": track.popularity,
        "genre": first_genres[0] if first_genres else None,
        "iswc": None,
        "withheld": withheld_note(withheld),
        "ingested_at": now,
    }


class _ArtistCache:
    """Genres of artists known before the run or fetched during it, shared by the units (thread-safe); None
    when Spotify withheld them."""

    def __init__(self, known: Mapping[str, tuple[str, ...] | None]) -> None:
        self._genres = dict(known)
        self._lock = threading.Lock()

    def missing(self, ids: Iterable[str]) -> list[str]:
        with self._lock:
            return sorted({i for i in ids if i not in self._genres})

    def add(self, genres: Mapping[str, tuple[str, ...] | None]) -> None:
        with self._lock:
            self._genres.update(genres)

    def snapshot(self) -> dict[str, tuple[str, ...] | None]:
        with self._lock:
            return dict(self._genres)


def _unit(client: SpotifyCatalogClient, album_ids: list[str], artists: _ArtistCache, now: datetime) -> SpotifyBatch:
    """One unit of up to 20 albums: albums, their tracks, new artists; a service failure retries the unit."""
    batch = SpotifyBatch()
    try:
        fetched = client.albums(album_ids)
        found = {a.id: a for a in fetched.found}
        album_of_track = {t: a.id for a in fetched.found for t in a.track_ids}
        tracks = client.tracks(list(album_of_track))
        missing = artists.missing(
            {ref.id for t in tracks.found for ref in t.artists} | {ref.id for a in fetched.found for ref in a.artists}
        )
        new_artists = client.artists(missing) if missing else None
    except MalformedPayload as exc:  # the clients catch these per entity; one escaping spoils the whole unit
        batch.malformed.append(exc)
        batch.outcomes = {i: AlbumOutcome(i, "failed", f"malformed payload: {exc.reason}") for i in album_ids}
        return batch
    except IntegrationError as exc:
        reason = f"{type(exc).__name__}: {exc}"
        batch.outcomes = {i: AlbumOutcome(i, "retry", reason) for i in album_ids}
        return batch

    for album_id in fetched.not_found:
        batch.outcomes[album_id] = AlbumOutcome(album_id, "failed", NOT_FOUND)
    for exc in fetched.malformed:
        batch.malformed.append(exc)
        batch.outcomes[exc.entity_id] = AlbumOutcome(exc.entity_id, "failed", f"malformed payload: {exc.reason}")

    if new_artists is not None:
        artists.add({a.id: a.genres for a in new_artists.found})
        artists.add(dict.fromkeys(new_artists.not_found, ()))
        artists.add({exc.entity_id: () for exc in new_artists.malformed})
        batch.malformed.extend(new_artists.malformed)
        batch.artists = [_artist_row(a, now) for a in new_artists.found]
    genres = artists.snapshot()

    problems: dict[str, list[str]] = {}
    for track_id in tracks.not_found:
        problems.setdefault(album_of_track[track_id], []).append(f"track {track_id} {NOT_FOUND}")
    for exc in tracks.malformed:
        batch.malformed.append(exc)
        album_id = album_of_track.get(exc.entity_id)
        if album_id is not None:
            problems.setdefault(album_id, []).append(exc.reason)
    for track in tracks.found:
        batch.recordings.append(_recording_row(track, found[album_of_track[track.id]], genres, now))
    for album in fetched.found:
        batch.albums.append(_album_row(album, now))
        issues = problems.get(album.id)
        if issues:
            reason = (
                f"malformed payload: {len(issues)} of {album.total_tracks} tracks quarantined, the others "
                f"ingested; first: {issues[0]}"
            )
            batch.outcomes[album.id] = AlbumOutcome(album.id, "failed", reason)
        else:
            batch.outcomes[album.id] = AlbumOutcome(album.id, "ingested")
    for album_id in album_ids:  # an id missing from every list would be a client bug; never lose it silently
        batch.outcomes.setdefault(album_id, AlbumOutcome(album_id, "retry", "no answer for this album"))
    return batch


def fetch_albums(
    client: SpotifyCatalogClient,
    album_ids: list[str],
    known_artists: Mapping[str, tuple[str, ...] | None],
    *,
    now: datetime,
    workers: int = 4,
    progress: Callable[[int, int], object] | None = None,
) -> SpotifyBatch:
    """Albums, tracks and new artists for `album_ids`, in units of 20 run by a small thread pool.

    `known_artists` (artist id → genres) are not fetched again. Every request of every worker takes a token
    from the credential's one bucket, so the pool cannot outrun the client's rate limit.
    """
    result = SpotifyBatch()
    valid = []
    for album_id in dict.fromkeys(album_ids):
        if _BASE62_ID.match(album_id):
            valid.append(album_id)
        else:  # the queue asset only queues valid ids; a row written by hand must not stop the batch
            result.outcomes[album_id] = AlbumOutcome(album_id, "failed", f"{album_id!r} is not a Spotify album id")
    units = [valid[i : i + ALBUMS_PER_UNIT] for i in range(0, len(valid), ALBUMS_PER_UNIT)]
    cache = _ArtistCache(known_artists)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="spotify-unit") as pool:
        for done, batch in enumerate(pool.map(lambda ids: _unit(client, ids, cache, now), units), start=1):
            result.extend(batch)
            if progress is not None:
                progress(done, len(units))
    return result


def queue_updates(
    rows: Iterable[Mapping], outcomes: Mapping[str, AlbumOutcome], *, max_attempts: int, now: datetime
) -> list[dict]:
    """The queue rows of the albums this run tried, with their new status, reason and attempt count.

    A `retry` stays `queued` (its reason says what went wrong) until the album has had `max_attempts`.
    """
    updated = []
    for row in rows:
        outcome = outcomes.get(row["album_id"])
        if outcome is None:
            continue
        attempts = int(row.get("attempts") or 0) + 1
        status, reason = outcome.status, outcome.reason
        if status == "retry":
            if attempts >= max_attempts:
                status, reason = "failed", f"{reason} (gave up after {attempts} attempts)"
            else:
                status, reason = "queued", f"attempt {attempts} failed: {reason}"
        updated.append({**row, "status": status, "reason": reason, "attempts": attempts, "updated_at": now})
    return updated


# ---- MusicBrainz ------------------------------------------------------------------------------------------


@dataclass
class MusicBrainzBatch:
    """Lookups made (misses and malformed answers included), recordings found, and why a run stopped early."""

    lookups: list[dict] = field(default_factory=list)
    recordings: list[dict] = field(default_factory=list)
    malformed: list[MalformedPayload] = field(default_factory=list)
    interrupted: str | None = None


def _musicbrainz_row(recording: Recording, isrc: str, now: datetime) -> dict:
    iswc = next((code for work in recording.works for code in work.iswcs), None)
    return {
        "source": "musicbrainz",
        "source_id": recording.id,
        "isrc": isrc,
        "title": recording.title,
        "artist": recording.artist_credit,
        "album": None,
        "album_id": None,
        "release_date": None,
        "duration_ms": recording.length_ms,
        "explicit": None,
        "popularity": None,
        "genre": None,
        "iswc": iswc,
        "withheld": None,
        "ingested_at": now,
    }


def valid_isrcs(values: Iterable[str | None]) -> list[str]:
    """Distinct normalised ISRCs, sorted; values that are not ISRCs are left out."""
    return sorted({isrc for value in values if (isrc := parse_isrc_or_none(value))})


def lookup_isrcs(client: MusicBrainzClient, isrcs: Iterable[str], *, now: datetime) -> MusicBrainzBatch:
    """Recordings (with their works' ISWCs) for each ISRC, one request each at the client's rate.

    A miss is a lookup too (status `not_found`), so it is never asked again; a malformed answer is recorded as
    `malformed` with its reason (and quarantined by the caller). When the service fails beyond the client's
    retries the run stops there (`interrupted`): what was looked up is kept, the rest waits for the next run.
    ISRCs are normalised here (the client sends them as given); one that is not an ISRC raises IdentifierError.
    """
    batch = MusicBrainzBatch()
    for isrc in map(normalise_isrc, isrcs):
        try:
            recordings = client.recordings_by_isrc(isrc)
        except MalformedPayload as exc:
            batch.malformed.append(exc)
            batch.lookups.append(
                {"isrc": isrc, "status": "malformed", "recordings": 0, "reason": exc.reason, "looked_up_at": now}
            )
            continue
        except IntegrationError as exc:
            batch.interrupted = f"{type(exc).__name__} at ISRC {isrc}: {exc}"
            break
        batch.lookups.append(
            {
                "isrc": isrc,
                "status": "found" if recordings else "not_found",
                "recordings": len(recordings),
                "reason": None,
                "looked_up_at": now,
            }
        )
        batch.recordings.extend(_musicbrainz_row(r, isrc, now) for r in recordings)
    return batch
