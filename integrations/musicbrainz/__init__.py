"""MusicBrainz WS/2 client (plain requests, ≤ 1 request/s, descriptive User-Agent) and its Dagster resource."""

from integrations.musicbrainz.client import MusicBrainzClient
from integrations.musicbrainz.models import ArtistCredit, Recording, Work, WorkRef, Writer
from integrations.musicbrainz.resource import MusicBrainzResource

__all__ = [
    "ArtistCredit",
    "MusicBrainzClient",
    "MusicBrainzResource",
    "Recording",
    "Work",
    "WorkRef",
    "Writer",
]
