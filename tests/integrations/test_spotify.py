"""The Spotify catalog client through real spotipy against a local server speaking Spotify's JSON: pagination,
429 + Retry-After, 5xx bursts, expiring and refused tokens, 404, malformed payloads, the breaker, tokens at rest."""

import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from dagster import EnvVar, asset, materialize

from backbeat.demo.standins import DROP, FakeCatalog, FakeSpotify, FaultPlan, ManualClock
from integrations.resilience import (
    AuthExpired,
    CircuitBreaker,
    CircuitOpen,
    NotFound,
    RetryPolicy,
    TokenBucket,
    TokenStore,
    Transient,
)
from integrations.retry import Backoff
from integrations.spotify import SpotifyCatalogClient, SpotifyResource


@pytest.fixture(scope="module")
def catalog() -> FakeCatalog:
    return FakeCatalog.generate(30, seed=5, long_albums=1, long_album_tracks=120)


@dataclass
class Rig:
    """A fake Spotify and a client on a manual clock: `sleeps` are the policy's waits, nothing really waits."""

    server: FakeSpotify
    plan: FaultPlan
    clock: ManualClock
    sleeps: list[float] = field(default_factory=list)

    def client(
        self, *, max_attempts: int = 5, threshold: int = 5, token_store: TokenStore | None = None
    ) -> SpotifyCatalogClient:
        policy = RetryPolicy(
            max_attempts=max_attempts,
            backoff=Backoff(base=0.5, factor=2.0, maximum=8.0),
            sleep=self.sleeps.append,
            rng=random.Random(3),
        )
        return SpotifyCatalogClient(
            self.server.client_id,
            self.server.client_secret,
            api_url=self.server.api_url,
            token_url=self.server.token_url,
            token_store=token_store,
            policy=policy,
            breaker=CircuitBreaker("spotify-test", failure_threshold=threshold, cooldown=30, clock=self.clock.now),
            bucket=TokenBucket(1000, 50, clock=self.clock.now, sleep=self.clock.sleep),
        )


@pytest.fixture
def rig(catalog: FakeCatalog) -> Iterator[Rig]:
    plan = FaultPlan()
    with FakeSpotify(catalog, plan) as server:
        yield Rig(server, plan, ManualClock())


