"""A local server speaking the Spotify Web API's documented JSON for the catalog endpoints Backbeat reads.

- `POST /api/token` — client-credentials grant (Basic auth), answers `access_token`, `token_type`, `expires_in`;
- `GET /v1/albums?ids=` (≤ 20) — `{"albums": [album | null]}`, each album with its first tracks page (limit 50);
- `GET /v1/albums/{id}/tracks?offset=&limit=` (≤ 50) — a paging object: `href, items, limit, next, offset,
  previous, total`;
- `GET /v1/tracks?ids=` (≤ 50) — full tracks: `external_ids.isrc`, `duration_ms`, `explicit`, `popularity`;
- `GET /v1/artists?ids=` (≤ 50) — full artists with `genres`.

Errors look like Spotify's: `{"error": {"status": 401, "message": "The access token expired"}}`; a rate limit
over a rolling 30 s window answers 429 with Retry-After, as Spotify does. Faults come from a `FaultPlan`.
"""

import base64
import math
import secrets
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from integrations.fakes._http import FakeServer, FaultPlan, Response, json_response
from integrations.fakes.catalog import FakeAlbum, FakeArtist, FakeCatalog, FakeTrack

ENDPOINTS = ("token", "albums", "album_tracks", "tracks", "artists")
_MAX_IDS = {"albums": 20, "tracks": 50, "artists": 50}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"error": {"status": status, "message": message}}, headers)


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

    def __init__(self, catalog: FakeCatalog, plan: FaultPlan | None = None, *, client_id: str = "backbeat-test",
                 client_secret: str = "s3cret-test", expires_in: int = 3600,
                 rate_limit: tuple[int, float] | None = None, album_page_limit: int = 50,
                 latency: tuple[float, float] = (0.0, 0.0), seed: int = 0) -> None:
        super().__init__(latency=latency, seed=seed)
        self.catalog = catalog
        self.plan = plan or FaultPlan()
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.window = RollingWindow(*rate_limit) if rate_limit else None
        self.album_page_limit = album_page_limit
        self._tokens: dict[str, int] = {}  # access token → API requests made with it
        self._tokens_lock = threading.Lock()

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

    def route(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
              body: bytes) -> tuple[str, Response]:
        path = path.rstrip("/")
        if path == "/api/token":
            return "token", self._token(method, headers, body)
        parts = path.split("/")  # ['', 'v1', 'albums', ...]
        if len(parts) < 3 or parts[1] != "v1":
            return "unknown", _error(404, "Service not found")
        endpoint = "album_tracks" if len(parts) == 5 and parts[2] == "albums" and parts[4] == "tracks" else parts[2]
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
                return endpoint, Response(burst.status, burst.body.encode(), {"Content-Type": "application/json",
                                                                               **headers_out})
            return endpoint, _error(burst.status, _REASONS.get(burst.status, "error"), headers_out)
        if method != "GET":
            return endpoint, _error(405, "Method not allowed")
        if endpoint == "album_tracks":
            return endpoint, self._album_tracks(parts[3], query)
        if endpoint in _MAX_IDS and len(parts) == 3:
            return endpoint, self._several(endpoint, query)
        return endpoint, _error(404, "Service not found")

    def _token(self, method: str, headers: dict[str, str], body: bytes) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = parse_qs(body.decode())
        if method != "POST" or form.get("grant_type") != ["client_credentials"]:
            return json_response(400, {"error": "unsupported_grant_type",
                                       "error_description": "grant_type must be client_credentials"})
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
        build = {"albums": self._album_json, "tracks": self._track_json, "artists": self._artist_json}[endpoint]
        table: dict[str, Any] = {"albums": self.catalog.albums, "tracks": self.catalog.tracks,
                                 "artists": self.catalog.artists}[endpoint]
        return json_response(200, {endpoint: [build(table[i]) if i in table else None for i in ids]})

    def _album_tracks(self, album_id: str, query: dict[str, list[str]]) -> Response:
        album = self.catalog.albums.get(album_id)
        if album is None:
            return _error(404, "Resource not found")
        try:
            offset = int(query.get("offset", ["0"])[0])
            limit = int(query.get("limit", ["20"])[0])
        except ValueError:
            return _error(400, "Invalid offset or limit")
        if offset < 0 or not 1 <= limit <= 50:
            return _error(400, "Invalid limit")
        return json_response(200, self._tracks_page(album, offset, limit))

    # -- documents ---------------------------------------------------------------------------------------

    def _href(self, path: str) -> str:
        return f"{self.url}/v1/{path}"

    def _artist_ref(self, artist_id: str) -> dict[str, Any]:
        artist = self.catalog.artists[artist_id]
        return {"external_urls": {"spotify": f"https://open.spotify.com/artist/{artist.id}"},
                "href": self._href(f"artists/{artist.id}"), "id": artist.id, "name": artist.name,
                "type": "artist", "uri": f"spotify:artist:{artist.id}"}

    def _simple_track_json(self, track: FakeTrack) -> dict[str, Any]:
        doc = {"artists": [self._artist_ref(a) for a in track.artist_ids], "available_markets": ["DE", "GB", "US"],
               "disc_number": track.disc_number, "duration_ms": track.duration_ms, "explicit": track.explicit,
               "external_urls": {"spotify": f"https://open.spotify.com/track/{track.id}"},
               "href": self._href(f"tracks/{track.id}"), "id": track.id, "is_local": False, "name": track.name,
               "preview_url": None, "track_number": track.track_number, "type": "track",
               "uri": f"spotify:track:{track.id}"}
        return self.plan.apply(track.id, doc)

    def _tracks_page(self, album: FakeAlbum, offset: int, limit: int) -> dict[str, Any]:
        ids = album.track_ids[offset:offset + limit]
        total = len(album.track_ids)

        def page_url(at: int) -> str:
            return self._href(f"albums/{album.id}/tracks?offset={at}&limit={limit}")

        return {"href": page_url(offset), "items": [self._simple_track_json(self.catalog.tracks[t]) for t in ids],
                "limit": limit, "next": page_url(offset + limit) if offset + limit < total else None,
                "offset": offset, "previous": page_url(max(0, offset - limit)) if offset > 0 else None,
                "total": total}

    def _album_json(self, album: FakeAlbum) -> dict[str, Any]:
        doc = {"album_type": album.album_type, "total_tracks": len(album.track_ids),
               "available_markets": ["DE", "GB", "US"],
               "external_urls": {"spotify": f"https://open.spotify.com/album/{album.id}"},
               "href": self._href(f"albums/{album.id}"), "id": album.id,
               "images": [{"url": f"https://i.scdn.co/image/{album.id}", "height": 640, "width": 640}],
               "name": album.name, "release_date": album.release_date, "release_date_precision": "day",
               "type": "album", "uri": f"spotify:album:{album.id}",
               "artists": [self._artist_ref(a) for a in album.artist_ids],
               "tracks": self._tracks_page(album, 0, self.album_page_limit),
               "copyrights": [{"text": f"(P) {album.release_date[:4]} {album.label}", "type": "P"}],
               "external_ids": {"upc": album.upc}, "genres": [], "label": album.label,
               "popularity": album.popularity}
        return self.plan.apply(album.id, doc)

    def _track_json(self, track: FakeTrack) -> dict[str, Any]:
        album = self.catalog.albums[track.album_id]
        doc = {**self._simple_track_json(track),
               "album": {"album_type": album.album_type, "id": album.id, "name": album.name,
                         "release_date": album.release_date, "release_date_precision": "day",
                         "total_tracks": len(album.track_ids), "type": "album", "uri": f"spotify:album:{album.id}",
                         "artists": [self._artist_ref(a) for a in album.artist_ids]},
               "external_ids": {"isrc": track.isrc}, "popularity": track.popularity}
        return self.plan.apply(track.id, doc)

    def _artist_json(self, artist: FakeArtist) -> dict[str, Any]:
        doc = {**self._artist_ref(artist.id), "followers": {"href": None, "total": artist.popularity * 1000},
               "genres": list(artist.genres), "images": [], "popularity": artist.popularity}
        return self.plan.apply(artist.id, doc)


_REASONS = {429: "API rate limit exceeded", 500: "Server error", 502: "Bad gateway", 503: "Service unavailable",
            504: "Gateway timeout"}
