"""A local server speaking the Spotify Web API's published JSON (OpenAPI description 2026.5.31) for the endpoints
Backbeat calls.

- `POST /api/token` — client-credentials grant (Basic auth), answers `access_token`, `token_type`, `expires_in`;
- `GET /v1/albums?ids=` (≤ 20) — `{"albums": [album | null]}`, each album with its first tracks page (limit 50);
- `GET /v1/albums/{id}/tracks?offset=&limit=` (≤ 50) — a paging object: `href, items, limit, next, offset,
  previous, total`;
- `GET /v1/tracks?ids=` (≤ 50) — full tracks: `external_ids.isrc`, `duration_ms`, `explicit`, `popularity`;
- `GET /v1/artists?ids=` (≤ 50) — full artists with `genres`;
- `GET /v1/albums/{id}`, `/v1/tracks/{id}`, `/v1/artists/{id}` — one full object each (404 when unknown).

The batch reads above are deprecated in the published description. With `extended_access=False` the server
behaves as Spotify does for apps without extended access: the batch reads and `POST /users/{id}/playlists`
answer 403, and the single reads leave out `popularity`, `genres` and `label` (deprecated fields). Kept quirk
(documented by Spotify, not in the schema): an unknown id in a batch read comes back as `null` in its place.

Playlists of user accounts (authorization-code tokens; `add_user(user_id, refresh_token)` registers one):

- `POST /api/token` with `grant_type=refresh_token` — a user access token (`rotate_refresh_tokens` also
  returns a new refresh token and retires the old one, as Spotify may); an unknown one answers 400 invalid_grant;
- `GET /v1/me` — the token's user; `country` and `product` only with the `user-read-private` scope, `email`
  only with `user-read-email` (scopes per user: `add_user(..., scopes=...)`);
- `GET /v1/me/playlists?offset=&limit=` (≤ 50) — a paging object of the user's playlists;
- `POST /v1/me/playlists` (and the deprecated `POST /v1/users/{user_id}/playlists`) — create (201);
- `GET /v1/playlists/{id}` — the playlist with its first items page; `PUT /v1/playlists/{id}` — change details;
- `GET /v1/playlists/{id}/items?limit=&offset=&fields=&market=` — a paging object (limit 1-50, default 20) of
  playlist items `{added_at, added_by, is_local, item, track}` (`track` is the deprecated copy of `item`);
  `fields` filters the answer as Spotify's syntax does (`items(item(uri)),next,total`);
- `PUT /v1/playlists/{id}/items` — replace items (`{"uris": [...]}`, ≤ 100) or reorder them (`{"range_start",
  "insert_before", "range_length", "snapshot_id"}`); `POST` — add items (201); `DELETE` — remove every
  occurrence of `{"items": [{"uri"}]}` (older name `tracks` accepted). All answer `{"snapshot_id"}`; the older
  `/tracks` path is accepted for each;
- a user registered with `development_mode=True` is refused every playlist write with 403, as Spotify refuses
  development-mode apps since 2024-11-27; a user token is required for these endpoints (403 otherwise), and
  writes to another user's playlist answer 403.

Errors look like Spotify's, for every path and method (never an HTML page):
`{"error": {"status": 401, "message": "The access token expired"}}`; a rate limit
over a rolling 30 s window answers 429 with Retry-After, as Spotify does. Faults come from a `FaultPlan`.
"""

import base64
import json
import math
import random
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from backbeat.demo.standins._http import FakeServer, FaultPlan, Response, json_response
from backbeat.demo.standins.catalog import FakeAlbum, FakeArtist, FakeCatalog, FakeTrack

ENDPOINTS = ("token", "albums", "album_tracks", "tracks", "artists", "album", "track", "artist")
_MAX_IDS = {"albums": 20, "tracks": 50, "artists": 50}
_SINGLE = {"albums": "album", "tracks": "track", "artists": "artist"}
DEFAULT_SCOPES = "playlist-read-private playlist-modify-public playlist-modify-private"
EXTENDED_ACCESS_REQUIRED = "Forbidden: this endpoint requires extended access"
_MARKET = re.compile(r"^[A-Z]{2}$")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"error": {"status": status, "message": message}}, headers)


