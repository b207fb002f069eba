"""Fakes of outside services for tests and benchmarks — never imported by production code paths.

Small `ThreadingHTTPServer`s on 127.0.0.1 that speak the services' documented JSON, serve a generated
`FakeCatalog`, follow a `FaultPlan` (error bursts, random 5xx, expiring or refused tokens, corrupted
entities, rate limits) and record every request. They live in a real package (not under `tests/`, which has
no packages in importlib mode) so that `tests/integrations/` and `bench/catalog/` import the same code.
"""

from backbeat.demo.standins._http import DROP, FaultPlan, RequestRecord
from backbeat.demo.standins.catalog import FakeAlbum, FakeArtist, FakeCatalog, FakeTrack, make_iswc
from backbeat.demo.standins.clock import ManualClock
from backbeat.demo.standins.musicbrainz_server import FakeMusicBrainz
from backbeat.demo.standins.spotify_server import FakeSpotify

__all__ = [
    "DROP",
    "FakeAlbum",
    "FakeArtist",
    "FakeCatalog",
    "FakeMusicBrainz",
    "FakeSpotify",
    "FakeTrack",
    "FaultPlan",
    "ManualClock",
    "RequestRecord",
    "make_iswc",
]
