"""A local server speaking MusicBrainz Web Service v2 JSON (`fmt=json`) for the lookups Backbeat makes.

- `GET /ws/2/isrc/{isrc}?inc=artist-credits+work-rels` — `{"isrc", "recordings": [...]}`; 404 for an unknown ISRC;
- `GET /ws/2/recording/{mbid}?inc=artist-credits+isrcs+work-rels`;
- `GET /ws/2/work/{mbid}?inc=artist-rels` — `iswcs`, and writers as artist relationships.

Like the real service it answers 503 with its rate-limit message to a client that calls more than once per
`min_interval` seconds, and refuses anonymous User-Agents (403). The arrival time of every request is recorded.
Both use `clock` (`time.monotonic`): a test sharing a `ManualClock` with the client's bucket checks the rate
rule exactly and without waiting, where real arrival times would carry the machine's scheduling noise.
"""

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from backbeat.demo.standins._http import FakeServer, FaultPlan, Response, json_response
from backbeat.demo.standins.catalog import FakeArtist, FakeCatalog, FakeTrack
from backbeat.identifiers import parse_isrc_or_none

RATE_LIMIT_MESSAGE = (
    "Your requests are exceeding the allowable rate limit. Please see "
    "https://musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting for more information."
)
_HELP = "For usage, please see: https://musicbrainz.org/development/mmd"
_MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_RELS = {
    "artist-rels",
    "label-rels",
    "recording-rels",
    "release-rels",
    "release-group-rels",
    "url-rels",
    "work-rels",
    "place-rels",
    "event-rels",
    "series-rels",
    "instrument-rels",
    "area-rels",
}
_INC = {
    "isrc": {"artists", "releases", "isrcs", "artist-credits", "aliases", "tags", "ratings", "genres"} | _RELS,
    "recording": {
        "artists",
        "releases",
        "isrcs",
        "artist-credits",
        "aliases",
        "tags",
        "ratings",
        "genres",
        "annotation",
    }
    | _RELS,
    "work": {"aliases", "annotation", "tags", "ratings", "genres"} | _RELS,
}
PERFORMANCE = "a3005666-a872-32c3-ad06-98af558e99b0"
WRITER_ROLES = {"composer": "d59d99ea-23d4-4a80-b066-edca32ee158f", "lyricist": "3e48faba-ec01-47fd-8e89-30e81161661c"}


def _error(status: int, message: str) -> Response:
    return json_response(status, {"error": message, "help": _HELP})


