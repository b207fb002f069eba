"""Spotify Web API catalog client (spotipy, client credentials) and its Dagster resource."""

from integrations.spotify.client import EncryptedTokenCache, SpotifyCatalogClient
from integrations.spotify.models import Album, AlbumTrack, Artist, ArtistRef, Fetched, Track
from integrations.spotify.resource import SpotifyResource

__all__ = [
    "Album",
    "AlbumTrack",
    "Artist",
    "ArtistRef",
    "EncryptedTokenCache",
    "Fetched",
    "SpotifyCatalogClient",
    "SpotifyResource",
    "Track",
]
