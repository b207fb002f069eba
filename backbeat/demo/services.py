"""Local stand-ins for Spotify and MusicBrainz that serve the demo catalog, so `backbeat demo run` exercises album
ingestion through the same assets, clients and resilience code as production.

    with demo_services(data_dir) as services:      # writes inbox/catalog/album_requests/demo.txt, starts both
        defs = build_definitions(Settings.from_env())  # resources pick up services.env (set in os.environ)
        ...run the jobs...

What the fakes serve, derived from the demo's `inbox/catalog/tracks.csv` and `artists.csv` (deterministic):

- one Spotify album per demo album (artist × album title) with the same recordings: same ISRCs, durations a
  few hundred milliseconds off, every third title with a " - Remastered" suffix (resolved by ISRC anyway);
  one track without an ISRC at Spotify (resolved by title, artist and duration);
- three albums the label does not have in its catalog (only Spotify and MusicBrainz know them);
- MusicBrainz recordings for most ISRCs, with the demo works' ISWCs (the ones on the split sheets);
- faults: one album whose payload is malformed (quarantined, the album fails), one requested id Spotify does
  not know, and a short 503 burst and a 429 on the albums endpoint that the client's retries absorb.

The request file mixes every accepted reference form and one line that is not an album (quarantined).
The demo's playlist accounts are registered as Spotify users (one with a development-mode app, which refuses
playlist writes) and their refresh tokens stored encrypted, so the curated day syncs for real.
"""

import base64
import csv
import hashlib
import json
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from backbeat.demo.identifiers import iswc
from backbeat.demo.standins import (
    FakeAlbum,
    FakeArtist,
    FakeCatalog,
    FakeMusicBrainz,
    FakeSpotify,
    FakeTrack,
    FaultPlan,
)
from integrations.resilience import TokenStore
from integrations.resilience.secrets import SECRET_KEY_ENV
from integrations.spotify.accounts import default_token_dir
from integrations.spotify.playlists import store_refresh_token

CLIENT_ID = "backbeat-demo"
CLIENT_SECRET = "demo-secret-not-a-real-one"
CONTACT = "demo@backbeat.example"
REQUEST_FILE = Path("inbox") / "catalog" / "album_requests" / "demo.txt"
EXTRA_ALBUMS = 3
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _spotify_id(seed: int, kind: str, key: str) -> str:
    """A deterministic 22-character base-62 id."""
    number = int.from_bytes(hashlib.sha256(f"{seed}|{kind}|{key}".encode()).digest(), "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


def _mbid(seed: int, kind: str, key: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(f"{seed}|mb|{kind}|{key}".encode()).digest()[:16], version=4))


def _work_iswc(seed: int, work_id: str) -> str | None:
    """The ISWC the demo's split sheets give this work (`backbeat.demo.rights.iswc_for`), if it can be derived."""
    try:
        from backbeat.demo.catalog import Work
        from backbeat.demo.rights import iswc_for

        return iswc_for(seed, Work(work_id, int(work_id[3:]), ""))
    except (ImportError, ValueError, TypeError, AttributeError):
        digest = int(hashlib.sha256(f"{seed}|{work_id}".encode()).hexdigest(), 16)
        return iswc(digest % 10**9)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class DemoCatalog:
    """The fakes' catalog, the album ids to request, and the planted problems."""

    catalog: FakeCatalog
    requested: tuple[str, ...]
    malformed_album: str
    unknown_album: str
    track_without_isrc: str


