"""Fixtures for the curation tests: a synthetic usable catalog, a fake Spotify with user accounts, a token store."""

import random
import string
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from backbeat.demo.standins import FakeCatalog, FakeSpotify, FaultPlan
from integrations.resilience import TokenStore

GENRES = ("ambient", "jazz", "house", "pop", "rock", "hip-hop")
BASE62 = string.digits + string.ascii_letters


def synthetic_tracks(
    n: int, *, seed: int = 0, per_artist: int = 8, per_album: int = 4, featured_share: float = 0.8
) -> pl.DataFrame:
    """`n` catalog tracks (usable-catalog columns): artists of ~`per_artist` tracks, albums of ~`per_album`, six
    genres, tempo and energy for `featured_share` of them."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        artist = i // per_artist
        rows.append(
            {
                "track_id": f"T{i:06d}",
                "isrc": f"QZABC{26 + i % 70:02d}{i:05d}"[:12],
                "title": f"Song {i}",
                "artist_id": f"A{artist:05d}",
                "album": f"Album {i // per_album}",
                "genre": GENRES[artist % len(GENRES)],
                "explicit": rng.random() < 0.15,
                "popularity": rng.randint(0, 100),
                "release_date": date(1990, 1, 1) + timedelta(days=rng.randint(0, 12_000)),
                "duration_ms": rng.randint(120_000, 300_000),
                "tempo_bpm": round(rng.uniform(60, 180), 1) if rng.random() < featured_share else None,
                "energy": round(rng.random(), 3) if rng.random() < featured_share else None,
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


@pytest.fixture
def tracks_factory() -> Callable[..., pl.DataFrame]:
    return synthetic_tracks


def spotify_id(rng: random.Random) -> str:
    return "".join(rng.choices(BASE62, k=22))


@pytest.fixture
def spotify() -> Iterator[FakeSpotify]:
    """A fake Spotify with three users: two ordinary, one whose app is in development mode (writes refused)."""
    with FakeSpotify(FakeCatalog(), FaultPlan()) as server:
        server.add_user("user-main", "refresh-main")
        server.add_user("user-second", "refresh-second")
        server.add_user("user-dev", "refresh-dev", development_mode=True)
        yield server


@pytest.fixture
def token_store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / "tokens", TokenStore.generate_key())
