"""The demo catalog: artists, works and recordings (tracks), and the audio of the first recordings.

Every work is one composition; two works get a second recording (a remix) with the same notes but another
tempo and sound. Tracks `TRK0001`..`TRK{tracks_with_audio}` have audio files, in a rotating mix of OGG, FLAC
and WAV, so the airplay streams can only ever play those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from backbeat.demo import identifiers, music, names
from backbeat.demo.seeding import rng_for

AUDIO_FORMATS = ("ogg", "flac", "wav")
_LABELS = (("NL", "BB1"), ("GB", "QX7"), ("DE", "B7M"))  # ISRC country + registrant
_REMIX_NAMES = ("Night Drive Remix", "Club Mix", "Dub Version", "Sunrise Edit")
FIRST_RELEASE = date(2012, 1, 1)


@dataclass(frozen=True)
class Artist:
    artist_id: str
    name: str
    country: str


@dataclass(frozen=True)
class Work:
    """A composition; `number` feeds its ISWC and its musical content."""

    work_id: str
    number: int
    title: str


@dataclass(frozen=True)
class Track:
    """A recording of a work. `audio_format` is None for tracks without an audio file."""

    track_id: str
    isrc: str
    title: str
    artist_id: str
    album: str
    release_date: date
    duration_ms: int
    genre: str
    explicit: bool
    popularity: int
    work_id: str
    audio_format: str | None

    @property
    def audio_path(self) -> str:
        """Relative to the folder of tracks.csv, empty without audio."""
        return f"audio/{self.track_id}.{self.audio_format}" if self.audio_format else ""


@dataclass(frozen=True)
class Catalog:
    artists: tuple[Artist, ...]
    works: tuple[Work, ...]
    tracks: tuple[Track, ...]
    remixed_work_ids: tuple[str, ...]

    @property
    def tracks_with_audio(self) -> tuple[Track, ...]:
        return tuple(t for t in self.tracks if t.audio_format)


def build_catalog(seed: int, *, n_artists: int, n_tracks: int, tracks_with_audio: int, before: date) -> Catalog:
    """Artists `ART001`.., tracks `TRK0001`.., works `WRK0001`..; everything released before `before`."""
    taken: set[str] = set()
    artists = []
    for i in range(1, n_artists + 1):
        rng = rng_for(seed, "artist", i)
        draw = (lambda r=rng: names.person(r)) if rng.random() < 0.5 else (lambda r=rng: names.band(r))
        artists.append(Artist(f"ART{i:03d}", names.unique(draw, taken), names.pick(rng, names.COUNTRIES)))
    albums = {a.artist_id: _albums(seed, a.artist_id, taken) for a in artists}

    # Two tracks re-record earlier works: track 4 remixes track 1's work, the last remixes track 2's.
    remix_of = {4: 1, n_tracks: 2}
    weights = 1.0 / np.sqrt(np.arange(1, n_artists + 1))
    works: list[Work] = []
    tracks: list[Track] = []
    for i in range(1, n_tracks + 1):
        rng = rng_for(seed, "track", i)
        audio_format = AUDIO_FORMATS[(i - 1) % len(AUDIO_FORMATS)] if i <= tracks_with_audio else None
        duration_ms = int(rng.integers(60_000, 180_001))
        days = (before - FIRST_RELEASE).days
        if i in remix_of:
            original = tracks[remix_of[i] - 1]
            genre = "house" if original.genre != "house" else "pop"
            artist_id, work_id = original.artist_id, original.work_id
            title = f"{original.title} ({names.pick(rng, _REMIX_NAMES)})"
            album = f"{original.title} (Remixes)"
            release = original.release_date + timedelta(days=int(rng.integers(30, 400)))
            release = min(release, before - timedelta(days=1))
        else:
            genre = names.pick(rng, music.GENRES)
            artist_id = artists[int(rng.choice(n_artists, p=weights / weights.sum()))].artist_id
            number = len(works) + 1
            work = Work(f"WRK{number:04d}", number, names.unique(lambda r=rng: names.title(r), taken))
            works.append(work)
            work_id, title = work.work_id, work.title
            album = names.pick(rng, albums[artist_id])
            release = FIRST_RELEASE + timedelta(days=int(rng.integers(0, days - 30)))
        country, registrant = _LABELS[int(artist_id[3:]) % len(_LABELS)]
        tracks.append(
            Track(
                track_id=f"TRK{i:04d}",
                isrc=identifiers.isrc(country, registrant, release.year, i),
                title=title,
                artist_id=artist_id,
                album=album,
                release_date=release,
                duration_ms=duration_ms,
                genre=genre,
                explicit=bool(rng.random() < (0.35 if genre in ("hip-hop", "rock") else 0.05)),
                popularity=int(round(100 * rng.beta(2.0, 2.5))),
                work_id=work_id,
                audio_format=audio_format,
            )
        )
    remixed = tuple(tracks[original - 1].work_id for original in remix_of.values())
    return Catalog(tuple(artists), tuple(works), tuple(tracks), remixed)


def _albums(seed: int, artist_id: str, taken: set[str]) -> tuple[str, ...]:
    rng = rng_for(seed, "albums", artist_id)
    return tuple(names.unique(lambda: names.title(rng), taken) for _ in range(int(rng.integers(1, 3))))


def render_track(seed: int, track: Track, sr: int = music.MUSIC_SR) -> np.ndarray:
    """The track's audio: its work's composition played by its own production, exactly `duration_ms` long."""
    composition = music.compose(rng_for(seed, "composition", track.work_id))
    production = music.produce(rng_for(seed, "production", track.track_id), track.genre)
    n_samples = int(round(track.duration_ms * sr / 1000))
    return music.render(composition, production, n_samples, sr, rng_for(seed, "performance", track.track_id))