def demo_catalog(data_dir: Path, seed: int = 7) -> DemoCatalog:
    """The Spotify/MusicBrainz side of the demo catalog under `data_dir` (see the module docstring)."""
    inbox = Path(data_dir) / "inbox" / "catalog"
    artists = {row["artist_id"]: row for row in _read_csv(inbox / "artists.csv")}
    tracks = _read_csv(inbox / "tracks.csv")
    genres: dict[str, Counter[str]] = defaultdict(Counter)
    for row in tracks:
        if row.get("genre"):
            genres[row["artist_id"]][row["genre"]] += 1
    catalog = FakeCatalog()
    for artist_id, row in sorted(artists.items()):
        top = tuple(g for g, _ in genres[artist_id].most_common(2))
        artist = FakeArtist(
            _spotify_id(seed, "artist", artist_id),
            row["name"],
            top,
            40 + len(top) * 10,
            _mbid(seed, "artist", artist_id),
        )
        catalog.artists[artist.id] = artist
        catalog.artists_by_mbid[artist.mbid] = artist

    albums: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in tracks:
        albums[(row["artist_id"], row["album"] or row["title"])].append(row)
    without_isrc = ""
    for n, ((artist_id, title), rows) in enumerate(sorted(albums.items())):
        album_id = _spotify_id(seed, "album", f"{artist_id}|{title}")
        artist_sid = _spotify_id(seed, "artist", artist_id)
        released = min(r["release_date"] for r in rows)
        track_ids = []
        for number, row in enumerate(sorted(rows, key=lambda r: r["track_id"]), start=1):
            track_number = int(row["track_id"][3:]) if row["track_id"][3:].isdigit() else number
            name = row["title"] + (f" - Remastered {released[:4]}" if track_number % 3 == 0 else "")
            track = FakeTrack(
                _spotify_id(seed, "track", row["track_id"]),
                name,
                album_id,
                (artist_sid,),
                row["isrc"],
                int(row["duration_ms"]) + (track_number * 137) % 900 - 450,
                row["explicit"].lower() == "true",
                int(row["popularity"] or 0),
                1,
                number,
                _mbid(seed, "recording", row["track_id"]),
                track_number % 7 != 0,
                _mbid(seed, "work", row["work_id"] or row["track_id"]),
                _work_iswc(seed, row["work_id"]) if row.get("work_id") else None,
            )
            catalog.add_track(track)
            track_ids.append(track.id)
            if not without_isrc and track_number % 5 == 2:
                without_isrc = track.id
        catalog.albums[album_id] = FakeAlbum(
            album_id,
            title,
            "single" if len(rows) == 1 else "album",
            (artist_sid,),
            tuple(track_ids),
            released,
            "Backbeat Demo Records",
            f"{8_700_000_000_00 + n:012d}",
            50,
        )

    extra = FakeCatalog.generate(EXTRA_ALBUMS, seed=seed, tracks_per_album=(4, 6))
    catalog.albums.update(extra.albums)
    catalog.tracks.update(extra.tracks)
    catalog.artists.update(extra.artists)
    catalog.by_isrc.update(extra.by_isrc)
    catalog.by_recording.update(extra.by_recording)
    catalog.works.update(extra.works)
    catalog.artists_by_mbid.update(extra.artists_by_mbid)

    requested = tuple(catalog.albums)
    return DemoCatalog(
        catalog,
        requested,
        malformed_album=requested[len(requested) // 2],
        unknown_album=_spotify_id(seed, "album", "not at spotify"),
        track_without_isrc=without_isrc,
    )


def request_lines(demo: DemoCatalog) -> list[str]:
    """The demo's request file: every accepted reference form, comments, an unknown id and one bad line."""
    lines = ["# Albums the demo label asked Backbeat to ingest (written by backbeat.demo.services)."]
    for n, album_id in enumerate(demo.requested):
        form = n % 3
        if form == 0:
            lines.append(f"spotify:album:{album_id}")
        elif form == 1:
            lines.append(f"https://open.spotify.com/album/{album_id}?si=demo{n:04d}")
        else:
            lines.append(f"{album_id}  # bare id")
    lines.append(f"spotify:album:{demo.unknown_album}  # Spotify does not know this one")
    lines.append("spotify:track:6rqhFgbbKwnb9MLmUQDhG6  # a track, not an album: quarantined")
    return lines


def write_album_requests(data_dir: Path, demo: DemoCatalog) -> Path:
    """Write `inbox/catalog/album_requests/demo.txt` (same bytes every time; rewritten only when different)."""
    path = Path(data_dir) / REQUEST_FILE
    text = "\n".join(request_lines(demo)) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.part")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    return path


DEMO_SECRET_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"backbeat demo only: not a secret").digest()).decode()
"""The demo's Fernet key for the token store: fixed, so tokens stored by one demo run open in the next."""


def connect_demo_accounts(spotify: FakeSpotify, data_dir: Path) -> list[str]:
    """Register the demo's playlist accounts (`inbox/curation/accounts.json`) with the fake Spotify and store
    their refresh tokens encrypted, as `backbeat curation account connect` does; returns the account ids."""
    accounts_file = data_dir / "inbox" / "curation" / "accounts.json"
    if not accounts_file.exists():
        return []
    store = TokenStore(default_token_dir(data_dir), DEMO_SECRET_KEY)
    connected = []
    for account in json.loads(accounts_file.read_text(encoding="utf-8")).get("accounts", []):
        refresh_token = f"demo-refresh-{account['account_id']}"
        spotify.add_user(
            account["spotify_user_id"], refresh_token, development_mode=bool(account.get("development_mode"))
        )
        store_refresh_token(store, account["account_id"], refresh_token)
        connected.append(account["account_id"])
    return connected


@dataclass(frozen=True)
class DemoServices:
    """The running fakes and the environment variables that point Backbeat's resources at them."""

    env: dict[str, str]
    spotify: FakeSpotify
    musicbrainz: FakeMusicBrainz
    demo: DemoCatalog
    request_file: Path


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def demo_services(data_dir: Path, *, seed: int = 7, set_environ: bool = True) -> Iterator[DemoServices]:
    """Serve the demo catalog on fake Spotify and MusicBrainz servers (127.0.0.1, random ports) and write the
    demo's album request file. With `set_environ` the variables in `.env` are set in `os.environ` while the
    context is open (and restored after): build the Dagster definitions inside it, since resources read the
    environment when they are built."""
    demo = demo_catalog(data_dir, seed)
    request_file = write_album_requests(data_dir, demo)
    plan = FaultPlan(seed=seed)
    plan.corrupt(demo.malformed_album, "total_tracks", "twelve")
    if demo.track_without_isrc:
        plan.corrupt(demo.track_without_isrc, "external_ids.isrc")
    plan.fail_next("albums", 1, 429, retry_after=0)
    plan.fail_next("tracks", 2, 503)
    with (
        FakeSpotify(demo.catalog, plan, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as spotify,
        FakeMusicBrainz(demo.catalog, min_interval=0) as musicbrainz,
    ):
        env = {
            "SPOTIFY_CLIENT_ID": CLIENT_ID,
            "SPOTIFY_CLIENT_SECRET": CLIENT_SECRET,
            "SPOTIFY_API_URL": spotify.api_url,
            "SPOTIFY_TOKEN_URL": spotify.token_url,
            "MUSICBRAINZ_CONTACT": CONTACT,
            "MUSICBRAINZ_URL": musicbrainz.api_url,
            "MUSICBRAINZ_REQUESTS_PER_SECOND": "50",
            SECRET_KEY_ENV: DEMO_SECRET_KEY,
        }
        connect_demo_accounts(spotify, Path(data_dir))
        services = DemoServices(env, spotify, musicbrainz, demo, request_file)
        if set_environ:
            with _environ(env):
                yield services
        else:
            yield services