def _page(query: dict[str, list[str]]) -> tuple[int, int] | Response:
    """(offset, limit) of a paged request, as Spotify bounds them (limit 1-50, default 20); else its 400."""
    try:
        offset = int(query.get("offset", ["0"])[0])
        limit = int(query.get("limit", ["20"])[0])
    except ValueError:
        return _error(400, "Invalid offset or limit")
    if offset < 0 or not 1 <= limit <= 50:
        return _error(400, "Invalid limit")
    return offset, limit


_URI = re.compile(r"^spotify:(track|episode):[0-9A-Za-z]{22}$")
_WRITES = ("create_playlist", "playlist_details", "replace_items", "add_items", "remove_items")
MAX_ITEMS = 100


@dataclass
class FakeUser:
    id: str
    display_name: str
    development_mode: bool = False
    scopes: str = DEFAULT_SCOPES


@dataclass
class FakePlaylist:
    id: str
    owner: str
    name: str
    description: str
    public: bool
    collaborative: bool = False
    uris: list[str] = field(default_factory=list)
    version: int = 1

    @property
    def snapshot_id(self) -> str:
        return base64.urlsafe_b64encode(f"{self.id}:{self.version}".encode()).decode().rstrip("=")


def _playlist_endpoint(method: str, parts: list[str]) -> str | None:
    """The name of a playlist endpoint (for fault plans and counts), None for the catalog endpoints."""
    names: dict[tuple[str, ...], dict[str, str]] = {
        ("me",): {"GET": "me"},
        ("me", "playlists"): {"GET": "me_playlists", "POST": "create_playlist"},
        ("users", "*", "playlists"): {"GET": "user_playlists", "POST": "create_playlist"},
        ("playlists", "*"): {"GET": "playlist", "PUT": "playlist_details"},
        ("playlists", "*", "items"): {
            "GET": "playlist_items",
            "PUT": "replace_items",
            "POST": "add_items",
            "DELETE": "remove_items",
        },
    }
    shape = tuple("*" if n == 1 and parts[0] in ("users", "playlists") else p for n, p in enumerate(parts))
    if len(shape) == 3 and shape[0] == "playlists" and shape[2] == "tracks":
        shape = ("playlists", "*", "items")  # the older name of the items endpoints
    methods = names.get(shape)
    if methods is None:
        return None
    return methods.get(method, "playlists_method_not_allowed")


def _uris(body: bytes, query: dict[str, list[str]]) -> tuple[list[str] | None, int | None, str | None]:
    """(uris, position, problem) from a body `{"uris": [...], "position": n}`, a bare JSON list, or `?uris=`."""
    payload: Any = None
    if body.strip():
        try:
            payload = json.loads(body)
        except ValueError:
            return None, None, "Error parsing JSON"
    position = None
    if isinstance(payload, dict):
        uris, position = payload.get("uris"), payload.get("position")
    elif isinstance(payload, list):
        uris = payload
    else:
        uris = [u for u in ",".join(query.get("uris", [])).split(",") if u]
    if "position" in query:
        position = int(query["position"][0])
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        return None, None, "uris must be a list of Spotify URIs"
    if len(uris) > MAX_ITEMS:
        return None, None, f"Too many items: at most {MAX_ITEMS} per request"
    bad = [u for u in uris if not _URI.match(u)]
    if bad:
        return None, None, f"Invalid base62 id: {bad[0]}"
    return uris, position, None


class RollingWindow:
    """At most `limit` accepted requests in any `window` seconds; answers how long until the next one fits."""

    def __init__(self, limit: int, window: float = 30.0) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self, now: float) -> float:
        """0 if admitted (and counted); else the seconds until a slot frees up."""
        with self._lock:
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            if len(self._times) < self.limit:
                self._times.append(now)
                return 0.0
            return self._times[0] + self.window - now


