"""Spotify playlists of one user account through `spotipy`, governed by the shared resilience policy.

Authorization-code flow, refresh side only: an account is connected once (its refresh token is encrypted into
the `TokenStore` by `backbeat curation account connect`); from then on spotipy's `SpotifyOAuth` refreshes the
access token against the configurable token URL whenever it is about to expire, and the `AccountTokenCache`
keeps the result encrypted at rest. A 401 in the middle of a sync (a token revoked or expired early) marks the
access token expired — never the refresh token — so the policy's one retry refreshes and goes on. No browser,
no prompt: an account without a stored token raises `NotConnected`.

Every request goes through `RetryPolicy` with the account's own `TokenBucket` (throttling per account) and
`CircuitBreaker` (repeated 5xx/network failures stop the account, not the others). spotipy's own retries are
off (see `client.py`). Create and replace are idempotent together: `find()` looks a playlist up by recorded id
or by name prefix among the user's playlists before anything is created.

Only operations the published Web API description does not deprecate: create is `POST /me/playlists` (not the
deprecated `POST /users/{id}/playlists`), and playlist items are read from `items[].item` (not the deprecated
`items[].track`).
"""

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from spotipy.exceptions import SpotifyOauthError
from spotipy.oauth2 import SpotifyOAuth

from integrations.resilience import (
    CallStats,
    CircuitBreaker,
    PermanentError,
    RetryPolicy,
    TokenBucket,
    TokenStore,
    classify,
)
from integrations.resilience.payload import Payload
from integrations.resilience.secrets import install_log_redaction
from integrations.spotify.client import DEFAULT_API_URL, DEFAULT_TOKEN_URL, EncryptedTokenCache, spotipy_client
from integrations.spotify.models import SERVICE

SCOPES = "playlist-read-private playlist-modify-public playlist-modify-private"
PLAYLISTS_PAGE = 50  # Get Current User's Playlists: limit ≤ 50
ITEMS_PAGE = 50  # Get Playlist Items: limit ≤ 50
ITEM_FIELDS = "items(added_at,is_local,item(id,type,uri)),next,total"  # no deprecated `track`
ITEMS_PER_REQUEST = 100  # Add / Replace Playlist Items: ≤ 100 URIs
REDIRECT_URI = "http://127.0.0.1:8888/callback"  # registered with the app; never used: no code exchange here

log = logging.getLogger(__name__)
T = TypeVar("T")
install_log_redaction(["spotipy", "spotipy.client", "spotipy.oauth2"])
_REFRESH_TOKEN = re.compile(r"""(['"]?refresh_token['"]?\s*[:=]\s*['"]?)[^'",\s}&]+""")


class _RefreshTokenRedaction(logging.Filter):
    """spotipy logs the refresh request's body (the refresh token) at DEBUG; the shared redaction covers bearer
    and access tokens, this covers refresh tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _REFRESH_TOKEN.sub(lambda m: m.group(1) + "***", message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


for _name in ("spotipy", "spotipy.oauth2"):
    if not any(isinstance(f, _RefreshTokenRedaction) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(_RefreshTokenRedaction())


class NotConnected(PermanentError):
    """No usable refresh token for the account: connect it with `backbeat curation account connect`."""


class TokenRefused(PermanentError):
    """The token endpoint refused the account's refresh token (revoked, or the app lost access)."""


def token_name(account_id: str) -> str:
    """The token store entry of an account."""
    return f"spotify-account-{account_id}"


def store_refresh_token(store: TokenStore, account_id: str, refresh_token: str) -> None:
    """Connect an account: its refresh token, encrypted; the access token is fetched at first use."""
    if not refresh_token.strip():
        raise ValueError("the refresh token is empty")
    store.save(
        token_name(account_id),
        {
            "refresh_token": refresh_token.strip(),
            "access_token": "",
            "token_type": "Bearer",
            "expires_at": 0,
            "scope": SCOPES,
        },
    )


