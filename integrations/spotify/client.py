"""Spotify catalog reads through `spotipy`, governed by the shared resilience policy.

Client-credentials auth only (catalog data, no user). spotipy's own urllib3 retries are off: the client hands
spotipy a plain `requests.Session` (no retry adapter) and `retries=0, status_retries=0`, because spotipy's
retry adapter turns an exhausted 5xx into a 429 without headers, which would hide the real status from the
taxonomy. The access token lives in an `EncryptedTokenCache` (a spotipy `CacheHandler`): in memory, and
encrypted on disk when a `TokenStore` is given. Audio features are not used: Spotify refuses them to new apps.

The batch reads (Get Several Albums/Tracks/Artists) are deprecated in Spotify's published description and
refused (403, or 404/410 once removed) to apps without extended access. When one is refused the client says so
once in the log, remembers it, and reads those entities one by one (`GET /albums/{id}`, ...) through the same
token bucket, so the fallback stays within the rate budget. Deprecated fields (popularity, genres, label) are
optional: an answer without them gives `None` and names the field in the entity's `withheld`.
"""

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import requests
import spotipy
from spotipy.cache_handler import CacheHandler
from spotipy.oauth2 import SpotifyClientCredentials

from integrations.resilience import (
    CallStats,
    CircuitBreaker,
    MalformedPayload,
    NotFound,
    PermanentError,
    RetryPolicy,
    SecretStoreError,
    TokenBucket,
    TokenStore,
    breaker_for,
    bucket_for,
)
from integrations.resilience.payload import Payload
from integrations.resilience.secrets import install_log_redaction
from integrations.spotify.models import (
    SERVICE,
    Album,
    AlbumTrack,
    Artist,
    Fetched,
    Track,
    build_album,
    envelope,
    parse_album_head,
    parse_artist,
    parse_track,
    parse_tracks_page,
)

DEFAULT_API_URL = "https://api.spotify.com/v1/"
DEFAULT_TOKEN_URL = "https://accounts.spotify.com/api/token"
ALBUMS_PER_REQUEST = 20  # Get Several Albums
TRACKS_PER_REQUEST = 50  # Get Several Tracks
ARTISTS_PER_REQUEST = 50  # Get Several Artists
PAGE_LIMIT = 50  # Get Album Tracks
REFUSED_BATCH = (403, 404, 410)  # how Spotify refuses a deprecated batch read to an app without extended access