class FakeSpotify(FakeServer):
    """Serves `catalog`. `rate_limit=(N, 30.0)` enables the rolling-window 429; `album_page_limit` is the size
    of the tracks page embedded in albums (Spotify: 50)."""

    # PUT and DELETE serve playlist endpoints; PATCH is routed too so that it gets Spotify's JSON 405, not the
    # standard library's HTML 501.
    extra_methods = ("PUT", "DELETE", "PATCH")

    def __init__(
        self,
        catalog: FakeCatalog,
        plan: FaultPlan | None = None,
        *,
        client_id: str = "backbeat-test",
        client_secret: str = "s3cret-test",
        expires_in: int = 3600,
        rate_limit: tuple[int, float] | None = None,
        album_page_limit: int = 50,
        latency: tuple[float, float] = (0.0, 0.0),
        seed: int = 0,
        extended_access: bool = True,
    ) -> None:
        super().__init__(latency=latency, seed=seed)
        self.catalog = catalog
        self.plan = plan or FaultPlan()
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.window = RollingWindow(*rate_limit) if rate_limit else None
        self.album_page_limit = album_page_limit
        self.extended_access = extended_access  # False: deprecated batch reads refused, deprecated fields left out
        self._tokens: dict[str, int] = {}  # access token → API requests made with it
        self._tokens_lock = threading.Lock()
        # user accounts and their playlists (see the module docstring)
        self.users: dict[str, FakeUser] = {}
        self.rotate_refresh_tokens = False
        self.refreshes: Counter[str] = Counter()  # user id → refresh-token grants served
        self.playlists: dict[str, FakePlaylist] = {}
        self._refresh_tokens: dict[str, str] = {}  # refresh token → user id
        self._token_users: dict[str, str] = {}  # user access token → user id
        self._playlists_lock = threading.Lock()
        self._ids = random.Random(seed + 1)

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1/"

    @property
    def token_url(self) -> str:
        return f"{self.url}/api/token"

    @property
    def issued_tokens(self) -> list[str]:
        with self._tokens_lock:
            return list(self._tokens)

    # -- routing -----------------------------------------------------------------------------------------

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[str, Response]:
        path = path.rstrip("/")
        if path == "/api/token":
            return "token", self._token(method, headers, body)
        parts = path.split("/")  # ['', 'v1', 'albums', ...]
        if len(parts) < 3 or parts[1] != "v1":
            return "unknown", _error(404, "Service not found")
        playlist_endpoint = _playlist_endpoint(method, parts[2:])
        endpoint = "album_tracks" if len(parts) == 5 and parts[2] == "albums" and parts[4] == "tracks" else parts[2]
        if len(parts) == 4 and parts[2] in _SINGLE:
            endpoint = _SINGLE[parts[2]]
        endpoint = playlist_endpoint or endpoint
        refused = self._check_token(headers.get("authorization", ""))
        if refused is not None:
            return endpoint, refused
        if self.window is not None:
            wait = self.window.admit(time.monotonic())
            if wait > 0:
                return endpoint, _error(429, "API rate limit exceeded", {"Retry-After": str(math.ceil(wait))})
        burst = self.plan.take_failure(endpoint)
        if burst is not None:
            headers_out = {"Retry-After": f"{burst.retry_after:g}"} if burst.retry_after is not None else {}
            if burst.body is not None:
                return endpoint, Response(
                    burst.status, burst.body.encode(), {"Content-Type": "application/json", **headers_out}
                )
            return endpoint, _error(burst.status, _REASONS.get(burst.status, "error"), headers_out)
        if playlist_endpoint is not None:
            token = headers.get("authorization", "").removeprefix("Bearer ").strip()
            with self._tokens_lock:
                user = self._token_users.get(token)
            return endpoint, self._playlist_route(endpoint, method, parts[2:], query, body, user)
        if method != "GET":
            return endpoint, _error(405, "Method not allowed")
        if endpoint == "album_tracks":
            return endpoint, self._album_tracks(parts[3], query)
        if endpoint in _MAX_IDS and len(parts) == 3:
            if not self.extended_access:
                return endpoint, _error(403, EXTENDED_ACCESS_REQUIRED)
            return endpoint, self._several(endpoint, query)
        if endpoint in _SINGLE.values():
            return endpoint, self._single(parts[2], parts[3])
        return endpoint, _error(404, "Service not found")

    def _token(self, method: str, headers: dict[str, str], body: bytes) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = parse_qs(body.decode())
        if method == "POST" and form.get("grant_type") == ["refresh_token"]:
            return self._refresh_grant(headers.get("authorization", "") == f"Basic {expected}", form)
        if method != "POST" or form.get("grant_type") != ["client_credentials"]:
            return json_response(
                400, {"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"}
            )
        if headers.get("authorization", "") != f"Basic {expected}":
            return json_response(400, {"error": "invalid_client", "error_description": "Invalid client"})
        burst = self.plan.take_failure("token")
        if burst is not None:
            return json_response(burst.status, {"error": "server_error", "error_description": "try again"})
        token = "BQ" + secrets.token_urlsafe(24)
        with self._tokens_lock:
            self._tokens[token] = 0
        return json_response(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in})

    def _check_token(self, authorization: str) -> Response | None:
        token = authorization.removeprefix("Bearer ").strip()
        with self._tokens_lock:
            if token not in self._tokens:
                return _error(401, "Invalid access token")
            self._tokens[token] += 1
            used = self._tokens[token]
        if self.plan.refuse_tokens or (self.plan.token_uses is not None and used > self.plan.token_uses):
            return _error(401, "The access token expired")
        return None

    def _several(self, endpoint: str, query: dict[str, list[str]]) -> Response:
        ids = [i for i in ",".join(query.get("ids", [])).split(",") if i]
        if not ids:
            return _error(400, "invalid id")
        if len(ids) > _MAX_IDS[endpoint]:
            return _error(400, "Too many ids requested")
        build, table = self._kind(endpoint)
        return json_response(200, {endpoint: [build(table[i]) if i in table else None for i in ids]})

    def _kind(self, kind: str) -> tuple[Callable[[Any], dict[str, Any]], dict[str, Any]]:
        """The document builder and the catalog table of `albums`, `tracks` or `artists`."""
        builders: dict[str, Callable[[Any], dict[str, Any]]] = {
            "albums": self._album_json,
            "tracks": self._track_json,
            "artists": self._artist_json,
        }
        tables: dict[str, dict[str, Any]] = {
            "albums": self.catalog.albums,
            "tracks": self.catalog.tracks,
            "artists": self.catalog.artists,
        }
        return builders[kind], tables[kind]

    def _single(self, kind: str, entity_id: str) -> Response:
        build, table = self._kind(kind)
        if entity_id not in table:
            return _error(404, "Resource not found" if re.fullmatch(r"[0-9A-Za-z]{22}", entity_id) else "Invalid id")
        return json_response(200, build(table[entity_id]))

    def _album_tracks(self, album_id: str, query: dict[str, list[str]]) -> Response:
        album = self.catalog.albums.get(album_id)
        if album is None:
            return _error(404, "Resource not found")
        page = _page(query)
        if isinstance(page, Response):
            return page
        offset, limit = page
        return json_response(200, self._tracks_page(album, offset, limit))

    # -- documents ---------------------------------------------------------------------------------------

    def _href(self, path: str) -> str:
        return f"{self.url}/v1/{path}"

    def _artist_ref(self, artist_id: str) -> dict[str, Any]:
        artist = self.catalog.artists[artist_id]
        return {
            "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist.id}"},
            "href": self._href(f"artists/{artist.id}"),
            "id": artist.id,
            "name": artist.name,
            "type": "artist",
            "uri": f"spotify:artist:{artist.id}",
        }

    def _simple_track_json(self, track: FakeTrack) -> dict[str, Any]:
        doc = {
            "artists": [self._artist_ref(a) for a in track.artist_ids],
            "available_markets": ["DE", "GB", "US"],
            "disc_number": track.disc_number,
            "duration_ms": track.duration_ms,
            "explicit": track.explicit,
            "external_urls": {"spotify": f"https://open.spotify.com/track/{track.id}"},
            "href": self._href(f"tracks/{track.id}"),
            "id": track.id,
            "is_local": False,
            "name": track.name,
            "preview_url": None,
            "track_number": track.track_number,
            "type": "track",
            "uri": f"spotify:track:{track.id}",
        }
        return self.plan.apply(track.id, doc)

    def _tracks_page(self, album: FakeAlbum, offset: int, limit: int) -> dict[str, Any]:
        ids = album.track_ids[offset : offset + limit]
        total = len(album.track_ids)

        def page_url(at: int) -> str:
            return self._href(f"albums/{album.id}/tracks?offset={at}&limit={limit}")

        return {
            "href": page_url(offset),
            "items": [self._simple_track_json(self.catalog.tracks[t]) for t in ids],
            "limit": limit,
            "next": page_url(offset + limit) if offset + limit < total else None,
            "offset": offset,
            "previous": page_url(max(0, offset - limit)) if offset > 0 else None,
            "total": total,
        }

    def _simple_album_json(self, album: FakeAlbum) -> dict[str, Any]:
        """A SimplifiedAlbumObject: every field the published description requires."""
        return {
            "album_type": album.album_type,
            "total_tracks": len(album.track_ids),
            "available_markets": ["DE", "GB", "US"],
            "external_urls": {"spotify": f"https://open.spotify.com/album/{album.id}"},
            "href": self._href(f"albums/{album.id}"),
            "id": album.id,
            "images": [{"url": f"https://i.scdn.co/image/{album.id}", "height": 640, "width": 640}],
            "name": album.name,
            "release_date": album.release_date,
            "release_date_precision": "day",
            "type": "album",
            "uri": f"spotify:album:{album.id}",
            "artists": [self._artist_ref(a) for a in album.artist_ids],
        }

    def _album_json(self, album: FakeAlbum) -> dict[str, Any]:
        doc = {
            **self._simple_album_json(album),
            "tracks": self._tracks_page(album, 0, self.album_page_limit),
            "copyrights": [{"text": f"(P) {album.release_date[:4]} {album.label}", "type": "P"}],
            "external_ids": {"upc": album.upc},
            "genres": [],
            "label": album.label,
            "popularity": album.popularity,
        }
        if not self.extended_access:
            for key in ("genres", "label", "popularity"):
                doc.pop(key)
        return self.plan.apply(album.id, doc)

    def _track_json(self, track: FakeTrack) -> dict[str, Any]:
        album = self.catalog.albums[track.album_id]
        doc = {
            **self._simple_track_json(track),
            "album": self._simple_album_json(album),
            "external_ids": {"isrc": track.isrc},
            "popularity": track.popularity,
        }
        if not self.extended_access:
            doc.pop("popularity")
        return self.plan.apply(track.id, doc)

    def _artist_json(self, artist: FakeArtist) -> dict[str, Any]:
        doc = {
            **self._artist_ref(artist.id),
            "followers": {"href": None, "total": artist.popularity * 1000},
            "genres": list(artist.genres),
            "images": [],
            "popularity": artist.popularity,
        }
        if not self.extended_access:
            for key in ("followers", "genres", "popularity"):
                doc.pop(key)
        return self.plan.apply(artist.id, doc)

    # -- user accounts and playlists ----------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        refresh_token: str,
        *,
        development_mode: bool = False,
        display_name: str | None = None,
        scopes: str = DEFAULT_SCOPES,
    ) -> FakeUser:
        """Register a Spotify user whose app authorisation is `refresh_token`, granted `scopes`."""
        user = FakeUser(user_id, display_name or user_id, development_mode, scopes)
        with self._tokens_lock:
            self.users[user_id] = user
            self._refresh_tokens[refresh_token] = user_id
        return user

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """The user withdrew the app's access: the refresh token answers invalid_grant from now on."""
        with self._tokens_lock:
            self._refresh_tokens.pop(refresh_token, None)

    def user_playlists(self, user_id: str) -> list[FakePlaylist]:
        """The user's playlists in creation order."""
        with self._playlists_lock:
            return [p for p in self.playlists.values() if p.owner == user_id]

    def _refresh_grant(self, client_ok: bool, form: dict[str, list[str]]) -> Response:
        if not client_ok:
            return json_response(400, {"error": "invalid_client", "error_description": "Invalid client"})
        burst = self.plan.take_failure("token")
        if burst is not None:
            return json_response(burst.status, {"error": "server_error", "error_description": "try again"})
        refresh_token = (form.get("refresh_token") or [""])[0]
        with self._tokens_lock:
            user_id = self._refresh_tokens.get(refresh_token)
            if user_id is None:
                return json_response(400, {"error": "invalid_grant", "error_description": "Invalid refresh token"})
            token = "BQ" + secrets.token_urlsafe(24)
            self._tokens[token] = 0
            self._token_users[token] = user_id
            self.refreshes[user_id] += 1
            answer: dict[str, Any] = {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "scope": self.users[user_id].scopes,
            }
            if self.rotate_refresh_tokens:
                new_refresh = "AQ" + secrets.token_urlsafe(32)
                del self._refresh_tokens[refresh_token]
                self._refresh_tokens[new_refresh] = user_id
                answer["refresh_token"] = new_refresh
        return json_response(200, answer)

    def _new_playlist_id(self) -> str:
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        while True:
            candidate = "".join(self._ids.choice(alphabet) for _ in range(22))
            if candidate not in self.playlists:
                return candidate

    def _user_ref(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id)
        return {
            "display_name": user.display_name if user else user_id,
            "id": user_id,
            "type": "user",
            "external_urls": {"spotify": f"https://open.spotify.com/user/{user_id}"},
            "href": self._href(f"users/{user_id}"),
            "uri": f"spotify:user:{user_id}",
        }

    def _playlist_item(self, playlist: FakePlaylist, uri: str, market: str | None) -> dict[str, Any]:
        """A PlaylistTrackObject: `item` (the track or episode) and its deprecated copy `track`."""
        kind, item_id = uri.split(":")[1], uri.rsplit(":", 1)[1]
        if kind == "track" and item_id in self.catalog.tracks:
            item = self._track_json(self.catalog.tracks[item_id])
            if market is not None:  # relinked for the market: playability instead of the market list
                item = {k: v for k, v in item.items() if k != "available_markets"}
                item["is_playable"] = market in ("DE", "GB", "US", "from_token")
        else:
            item = {"id": item_id, "type": kind, "uri": uri, "name": None}
        return {
            "added_at": "2026-01-01T00:00:00Z",
            "added_by": self._user_ref(playlist.owner),
            "is_local": False,
            "item": item,
            "track": item,
        }

    def _items_page(self, playlist: FakePlaylist, offset: int, limit: int, market: str | None = None) -> dict[str, Any]:
        total = len(playlist.uris)

        def page_url(at: int) -> str:
            extra = f"&market={market}" if market else ""
            return self._href(f"playlists/{playlist.id}/items?offset={at}&limit={limit}{extra}")

        return {
            "href": page_url(offset),
            "items": [self._playlist_item(playlist, u, market) for u in playlist.uris[offset : offset + limit]],
            "limit": limit,
            "next": page_url(offset + limit) if offset + limit < total else None,
            "offset": offset,
            "previous": page_url(max(0, offset - limit)) if offset > 0 else None,
            "total": total,
        }

    def _playlist_json(self, playlist: FakePlaylist, *, full: bool = False) -> dict[str, Any]:
        items: dict[str, Any] = {"href": self._href(f"playlists/{playlist.id}/items"), "total": len(playlist.uris)}
        if full:
            items = self._items_page(playlist, 0, MAX_ITEMS)
        return {
            "collaborative": playlist.collaborative,
            "description": playlist.description,
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist.id}"},
            "href": self._href(f"playlists/{playlist.id}"),
            "id": playlist.id,
            "images": [],
            "name": playlist.name,
            "owner": self._user_ref(playlist.owner),
            "public": playlist.public,
            "snapshot_id": playlist.snapshot_id,
            "tracks": items,
            "items": items,
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist.id}",
        }

    def _playlist_items(self, playlist: FakePlaylist, query: dict[str, list[str]]) -> Response:
        page = _page(query)
        if isinstance(page, Response):
            return page
        offset, limit = page
        market = query.get("market", [None])[0]
        if market is not None and market != "from_token" and not _MARKET.match(market):
            return _error(400, "Invalid market code")
        doc = self._items_page(playlist, offset, limit, market)
        fields = query.get("fields", [None])[0]
        if fields:
            try:
                doc = select_fields(doc, parse_fields(fields))
            except ValueError as exc:
                return _error(400, f"Invalid fields: {exc}")
        return json_response(200, doc)

    def _playlist_route(
        self,
        endpoint: str,
        method: str,
        parts: list[str],
        query: dict[str, list[str]],
        body: bytes,
        user_id: str | None,
    ) -> Response:
        if endpoint == "playlists_method_not_allowed":
            return _error(405, "Method not allowed")
        if user_id is None:
            return _error(403, "This request requires a user access token (authorization code flow)")
        user = self.users[user_id]
        if endpoint in _WRITES and user.development_mode:
            return _error(403, "Forbidden: this app is in development mode and may not modify playlists for this user")
        if endpoint == "me":
            granted = set(user.scopes.split())
            doc: dict[str, Any] = {**self._user_ref(user_id), "followers": {"href": None, "total": 0}, "images": []}
            if "user-read-private" in granted:
                doc.update(
                    country="NL", product="premium", explicit_content={"filter_enabled": False, "filter_locked": False}
                )
            if "user-read-email" in granted:
                doc["email"] = f"{user_id}@example.com"
            return json_response(200, doc)
        if endpoint in ("me_playlists", "user_playlists"):
            owner = user_id if endpoint == "me_playlists" else parts[1]
            return self._list_playlists(
                owner, query, "me/playlists" if endpoint == "me_playlists" else f"users/{owner}/playlists"
            )
        if endpoint == "create_playlist":
            if parts[0] == "users" and not self.extended_access:
                return _error(403, EXTENDED_ACCESS_REQUIRED)
            if parts[0] == "users" and parts[1] != user_id:
                return _error(403, "You cannot create a playlist for another user.")
            try:
                doc = json.loads(body or b"{}")
            except ValueError:
                return _error(400, "Error parsing JSON")
            name = doc.get("name") if isinstance(doc, dict) else None
            if not isinstance(name, str) or not name:
                return _error(400, "Missing required field: name")
            with self._playlists_lock:
                playlist = FakePlaylist(
                    self._new_playlist_id(),
                    user_id,
                    name,
                    str(doc.get("description") or ""),
                    bool(doc.get("public", True)),
                    bool(doc.get("collaborative", False)),
                )
                self.playlists[playlist.id] = playlist
            return json_response(201, self._playlist_json(playlist, full=True))
        with self._playlists_lock:
            playlist = self.playlists.get(parts[1])
        if playlist is None:
            return _error(404, "Resource not found")
        if endpoint == "playlist":
            return json_response(200, self._playlist_json(playlist, full=True))
        if endpoint == "playlist_items":
            return self._playlist_items(playlist, query)
        if playlist.owner != user_id:
            return _error(403, "You cannot modify another user's playlist.")
        if endpoint == "playlist_details":
            try:
                doc = json.loads(body or b"{}")
            except ValueError:
                return _error(400, "Error parsing JSON")
            if not isinstance(doc, dict):
                return _error(400, "Error parsing JSON")
            with self._playlists_lock:
                for key in ("name", "description"):
                    if isinstance(doc.get(key), str):
                        setattr(playlist, key, doc[key])
                for key in ("public", "collaborative"):
                    if isinstance(doc.get(key), bool):
                        setattr(playlist, key, doc[key])
            return Response(200, b"", {})
        if endpoint == "remove_items":
            return self._remove_items(playlist, body)
        if endpoint == "replace_items" and _is_reorder(body):
            return self._reorder_items(playlist, body)
        uris, position, problem = _uris(body, query)
        if problem is not None or uris is None:
            return _error(400, problem or "Invalid request")
        with self._playlists_lock:
            if endpoint == "replace_items":
                playlist.uris = list(uris)
            else:
                at = len(playlist.uris) if position is None else max(0, min(position, len(playlist.uris)))
                playlist.uris[at:at] = uris
            playlist.version += 1
            snapshot = playlist.snapshot_id
        return json_response(200 if endpoint == "replace_items" else 201, {"snapshot_id": snapshot})

    def _reorder_items(self, playlist: FakePlaylist, body: bytes) -> Response:
        """Move `range_length` items from `range_start` to before `insert_before` (Update Playlist Items)."""
        doc = json.loads(body)
        start, before, length = doc.get("range_start"), doc.get("insert_before"), doc.get("range_length", 1)
        snapshot = doc.get("snapshot_id")
        with self._playlists_lock:
            size = len(playlist.uris)
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, before, length)):
                return _error(400, "range_start, insert_before and range_length must be integers")
            if not (0 <= start < size and 0 <= before <= size and length >= 1 and start + length <= size):
                return _error(400, "Index out of bounds")
            if snapshot is not None and not isinstance(snapshot, str):
                return _error(400, "Invalid snapshot_id")
            moved = playlist.uris[start : start + length]
            rest = playlist.uris[:start] + playlist.uris[start + length :]
            at = before if before <= start else before - length
            playlist.uris = rest[:at] + moved + rest[at:]
            playlist.version += 1
            return json_response(200, {"snapshot_id": playlist.snapshot_id})

    def _remove_items(self, playlist: FakePlaylist, body: bytes) -> Response:
        """Remove every occurrence of the given URIs (Remove Playlist Items); `tracks` is the older body key."""
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "Error parsing JSON")
        entries = doc.get("items", doc.get("tracks")) if isinstance(doc, dict) else None
        if not isinstance(entries, list) or not entries:
            return _error(400, "Missing required field: items")
        if len(entries) > MAX_ITEMS:
            return _error(400, f"Too many items: at most {MAX_ITEMS} per request")
        uris = [e.get("uri") if isinstance(e, dict) else None for e in entries]
        bad = [u for u in uris if not isinstance(u, str) or not _URI.match(u)]
        if bad:
            return _error(400, f"Invalid track uri: {bad[0]}")
        with self._playlists_lock:
            gone = set(uris)
            playlist.uris = [u for u in playlist.uris if u not in gone]
            playlist.version += 1
            return json_response(200, {"snapshot_id": playlist.snapshot_id})

    def _list_playlists(self, owner: str, query: dict[str, list[str]], path: str) -> Response:
        page = _page(query)
        if isinstance(page, Response):
            return page
        offset, limit = page
        mine = self.user_playlists(owner)
        total = len(mine)

        def page_url(at: int) -> str:
            return self._href(f"{path}?offset={at}&limit={limit}")

        return json_response(
            200,
            {
                "href": page_url(offset),
                "items": [self._playlist_json(p) for p in mine[offset : offset + limit]],
                "limit": limit,
                "next": page_url(offset + limit) if offset + limit < total else None,
                "offset": offset,
                "previous": page_url(max(0, offset - limit)) if offset > 0 else None,
                "total": total,
            },
        )