class AccountTokenCache(EncryptedTokenCache):
    """One account's token for spotipy: in memory, and encrypted in the `TokenStore` under `token_name`."""

    def __init__(self, store: TokenStore | None, account_id: str) -> None:
        super().__init__(store, token_name(account_id))
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"AccountTokenCache(name={self._name!r})"

    def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
        super().save_token_to_cache(token_info)
        with self._lock:
            self.refreshes += 1

    def expire(self, generation: int) -> None:
        """Mark the access token expired (keeping the refresh token) if it is still the one of `generation`."""
        with self._lock:
            if self._token is not None and self.generation == generation:
                self._token["expires_at"] = 0

    @property
    def expires_at(self) -> int | None:
        with self._lock:
            return int(self._token["expires_at"]) if self._token and self._token.get("expires_at") else None


class _AccountOAuth(SpotifyOAuth):
    """spotipy's authorization-code manager reduced to what a server may do: use and refresh stored tokens."""

    def __init__(self, *args: Any, account_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_id = account_id

    def validate_token(self, token_info: dict[str, Any] | None) -> dict[str, Any] | None:
        if not token_info or not token_info.get("refresh_token"):
            return None
        if self.is_token_expired(token_info) or not token_info.get("access_token"):
            return self.refresh_access_token(token_info["refresh_token"])
        return token_info

    def get_auth_response(self, open_browser: bool | None = None) -> str:
        raise NotConnected(
            f"account {self.account_id} has no stored Spotify token: connect it with "
            f"`backbeat curation account connect {self.account_id} --refresh-token-env VAR`",
            service=SERVICE,
        )


@dataclass(frozen=True)
class RemotePlaylist:
    """A playlist as Spotify lists it."""

    id: str
    name: str
    owner_id: str
    url: str
    public: bool | None
    total_tracks: int | None


def _parse_playlist(doc: object, where: str) -> RemotePlaylist:
    p = Payload(doc, service=SERVICE, entity="playlist", entity_id=where)
    owner = p.obj("owner")
    assert owner is not None
    urls = p.obj("external_urls", optional=True)
    url = urls.text("spotify", optional=True) if urls else None
    tracks = p.obj("tracks", optional=True) or p.obj("items", optional=True)
    public = doc.get("public") if isinstance(doc, dict) else None
    return RemotePlaylist(
        p.text("id"),
        p.text("name", allow_empty=True),
        owner.text("id"),
        url or f"https://open.spotify.com/playlist/{p.text('id')}",
        public if isinstance(public, bool) else None,
        tracks.integer("total", optional=True) if tracks else None,
    )


class SpotifyPlaylistClient:
    """The playlists of one Spotify user, resiliently. `stats` counts calls and attempts per endpoint."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        account_id: str,
        user_id: str,
        token_store: TokenStore | None,
        api_url: str = DEFAULT_API_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        bucket: TokenBucket | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.account_id = account_id
        self.user_id = user_id
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.token_cache = AccountTokenCache(token_store, account_id)
        auth = _AccountOAuth(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=REDIRECT_URI,
            scope=SCOPES,
            cache_handler=self.token_cache,
            requests_session=requests.Session(),
            requests_timeout=timeout,
            open_browser=False,
            account_id=account_id,
        )
        auth.OAUTH_TOKEN_URL = token_url
        self._auth = auth
        self._sp = spotipy_client(auth, self.api_url, timeout)
        self.policy = policy or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(f"{SERVICE}:account:{account_id}")
        self.bucket = bucket or TokenBucket(5.0, 5)
        self.stats = CallStats()

    def __repr__(self) -> str:
        return f"SpotifyPlaylistClient(account={self.account_id!r}, api_url={self.api_url!r})"

    @property
    def connected(self) -> bool:
        """Whether a refresh token is stored for the account."""
        token = self.token_cache.get_cached_token()
        return bool(token and token.get("refresh_token"))

    def not_connected_reason(self, account_id: str) -> str:
        """Why the account is not connected, in words a person can act on: a token that exists but cannot be
        decrypted (the secret key changed) is not the same as no token at all."""
        self.token_cache.get_cached_token()
        if self.token_cache.unreadable:
            return (
                f"account {account_id}: tokens exist but cannot be decrypted with this key "
                f"({self.token_cache.unreadable}); set the BACKBEAT_SECRET_KEY they were stored with, or "
                f"reconnect: `backbeat curation account connect {account_id} --refresh-token-env VAR`"
            )
        return (
            f"account {account_id} has no stored refresh token: run `backbeat curation account connect "
            f"{account_id} --refresh-token-env VAR`"
        )

    @contextmanager
    def _token_errors(self) -> Iterator[None]:
        """A token request Spotify refuses for good (revoked, wrong client) becomes `TokenRefused`; the rest
        (429, 5xx, network) propagate for the policy to retry."""
        try:
            yield
        except SpotifyOauthError as exc:
            error = classify(exc, service=SERVICE)
            if isinstance(error, PermanentError):
                raise TokenRefused(
                    f"account {self.account_id}: {error.message}", service=SERVICE, status=error.status
                ) from exc
            raise

    def _call(self, label: str, fn: Callable[[], T]) -> T:
        seen = {"generation": self.token_cache.generation}

        def attempt() -> T:
            with self._token_errors():
                self._auth.get_access_token(as_dict=False)
            seen["generation"] = self.token_cache.generation
            return fn()

        return self.policy.run(
            attempt,
            service=SERVICE,
            breaker=self.breaker,
            bucket=self.bucket,
            refresh=lambda: self.token_cache.expire(seen["generation"]),
            stats=self.stats,
            label=label,
        )

    # -- token -------------------------------------------------------------------------------------------

    def refresh_token(self) -> int:
        """Refresh the access token now (through the policy); returns its expiry (epoch seconds)."""
        token = self.token_cache.get_cached_token()
        if not token or not token.get("refresh_token"):
            raise NotConnected(f"account {self.account_id} has no stored Spotify token", service=SERVICE)

        def refresh() -> int:
            current = self.token_cache.get_cached_token() or token
            with self._token_errors():
                info = self._auth.refresh_access_token(current["refresh_token"])
            return int(info["expires_at"])

        return self.policy.run(
            refresh, service=SERVICE, breaker=self.breaker, bucket=self.bucket, stats=self.stats, label="token"
        )

    # -- reads -------------------------------------------------------------------------------------------

    def me(self) -> str:
        """The Spotify user id the token belongs to (Get Current User's Profile)."""
        doc = self._call("me", self._sp.me)
        return Payload(doc, service=SERVICE, entity="user", entity_id="me").text("id")

    def playlists(self) -> list[RemotePlaylist]:
        """Every playlist the user owns (Get Current User's Playlists, 50 per page, following `next`)."""
        return list(self._owned())

    def _owned(self) -> Iterator[RemotePlaylist]:
        page = self._call("me_playlists", lambda: self._sp.current_user_playlists(limit=PLAYLISTS_PAGE, offset=0))
        while page:
            p = Payload(page, service=SERVICE, entity="playlists", entity_id=f"user {self.user_id}")
            for n, item in enumerate(p.array("items")):
                if item is None:
                    continue
                playlist = _parse_playlist(item, f"me/playlists item {n}")
                if playlist.owner_id == self.user_id:
                    yield playlist
            next_url = p.text("next", optional=True)
            page = self._call("me_playlists", lambda url=next_url: self._sp.next({"next": url})) if next_url else None

    def items(self, playlist_id: str) -> list[str | None]:
        """The URIs of the playlist's items in order (Get Playlist Items, 50 per page, following `next`), read
        from `item`; None for an entry whose item Spotify no longer serves (null)."""
        page = self._call(
            "playlist_items",
            lambda: self._sp.playlist_items(
                playlist_id, fields=ITEM_FIELDS, limit=ITEMS_PAGE, offset=0, additional_types=("track", "episode")
            ),
        )
        uris: list[str | None] = []
        while page:
            p = Payload(page, service=SERVICE, entity="playlist items", entity_id=playlist_id)
            for entry in p.objects("items"):
                item = entry.obj("item", optional=True)
                uris.append(item.text("uri") if item is not None else None)
            next_url = p.text("next", optional=True)
            page = self._call("playlist_items", lambda url=next_url: self._sp.next({"next": url})) if next_url else None
        return uris

    def find(
        self, *, playlist_id: str | None, name_prefix: str, owned: list[RemotePlaylist] | None = None
    ) -> tuple[RemotePlaylist | None, list[RemotePlaylist]]:
        """The user's playlist with the recorded id (if it still exists), else the first whose name starts
        with `name_prefix`; and every other playlist carrying the prefix (duplicates a person should look at)."""
        owned = self.playlists() if owned is None else owned
        by_prefix = [p for p in owned if p.name.startswith(name_prefix)]
        found = next((p for p in owned if playlist_id and p.id == playlist_id), None)
        if found is None and by_prefix:
            found = by_prefix[0]
        return found, [p for p in by_prefix if found is None or p.id != found.id]

    # -- writes ------------------------------------------------------------------------------------------

    def create(self, name: str, description: str, public: bool = True) -> RemotePlaylist:
        """Create Playlist for the token's user (`POST /me/playlists`)."""
        doc = self._call(
            "create_playlist",
            lambda: self._sp.current_user_playlist_create(name, public=public, description=description),
        )
        return _parse_playlist(doc, f"created {name!r}")

    def change_details(self, playlist_id: str, name: str, description: str, public: bool = True) -> None:
        """Change Playlist Details (`PUT /playlists/{id}`)."""
        self._call(
            "playlist_details",
            lambda: self._sp.playlist_change_details(playlist_id, name=name, public=public, description=description),
        )

    def replace_items(self, playlist_id: str, uris: list[str]) -> None:
        """Replace the playlist's items (`PUT /playlists/{id}/items`, ≤ 100), then add the rest in order."""
        first, rest = uris[:ITEMS_PER_REQUEST], uris[ITEMS_PER_REQUEST:]
        self._call("replace_items", lambda: self._sp.playlist_replace_items(playlist_id, first))
        for start in range(0, len(rest), ITEMS_PER_REQUEST):
            chunk = rest[start : start + ITEMS_PER_REQUEST]
            self._call("add_items", lambda chunk=chunk: self._sp.playlist_add_items(playlist_id, chunk))

    def reorder(
        self,
        playlist_id: str,
        range_start: int,
        insert_before: int,
        range_length: int = 1,
        snapshot_id: str | None = None,
    ) -> str:
        """Move `range_length` items from `range_start` to before `insert_before` (`PUT /playlists/{id}/items`
        with a reorder body); returns the new snapshot id."""
        doc = self._call(
            "reorder_items",
            lambda: self._sp.playlist_reorder_items(
                playlist_id, range_start, insert_before, range_length=range_length, snapshot_id=snapshot_id
            ),
        )
        return Payload(doc, service=SERVICE, entity="playlist", entity_id=playlist_id).text("snapshot_id")

    def remove(self, playlist_id: str, uris: list[str], snapshot_id: str | None = None) -> str:
        """Remove every occurrence of `uris` (`DELETE /playlists/{id}/items`, ≤ 100 per request); returns the
        last snapshot id."""
        snapshot = snapshot_id or ""
        for start in range(0, len(uris), ITEMS_PER_REQUEST):
            chunk = uris[start : start + ITEMS_PER_REQUEST]
            doc = self._call(
                "remove_items",
                lambda chunk=chunk: self._sp.playlist_remove_all_occurrences_of_items(
                    playlist_id, chunk, snapshot_id=snapshot_id
                ),
            )
            snapshot = Payload(doc, service=SERVICE, entity="playlist", entity_id=playlist_id).text("snapshot_id")
        return snapshot


def expires_in_seconds(expires_at: int | None, now: float | None = None) -> float | None:
    """Seconds until `expires_at` (epoch seconds), None when unknown."""
    if expires_at is None:
        return None
    return expires_at - (time.time() if now is None else now)