def test_albums_tracks_and_artists_come_back_whole(rig: Rig, catalog: FakeCatalog) -> None:
    client = rig.client()
    ids = catalog.album_ids[1:26]
    albums = client.albums(ids)
    assert [a.id for a in albums.found] == ids and not albums.not_found and not albums.malformed
    assert rig.server.count("albums") == 2  # 25 ids: 20 + 5 per request
    album, expected = albums.found[0], catalog.albums[ids[0]]
    assert album.name == expected.name and album.upc == expected.upc and album.label == expected.label
    assert album.track_ids == list(expected.track_ids) and album.total_tracks == len(expected.track_ids)

    track_ids = [t for a in albums.found for t in a.track_ids]
    tracks = client.tracks(track_ids)
    assert len(tracks.found) == len(track_ids) == sum(len(catalog.albums[i].track_ids) for i in ids)
    assert rig.server.count("tracks") == -(-len(track_ids) // 50)
    for track in tracks.found[:40]:
        truth = catalog.tracks[track.id]
        assert (track.isrc, track.duration_ms, track.explicit, track.popularity, track.album_id) == (
            truth.isrc,
            truth.duration_ms,
            truth.explicit,
            truth.popularity,
            truth.album_id,
        )

    artist_ids = {ref.id for t in tracks.found for ref in t.artists}
    artists = client.artists(artist_ids)
    assert {a.id for a in artists.found} == artist_ids
    assert all(a.genres == catalog.artists[a.id].genres for a in artists.found)
    assert rig.server.count("token") == 1 and rig.sleeps == []


def test_album_tracks_follow_pagination_beyond_the_first_page(rig: Rig, catalog: FakeCatalog) -> None:
    long_id = catalog.album_ids[0]
    client = rig.client()
    album = client.albums([long_id]).found[0]
    assert album.track_ids == list(catalog.albums[long_id].track_ids) and len(album.tracks) == 120
    assert rig.server.count("album_tracks") == 2  # 50 embedded in the album, then 50 and 20 via `next`

    tracks = client.album_tracks(long_id)
    assert [t.id for t in tracks] == album.track_ids and [t.track_number for t in tracks] == list(range(1, 121))
    assert rig.server.count("album_tracks") == 5  # three more pages


def test_429_waits_for_retry_after(rig: Rig, catalog: FakeCatalog) -> None:
    rig.plan.fail_next("albums", 1, 429, retry_after=7)
    result = rig.client().albums(catalog.album_ids[1:4])
    assert len(result.found) == 3
    assert rig.sleeps == [7.0]
    assert rig.server.count("albums", 429) == 1 and rig.server.count("albums", 200) == 1


def test_5xx_burst_backs_off_then_succeeds(rig: Rig, catalog: FakeCatalog) -> None:
    rig.plan.fail_next("tracks", 3, 503)
    ids = list(catalog.albums[catalog.album_ids[2]].track_ids)
    client = rig.client()
    assert [t.id for t in client.tracks(ids).found] == ids
    assert len(rig.sleeps) == 3
    assert 0.25 <= rig.sleeps[0] <= 0.5 and 0.5 <= rig.sleeps[1] <= 1.0 and 1.0 <= rig.sleeps[2] <= 2.0
    assert rig.server.count("tracks") == 4 and client.stats.retries == 3


def test_attempts_are_bounded(rig: Rig, catalog: FakeCatalog) -> None:
    rig.plan.fail_next("artists", 100, 500)
    with pytest.raises(Transient, match="HTTP 500") as caught:
        rig.client(max_attempts=3).artists(list(catalog.artists)[:3])
    assert caught.value.attempts == 3 and rig.server.count("artists") == 3 and len(rig.sleeps) == 2


def test_expired_token_is_refreshed_once(rig: Rig, catalog: FakeCatalog) -> None:
    rig.plan.token_uses = 1  # each token works for one request, then "The access token expired"
    client = rig.client()
    ids = catalog.album_ids[1:3]
    assert len(client.albums(ids).found) == 2
    assert len(client.albums(ids).found) == 2
    assert rig.server.count("token") == 2 and rig.server.count("albums", 401) == 1
    assert client.stats.refreshes == 1 and rig.sleeps == []


def test_refused_token_fails_fast_after_one_refresh(rig: Rig, catalog: FakeCatalog) -> None:
    rig.plan.refuse_tokens = True
    client = rig.client()
    with pytest.raises(AuthExpired, match="expired"):
        client.albums(catalog.album_ids[1:3])
    assert rig.server.count("albums", 401) == 2 and rig.server.count("token") == 2 and rig.sleeps == []


def test_404_is_not_retried_and_unknown_ids_are_reported(rig: Rig, catalog: FakeCatalog) -> None:
    client = rig.client()
    with pytest.raises(NotFound):
        client.album_tracks("0000000000000000000000")
    assert rig.server.count("album_tracks") == 1 and rig.sleeps == []
    result = client.albums([catalog.album_ids[1], "0000000000000000000000"])
    assert [a.id for a in result.found] == [catalog.album_ids[1]] and result.not_found == ["0000000000000000000000"]


def test_malformed_payloads_name_id_and_field_and_lose_nothing(rig: Rig, catalog: FakeCatalog) -> None:
    album = catalog.albums[catalog.album_ids[3]]
    bad_track = album.track_ids[4]
    rig.plan.corrupt(bad_track, "duration_ms", DROP)
    rig.plan.corrupt(album.track_ids[6], "popularity", "high")
    client = rig.client()

    tracks = client.tracks(album.track_ids)
    assert len(tracks.found) == len(album.track_ids) - 2
    reasons = sorted(m.reason for m in tracks.malformed)
    assert reasons == sorted(
        [
            f"spotify: track {bad_track}: field 'duration_ms' is missing",
            f"spotify: track {album.track_ids[6]}: field 'popularity' is str 'high', expected an integer",
        ]
    )

    albums = client.albums([album.id, catalog.album_ids[4]])
    assert [a.id for a in albums.found] == [catalog.album_ids[4]]
    (error,) = albums.malformed
    assert (error.entity, error.entity_id, error.field) == ("album", album.id, "tracks.items[4].duration_ms")

    rig.plan.fail_next("artists", 1, 200, body='{"artists": [{"id": ')  # a truncated body
    ids = list(catalog.artists)[:3]
    artists = client.artists(ids)
    assert not artists.found and [m.entity_id for m in artists.malformed] == ids
    assert "not JSON" in artists.malformed[0].reason and rig.server.count("artists") == 1  # not retried


def test_breaker_opens_then_half_opens_after_cooldown(rig: Rig, catalog: FakeCatalog) -> None:
    client = rig.client(max_attempts=2, threshold=2)
    ids = catalog.album_ids[1:2]
    rig.plan.fail_next("albums", 100, 503)
    with pytest.raises(Transient):
        client.albums(ids)
    seen = rig.server.count("albums")
    with pytest.raises(CircuitOpen):
        client.albums(ids)
    assert rig.server.count("albums") == seen  # failed fast, the service was spared

    rig.plan.clear()
    rig.clock.advance(30)
    assert len(client.albums(ids).found) == 1  # the half-open trial succeeded
    assert client.breaker.state.value == "closed"


def test_token_is_encrypted_at_rest_and_reused(
    rig: Rig,
    catalog: FakeCatalog,
    tmp_path,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = TokenStore(tmp_path, TokenStore.generate_key())
    with caplog.at_level(logging.DEBUG):
        rig.client(token_store=store).albums(catalog.album_ids[1:2])
        (token,) = rig.server.issued_tokens
        files = list(tmp_path.glob("*.token"))
        assert len(files) == 1 and token.encode() not in files[0].read_bytes()
        rig.client(token_store=store).albums(catalog.album_ids[2:3])  # a new client, e.g. the next run
    assert rig.server.count("token") == 1
    assert token not in caplog.text and rig.server.client_secret not in caplog.text
    assert "Bearer ***" in caplog.text  # spotipy did log the header, redacted


def test_resource_reads_its_settings_from_env_vars(
    rig: Rig, catalog: FakeCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", rig.server.client_id)
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", rig.server.client_secret)
    monkeypatch.setenv("SPOTIFY_API_URL", rig.server.api_url)
    monkeypatch.setenv("SPOTIFY_TOKEN_URL", rig.server.token_url)
    resource = SpotifyResource.from_env()
    assert isinstance(resource.client_secret, EnvVar)
    assert "s3cret" not in repr(SpotifyResource(client_id="x", client_secret="s3cret", secret_key="k3y"))
    names: list[str] = []

    @asset
    def album_names(spotify: SpotifyResource) -> None:
        names.extend(a.name for a in spotify.client().albums(catalog.album_ids[1:3]).found)

    assert materialize([album_names], resources={"spotify": resource}).success
    assert names == [catalog.albums[i].name for i in catalog.album_ids[1:3]]


# -- the published description (OpenAPI 2026.5.31) and apps without extended access --------------------------

SIMPLIFIED_ALBUM = {
    "album_type",
    "total_tracks",
    "available_markets",
    "external_urls",
    "href",
    "id",
    "images",
    "name",
    "release_date",
    "release_date_precision",
    "type",
    "uri",
    "artists",
}


def _token(server: FakeSpotify) -> str:
    answer = requests.post(
        server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(server.client_id, server.client_secret),
        timeout=5,
    )
    return answer.json()["access_token"]


def test_track_albums_are_whole_simplified_albums(rig: Rig, catalog: FakeCatalog) -> None:
    track_ids = catalog.albums[catalog.album_ids[3]].track_ids[:2]
    headers = {"Authorization": f"Bearer {_token(rig.server)}"}
    batch = requests.get(
        f"{rig.server.api_url}tracks", params={"ids": ",".join(track_ids)}, headers=headers, timeout=5
    ).json()
    single = requests.get(f"{rig.server.api_url}tracks/{track_ids[0]}", headers=headers, timeout=5).json()
    for doc in [*batch["tracks"], single]:
        assert set(doc["album"]) >= SIMPLIFIED_ALBUM, SIMPLIFIED_ALBUM - set(doc["album"])
        assert doc["album"]["href"].endswith(f"/v1/albums/{catalog.album_ids[3]}") and doc["album"]["images"]
    unknown = requests.get(f"{rig.server.api_url}tracks/{'0' * 22}", headers=headers, timeout=5)
    assert unknown.status_code == 404 and unknown.json() == {"error": {"status": 404, "message": "Resource not found"}}
    patched = requests.patch(f"{rig.server.api_url}tracks/{track_ids[0]}", headers=headers, timeout=5)
    assert patched.status_code == 405 and patched.json()["error"]["status"] == 405  # JSON, not an HTML 501


def test_with_extended_access_the_batch_reads_are_used_and_nothing_is_withheld(rig: Rig, catalog: FakeCatalog) -> None:
    client = rig.client()
    album = client.albums(catalog.album_ids[1:3]).found[0]
    tracks = client.tracks(album.track_ids).found
    artists = client.artists({a.id for t in tracks for a in t.artists}).found
    assert album.withheld == () and album.label == catalog.albums[album.id].label
    assert all(t.withheld == () and t.popularity == catalog.tracks[t.id].popularity for t in tracks)
    assert all(a.withheld == () and a.genres == catalog.artists[a.id].genres for a in artists)
    assert client.batch_refused == set() and rig.server.count("album") == rig.server.count("track") == 0


def test_refused_batch_reads_fall_back_to_single_reads_within_the_rate_budget(rig: Rig, catalog: FakeCatalog) -> None:
    rig.server.extended_access = False
    policy = RetryPolicy(
        max_attempts=3,
        backoff=Backoff(base=0.5, factor=2.0, maximum=8.0),
        sleep=rig.sleeps.append,
        rng=random.Random(3),
    )
    bucket = TokenBucket(4.0, 1, clock=rig.clock.now, sleep=rig.clock.sleep)  # 4 requests a second
    client = SpotifyCatalogClient(
        rig.server.client_id,
        rig.server.client_secret,
        api_url=rig.server.api_url,
        token_url=rig.server.token_url,
        policy=policy,
        bucket=bucket,
        breaker=CircuitBreaker("spotify-fallback", failure_threshold=3, cooldown=30, clock=rig.clock.now),
    )
    ids = [*catalog.album_ids[1:4], "0" * 22]  # three albums and one Spotify does not know
    started = rig.clock.now()
    albums = client.albums(ids)
    assert [a.id for a in albums.found] == ids[:3] and albums.not_found == ["0" * 22] and not albums.malformed
    assert rig.server.count("albums", 403) == 1 and rig.server.count("album") == 4
    assert all(a.label is None and a.withheld == ("label",) for a in albums.found)
    assert albums.found[0].track_ids == list(catalog.albums[ids[0]].track_ids)

    track_ids = [t for a in albums.found for t in a.track_ids]
    tracks = client.tracks(track_ids)
    assert [t.id for t in tracks.found] == track_ids and rig.server.count("tracks", 403) == 1
    assert all(t.popularity is None and t.withheld == ("popularity",) for t in tracks.found)
    assert all(t.isrc == catalog.tracks[t.id].isrc for t in tracks.found)  # the rest is still read
    artists = client.artists({a.id for t in tracks.found for a in t.artists})
    assert artists.found and all(a.genres is None and a.popularity is None for a in artists.found)
    assert all(a.withheld == ("genres", "popularity") for a in artists.found)

    more = client.albums(catalog.album_ids[4:6])  # the refusal is remembered: no second batch attempt
    assert len(more.found) == 2 and rig.server.count("albums") == 1
    assert client.batch_refused == {"albums", "tracks", "artists"}
    singles = rig.server.count("album") + rig.server.count("track") + rig.server.count("artist")
    assert singles == 6 + len(track_ids) + len(artists.found)
    # every single read took a token from the bucket: 4 a second, so the manual clock moved accordingly
    assert rig.clock.now() - started >= (singles + 3 - 1) / 4.0 - 0.01
    assert rig.sleeps == []  # a 403 is not retried
