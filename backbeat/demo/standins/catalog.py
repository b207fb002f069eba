"""A generated in-memory catalog both fakes serve: Spotify albums/tracks/artists and their MusicBrainz side.

Records are compact slotted dataclasses (10,000 albums ≈ 110,000 tracks fit in a few tens of MB); the
servers build each JSON document on demand. Everything is derived from `seed`, so two runs agree.
"""

import random
import string
import uuid
from dataclasses import dataclass, field

_BASE62 = string.digits + string.ascii_letters
_GENRES = (
    "pop",
    "indie rock",
    "afrobeats",
    "techno",
    "jazz",
    "soul",
    "hip hop",
    "folk",
    "ambient",
    "latin pop",
    "drum and bass",
    "k-pop",
    "country",
    "metal",
    "reggaeton",
    "house",
)
_WORDS = (
    "night",
    "river",
    "gold",
    "echo",
    "summer",
    "static",
    "velvet",
    "neon",
    "paper",
    "ghost",
    "harbor",
    "signal",
    "honey",
    "glass",
    "wild",
    "blue",
    "machine",
    "orbit",
    "saint",
    "low",
)


@dataclass(slots=True)
class FakeArtist:
    id: str
    name: str
    genres: tuple[str, ...]
    popularity: int
    mbid: str


@dataclass(slots=True)
class FakeTrack:
    id: str
    name: str
    album_id: str
    artist_ids: tuple[str, ...]
    isrc: str
    duration_ms: int
    explicit: bool
    popularity: int
    disc_number: int
    track_number: int
    recording_mbid: str
    in_musicbrainz: bool
    work_mbid: str
    iswc: str | None


@dataclass(slots=True)
class FakeAlbum:
    id: str
    name: str
    album_type: str
    artist_ids: tuple[str, ...]
    track_ids: tuple[str, ...]
    release_date: str
    label: str
    upc: str
    popularity: int


@dataclass
class FakeCatalog:
    """Albums, tracks and artists by Spotify id; `by_isrc` and `works` index the MusicBrainz side."""

    albums: dict[str, FakeAlbum] = field(default_factory=dict)
    tracks: dict[str, FakeTrack] = field(default_factory=dict)
    artists: dict[str, FakeArtist] = field(default_factory=dict)
    by_isrc: dict[str, FakeTrack] = field(default_factory=dict)
    by_recording: dict[str, FakeTrack] = field(default_factory=dict)
    works: dict[str, FakeTrack] = field(default_factory=dict)
    artists_by_mbid: dict[str, FakeArtist] = field(default_factory=dict)

    @property
    def album_ids(self) -> list[str]:
        return list(self.albums)

    def add_track(self, track: "FakeTrack") -> None:
        """Register a track on the Spotify side and, when MusicBrainz knows it, by ISRC, recording and work."""
        self.tracks[track.id] = track
        if track.in_musicbrainz:
            self.by_isrc[track.isrc] = track
            self.by_recording[track.recording_mbid] = track
            self.works[track.work_mbid] = track

    @classmethod
    def generate(
        cls,
        albums: int = 100,
        *,
        tracks_per_album: tuple[int, int] = (10, 12),
        seed: int = 0,
        long_albums: int = 0,
        long_album_tracks: int = 120,
        musicbrainz_share: float = 0.9,
        iswc_share: float = 0.8,
    ) -> "FakeCatalog":
        """`albums` albums of 10–12 tracks, the first `long_albums` of them with `long_album_tracks` tracks
        (more than one page). About one artist per four albums; a fifth of tracks feature a second artist."""
        rng = random.Random(seed)
        catalog = cls()
        ids: set[str] = set()

        def new_id() -> str:
            while True:
                value = "".join(rng.choices(_BASE62, k=22))
                if value not in ids:
                    ids.add(value)
                    return value

        def mbid() -> str:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))

        def title(words: int) -> str:
            return " ".join(rng.choice(_WORDS) for _ in range(words)).title()

        for n in range(max(1, albums // 4)):
            artist = FakeArtist(
                new_id(), f"{title(2)} {n}", tuple(rng.sample(_GENRES, rng.randint(0, 3))), rng.randint(0, 100), mbid()
            )
            catalog.artists[artist.id] = artist
            catalog.artists_by_mbid[artist.mbid] = artist
        artist_ids = list(catalog.artists)
        isrc_serial = 0
        for n in range(albums):
            main = rng.choice(artist_ids)
            count = long_album_tracks if n < long_albums else rng.randint(*tracks_per_album)
            released = f"{rng.randint(1965, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            kind = rng.choice(("album", "album", "single", "compilation"))
            album = FakeAlbum(
                new_id(),
                title(rng.randint(1, 3)),
                kind,
                (main,),
                (),
                released,
                f"{rng.choice(_WORDS).title()} Records",
                f"{rng.randrange(10**12):012d}",
                rng.randint(0, 100),
            )
            track_ids = []
            for number in range(1, count + 1):
                featured = (rng.choice(artist_ids),) if rng.random() < 0.2 else ()
                isrc_serial += 1
                # country QZ + 3-character registrant + 2-digit year + 5-digit designation, unique by serial
                registrant = f"{string.ascii_uppercase[isrc_serial // 100_000 % 26]}{seed % 100:02d}"
                isrc = f"QZ{registrant}{rng.randint(0, 99):02d}{isrc_serial % 100_000:05d}"
                track = FakeTrack(
                    new_id(),
                    title(rng.randint(1, 4)),
                    album.id,
                    (main, *featured),
                    isrc,
                    rng.randint(90_000, 420_000),
                    rng.random() < 0.15,
                    rng.randint(0, 100),
                    1,
                    number,
                    mbid(),
                    rng.random() < musicbrainz_share,
                    mbid(),
                    make_iswc(rng.randrange(10**9)) if rng.random() < iswc_share else None,
                )
                catalog.add_track(track)
                track_ids.append(track.id)
            album.track_ids = tuple(track_ids)
            catalog.albums[album.id] = album
        return catalog


def make_iswc(number: int) -> str:
    """An ISWC `T-ddd.ddd.ddd-c` with a valid check digit for a 9-digit work number."""
    digits = f"{number % 10**9:09d}"
    total = 1 + sum((i + 1) * int(d) for i, d in enumerate(digits))
    check = (10 - total % 10) % 10
    return f"T-{digits[:3]}.{digits[3:6]}.{digits[6:]}-{check}"