log = logging.getLogger(__name__)
T = TypeVar("T")
_BASE62_ID = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class _QuietHttpErrors(logging.Filter):
    """spotipy logs every HTTP error at ERROR, even a 503 the policy then retries successfully; the policy
    decides what is an error, so those lines are lowered to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and str(record.msg).startswith(("HTTP Error for", "Max Retries")):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


# spotipy logs request headers (the bearer token) and the Basic credentials at DEBUG.
install_log_redaction(["spotipy", "spotipy.client", "spotipy.oauth2"])
logging.getLogger("spotipy.client").addFilter(_QuietHttpErrors())


def credential_key(client_id: str) -> str:
    """A stable, non-secret name for a credential: a short hash of the client id."""
    return hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:12]


def spotipy_client(auth: Any, api_url: str, timeout: float) -> spotipy.Spotify:
    """A spotipy client on `api_url` whose own urllib3 retries are off, so the shared policy governs (with
    them on, spotipy turns a 503 into a 429 without headers)."""
    client = spotipy.Spotify(
        auth_manager=auth, requests_session=requests.Session(), retries=0, status_retries=0, requests_timeout=timeout
    )
    client.prefix = api_url
    return client


class EncryptedTokenCache(CacheHandler):
    """spotipy's token cache, held in memory and (with a `TokenStore`) encrypted at rest under `name`.

    spotipy asks for the cached token before every request, so the file is read once and then only written.
    `clear()` forgets the token: the next request fetches a fresh one (the policy's "refresh once").
    """

    def __init__(self, store: TokenStore | None, name: str) -> None:
        self._store = store
        self._name = name
        self._lock = threading.Lock()
        self._token: dict[str, Any] | None = None
        self._loaded = store is None
        self._generation = 0
        self.unreadable: str | None = None  # why a stored token exists but could not be decrypted

    def __repr__(self) -> str:
        return f"EncryptedTokenCache(name={self._name!r}, store={self._store!r})"

    def get_cached_token(self) -> dict[str, Any] | None:
        with self._lock:
            if not self._loaded:
                self._loaded = True
                try:
                    self._token = self._store.load(self._name) if self._store else None
                except SecretStoreError as exc:
                    self.unreadable = str(exc)
                    log.warning("ignoring the stored Spotify token: %s", exc)
            return dict(self._token) if self._token else None

    def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
        with self._lock:
            self._token = dict(token_info)
            self._loaded = True
            self._generation += 1
            if self._store is not None:
                self._store.save(self._name, token_info)

    @property
    def generation(self) -> int:
        """Incremented by every save: tells whether the token changed since a request began."""
        return self._generation

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def invalidate(self, generation: int) -> None:
        """Forget the token if it is still the one of `generation`: when several workers are refused the same
        expired token, the first refresh counts and the others reuse its new token instead of fetching more."""
        with self._lock:
            if self._generation == generation:
                self._clear()

    def _clear(self) -> None:
        self._token = None
        self._loaded = True
        if self._store is not None:
            self._store.delete(self._name)


class _ClientCredentials(SpotifyClientCredentials):
    """spotipy's client-credentials manager with one token fetch at a time: without the lock, every worker
    of a pool that starts (or meets an expired token) together would fetch its own token."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token_lock = threading.Lock()

    def get_access_token(self, as_dict: bool = True, check_cache: bool = True) -> Any:
        with self._token_lock:
            return super().get_access_token(as_dict=as_dict, check_cache=check_cache)


def _chunks(ids: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _unique_ids(ids: Iterable[str]) -> list[str]:
    ordered = list(dict.fromkeys(ids))
    bad = [i for i in ordered if not i or not set(i) <= _BASE62_ID]
    if bad:
        raise ValueError(f"not Spotify ids (base62): {bad[:5]}")
    return ordered


class SpotifyCatalogClient:
    """Albums, album tracks, tracks and artists from the Spotify Web API, in batches, resiliently.

    `breaker` defaults to the process-wide breaker of this API URL, `bucket` to the process-wide bucket of this
    client id (`requests_per_second`, bursts of `burst`), so every client of one credential shares them.
    `stats` counts logical calls and HTTP attempts by endpoint, outcomes, refreshes and time slept.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        api_url: str = DEFAULT_API_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        token_store: TokenStore | None = None,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        bucket: TokenBucket | None = None,
        requests_per_second: float = 10.0,
        burst: int = 5,
        timeout: float = 10.0,
    ) -> None:
        key = credential_key(client_id)
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.token_cache = EncryptedTokenCache(token_store, f"spotify-{key}")
        auth = _ClientCredentials(
            client_id=client_id,
            client_secret=client_secret,
            cache_handler=self.token_cache,
            requests_session=requests.Session(),
            requests_timeout=timeout,
        )
        auth.OAUTH_TOKEN_URL = token_url
        self._auth = auth
        self._sp = spotipy_client(auth, self.api_url, timeout)
        self.policy = policy or RetryPolicy()
        self.breaker = breaker or breaker_for(f"{SERVICE}@{self.api_url}")
        self.bucket = bucket or bucket_for(f"{SERVICE}:{key}", requests_per_second, burst)
        self.stats = CallStats()
        self._key = key
        self.batch_refused: set[str] = set()  # batch reads Spotify refused this client: read one by one instead
        self._refused_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SpotifyCatalogClient(api_url={self.api_url!r}, credential={self._key})"

    def _call(self, label: str, fn: Callable[[], T]) -> T:
        seen = {"generation": self.token_cache.generation}

        def attempt() -> T:
            self._auth.get_access_token(as_dict=False)  # fetched (or cached) first, so we know which token we use
            seen["generation"] = self.token_cache.generation
            return fn()

        return self.policy.run(
            attempt,
            service=SERVICE,
            breaker=self.breaker,
            bucket=self.bucket,
            refresh=lambda: self.token_cache.invalidate(seen["generation"]),
            stats=self.stats,
            label=label,
        )

    def _several(
        self, label: str, key: str, ids: list[str], fetch: Callable[[list[str]], Any], fetch_one: Callable[[str], Any]
    ) -> list[object]:
        """One document (or None when unknown) per id: the batch read, or single reads once it is refused."""
        if key not in self.batch_refused:
            try:
                return self._call(label, lambda: envelope(fetch(ids), key, ids))
            except PermanentError as exc:
                if isinstance(exc, MalformedPayload) or exc.status not in REFUSED_BATCH:
                    raise
                with self._refused_lock:
                    first = key not in self.batch_refused
                    self.batch_refused.add(key)
                if first:
                    log.warning(
                        "Spotify refused the batch read GET /%s (HTTP %s: deprecated, extended access "
                        "required); reading %s one by one",
                        key,
                        exc.status,
                        key,
                    )
        return [self._one(key, i, fetch_one) for i in ids]

    def _one(self, key: str, entity_id: str, fetch_one: Callable[[str], Any]) -> object:
        try:
            return self._call(key.rstrip("s"), lambda: fetch_one(entity_id))
        except NotFound:
            return None

    # -- albums ------------------------------------------------------------------------------------------

    def albums(self, album_ids: Iterable[str]) -> Fetched[Album]:
        """Albums with every track (Get Several Albums, 20 ids per request, then any further track pages)."""
        result: Fetched[Album] = Fetched()
        for batch in _chunks(_unique_ids(album_ids), ALBUMS_PER_REQUEST):
            try:
                docs = self._several("albums", "albums", batch, self._sp.albums, self._sp.album)
            except MalformedPayload as exc:
                result.malformed.extend(_whole_answer_malformed("album", batch, exc))
                continue
            for album_id, doc in zip(batch, docs, strict=True):
                if doc is None:
                    result.not_found.append(album_id)
                    continue
                try:
                    head, tracks, next_url = parse_album_head(doc, album_id)
                    tracks.extend(self._remaining_pages(album_id, next_url))
                    result.found.append(build_album(head, tracks))
                except MalformedPayload as exc:
                    result.malformed.append(exc)
        return result

    def album_tracks(self, album_id: str) -> list[AlbumTrack]:
        """Every track of one album (Get Album Tracks, 50 per page, following `next`); `NotFound` if unknown."""
        (album_id,) = _unique_ids([album_id])
        page = self._call("album_tracks", lambda: self._sp.album_tracks(album_id, limit=PAGE_LIMIT, offset=0))
        tracks, next_url, total = parse_tracks_page(_page(page, album_id))
        tracks.extend(self._remaining_pages(album_id, next_url))
        if len(tracks) != total:
            raise MalformedPayload(
                service=SERVICE,
                entity="album",
                entity_id=album_id,
                field="tracks.total",
                problem=f"is {total}, but the pages held {len(tracks)} tracks",
            )
        return tracks

    def _remaining_pages(self, album_id: str, next_url: str | None) -> list[AlbumTrack]:
        tracks: list[AlbumTrack] = []
        while next_url:
            url = next_url
            page = self._call("album_tracks", lambda url=url: self._sp.next({"next": url}))
            items, next_url, _ = parse_tracks_page(_page(page, album_id))
            tracks.extend(items)
        return tracks

    # -- tracks and artists ------------------------------------------------------------------------------

    def tracks(self, track_ids: Iterable[str]) -> Fetched[Track]:
        """Full tracks: ISRC, duration, explicit, popularity when given (Get Several Tracks, 50 ids per request;
        Get Track per id when the batch read is refused)."""
        return self._fetch_several(
            "tracks", track_ids, TRACKS_PER_REQUEST, self._sp.tracks, self._sp.track, parse_track
        )

    def artists(self, artist_ids: Iterable[str]) -> Fetched[Artist]:
        """Full artists with genres when given (Get Several Artists, 50 ids per request; Get Artist per id when
        the batch read is refused)."""
        return self._fetch_several(
            "artists", artist_ids, ARTISTS_PER_REQUEST, self._sp.artists, self._sp.artist, parse_artist
        )

    def _fetch_several(
        self,
        key: str,
        ids: Iterable[str],
        size: int,
        fetch: Callable[[list[str]], Any],
        fetch_one: Callable[[str], Any],
        parse: Callable[[object, str], T],
    ) -> Fetched[T]:
        result: Fetched[T] = Fetched()
        for batch in _chunks(_unique_ids(ids), size):
            try:
                docs = self._several(key, key, batch, fetch, fetch_one)
            except MalformedPayload as exc:
                result.malformed.extend(_whole_answer_malformed(key.rstrip("s"), batch, exc))
                continue
            for entity_id, doc in zip(batch, docs, strict=True):
                if doc is None:
                    result.not_found.append(entity_id)
                    continue
                try:
                    result.found.append(parse(doc, entity_id))
                except MalformedPayload as exc:
                    result.malformed.append(exc)
        return result


def _page(doc: object, album_id: str) -> Payload:
    return Payload(doc, service=SERVICE, entity="album", entity_id=album_id, path="tracks")


def _whole_answer_malformed(entity: str, ids: list[str], exc: MalformedPayload) -> list[MalformedPayload]:
    """One entry per requested id when the answer for the whole batch is unusable: nobody is silently lost."""
    return [
        MalformedPayload(
            service=SERVICE,
            entity=entity,
            entity_id=i,
            field=exc.field,
            problem=f"{exc.problem} (in the answer for {len(ids)} ids)",
        )
        for i in ids
    ]