class FakeMusicBrainz(FakeServer):
    """Serves the MusicBrainz side of `catalog`; `min_interval=0` turns the rate rule off."""

    def __init__(
        self,
        catalog: FakeCatalog,
        plan: FaultPlan | None = None,
        *,
        min_interval: float = 1.0,
        slack: float = 0.05,
        latency: tuple[float, float] = (0.0, 0.0),
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(latency=latency, seed=seed, clock=clock)
        self.catalog = catalog
        self.plan = plan or FaultPlan()
        self.min_interval = min_interval
        self.slack = slack  # scheduling noise on one machine; the real service allows short bursts too
        self._last_accepted: float | None = None
        self._rate_lock = threading.Lock()
        self.user_agents: set[str] = set()

    @property
    def api_url(self) -> str:
        return f"{self.url}/ws/2/"

    def accepted_times(self, endpoint: str | None = None) -> list[float]:
        """Arrival times of requests that got past the rate rule (status other than 503)."""
        return [r.at for r in self.records if r.status != 503 and (endpoint is None or r.endpoint == endpoint)]

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[str, Response]:
        parts = path.strip("/").split("/")  # ['ws', '2', entity, id]
        if len(parts) != 4 or parts[:2] != ["ws", "2"] or parts[2] not in _INC:
            return "unknown", _error(404, "Not Found")
        entity, key = parts[2], parts[3]
        agent = headers.get("user-agent", "")
        self.user_agents.add(agent)
        if not agent or agent.startswith(("python-requests", "python-urllib")):
            return entity, _error(403, "Anonymous user-agents are not allowed; see the rate limiting page.")
        if not self._admit(self.clock()):
            return entity, _error(503, RATE_LIMIT_MESSAGE)
        burst = self.plan.take_failure(entity)
        if burst is not None:
            if burst.body is not None:
                return entity, Response(burst.status, burst.body.encode(), {"Content-Type": "application/json"})
            extra = {"Retry-After": f"{burst.retry_after:g}"} if burst.retry_after is not None else {}
            return entity, json_response(burst.status, {"error": "Service temporarily unavailable"}, extra)
        if query.get("fmt") != ["json"]:
            return entity, _error(400, "This fake only speaks fmt=json (the real service would answer XML).")
        incs = set(" ".join(query.get("inc", [])).replace("+", " ").split())
        unknown = sorted(incs - _INC[entity])
        if unknown:
            return entity, _error(400, f"{unknown[0]} is not a valid inc parameter for the {entity} resource.")
        if entity == "isrc":
            return entity, self._isrc(key, incs)
        if not _MBID.match(key):
            return entity, _error(400, f"Invalid mbid: {key}")
        if entity == "recording":
            track = self.catalog.by_recording.get(key)
            return entity, json_response(200, self._recording(track, incs)) if track else _error(404, "Not Found")
        track = self.catalog.works.get(key)
        return entity, json_response(200, self._work(track, incs)) if track else _error(404, "Not Found")

    def _admit(self, now: float) -> bool:
        if self.min_interval <= 0:
            return True
        with self._rate_lock:
            if self._last_accepted is not None and now - self._last_accepted < self.min_interval - self.slack:
                return False
            self._last_accepted = now
            return True

    # -- documents ---------------------------------------------------------------------------------------

    def _isrc(self, isrc: str, incs: set[str]) -> Response:
        if parse_isrc_or_none(isrc) != isrc:  # the service takes the stored form only, as ours is written
            return _error(400, f"Invalid isrc: {isrc}")
        track = self.catalog.by_isrc.get(isrc)
        if track is None:
            return _error(404, "Not Found")
        return json_response(200, {"isrc": isrc, "recordings": [self._recording(track, incs)]})

    def _artist(self, artist: FakeArtist) -> dict[str, Any]:
        return {
            "id": artist.mbid,
            "name": artist.name,
            "sort-name": artist.name,
            "disambiguation": "",
            "type": "Group",
            "type-id": "e431f5f6-b5d2-343d-8b36-72607fffb74b",
        }

    def _work_ref(self, track: FakeTrack) -> dict[str, Any]:
        return {
            "id": track.work_mbid,
            "title": track.name,
            "type": "Song",
            "type-id": "f061270a-2fd6-32f1-a641-f0f8676d14e6",
            "language": "eng",
            "languages": ["eng"],
            "iswcs": [track.iswc] if track.iswc else [],
            "disambiguation": "",
            "attributes": [],
        }

    def _recording(self, track: FakeTrack, incs: set[str]) -> dict[str, Any]:
        album = self.catalog.albums[track.album_id]
        doc: dict[str, Any] = {
            "id": track.recording_mbid,
            "title": track.name,
            "length": track.duration_ms,
            "disambiguation": "",
            "video": False,
            "first-release-date": album.release_date,
        }
        if incs & {"artist-credits", "artists"}:
            artists = [self.catalog.artists[a] for a in track.artist_ids]
            doc["artist-credit"] = [
                {"name": a.name, "joinphrase": " feat. " if i < len(artists) - 1 else "", "artist": self._artist(a)}
                for i, a in enumerate(artists)
            ]
        if "isrcs" in incs:
            doc["isrcs"] = [track.isrc]
        if "work-rels" in incs:
            doc["relations"] = [
                {
                    "type": "performance",
                    "type-id": PERFORMANCE,
                    "target-type": "work",
                    "direction": "forward",
                    "attributes": [],
                    "attribute-ids": {},
                    "attribute-values": {},
                    "begin": None,
                    "end": None,
                    "ended": False,
                    "source-credit": "",
                    "target-credit": "",
                    "work": self._work_ref(track),
                }
            ]
        return self.plan.apply(track.recording_mbid, doc)

    def _work(self, track: FakeTrack, incs: set[str]) -> dict[str, Any]:
        doc = self._work_ref(track)
        if "artist-rels" in incs:
            main = self.catalog.artists[track.artist_ids[0]]
            doc["relations"] = [
                {
                    "type": role,
                    "type-id": type_id,
                    "target-type": "artist",
                    "direction": "backward",
                    "attributes": [],
                    "begin": None,
                    "end": None,
                    "ended": False,
                    "source-credit": "",
                    "target-credit": "",
                    "artist": self._artist(main),
                }
                for role, type_id in WRITER_ROLES.items()
            ]
        return self.plan.apply(track.work_mbid, doc)
