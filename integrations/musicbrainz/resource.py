"""The Dagster resource that hands a `MusicBrainzClient` to assets, configured from the environment."""

import os
from collections.abc import Mapping

from dagster import ConfigurableResource, EnvVar

from integrations.musicbrainz.client import DEFAULT_BASE_URL, MusicBrainzClient


class MusicBrainzResource(ConfigurableResource):
    """MusicBrainz WS/2 lookups at ≤ 1 request/s with a User-Agent of `app_name/app_version ( contact )`."""

    contact: str
    app_name: str = "Backbeat"
    app_version: str = "0.1.0"
    base_url: str = DEFAULT_BASE_URL
    requests_per_second: float = 1.0

    def client(self) -> MusicBrainzClient:
        return MusicBrainzClient(
            self.app_name,
            self.app_version,
            self.contact,
            base_url=self.base_url,
            requests_per_second=self.requests_per_second,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "MusicBrainzResource":
        """Configured from MUSICBRAINZ_CONTACT (required: an e-mail or URL) and MUSICBRAINZ_URL (optional)."""
        env = os.environ if environ is None else environ
        extra = {"base_url": EnvVar("MUSICBRAINZ_URL")} if env.get("MUSICBRAINZ_URL") else {}
        return cls(contact=EnvVar("MUSICBRAINZ_CONTACT"), **extra)