_REASONS = {
    429: "API rate limit exceeded",
    500: "Server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def _is_reorder(body: bytes) -> bool:
    """Whether a `PUT .../items` body asks to reorder (`range_start`...) rather than to replace (`uris`)."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return False
    return isinstance(doc, dict) and "range_start" in doc and "uris" not in doc


def parse_fields(spec: str) -> dict[str, Any]:
    """Spotify's `fields` filter, `items(added_at,item(name,uri)),total`, as a tree: name → subtree (or {})."""
    tree: dict[str, Any] = {}
    stack = [tree]
    name = ""
    for char in spec + ",":
        if char in ",()":
            if name.strip():
                stack[-1][name.strip()] = {}
            if char == "(":
                if not name.strip():
                    raise ValueError("'(' without a field name")
                stack.append(stack[-1][name.strip()])
            elif char == ")":
                if len(stack) == 1:
                    raise ValueError("unbalanced ')'")
                stack.pop()
            name = ""
        elif char in "!/":
            raise ValueError(f"unsupported character {char!r}")
        else:
            name += char
    if len(stack) != 1:
        raise ValueError("unbalanced '('")
    return tree


def select_fields(doc: Any, tree: dict[str, Any]) -> Any:
    """`doc` reduced to the fields of `tree` (a list keeps its entries, each reduced)."""
    if not tree:
        return doc
    if isinstance(doc, list):
        return [select_fields(d, tree) for d in doc]
    if not isinstance(doc, dict):
        return doc
    return {k: select_fields(doc[k], sub) for k, sub in tree.items() if k in doc}
