"""The Dagster resource that hands a `SpotifyCatalogClient` to assets, configured from the environment."""

import os
from collections.abc import Mapping

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from integrations.resilience import RetryPolicy, TokenStore
from integrations.resilience.secrets import SECRET_KEY_ENV
from integrations.spotify.client import DEFAULT_API_URL, DEFAULT_TOKEN_URL, SpotifyCatalogClient

TOKEN_DIR_ENV = "BACKBEAT_TOKEN_DIR"


class SpotifyResource(ConfigurableResource):
    """Spotify Web API catalog reads (client-credentials). Secrets arrive as `EnvVar`s, so the UI shows only
    their names; with `token_dir` and `secret_key` the access token is kept encrypted on disk between runs."""

    client_id: str
    client_secret: str = Field(repr=False)  # never in a repr or a log line
    api_url: str = DEFAULT_API_URL
    token_url: str = DEFAULT_TOKEN_URL
    token_dir: str = ""
    secret_key: str = Field(default="", repr=False)
    requests_per_second: float = 10.0
    max_attempts: int = 5

    def client(self) -> SpotifyCatalogClient:
        store = None
        if self.token_dir:
            if not self.secret_key:
                raise ValueError(f"token_dir is set but no secret key: set ${SECRET_KEY_ENV}")
            store = TokenStore(self.token_dir, self.secret_key)
        return SpotifyCatalogClient(
            self.client_id,
            self.client_secret,
            api_url=self.api_url,
            token_url=self.token_url,
            token_store=store,
            policy=RetryPolicy(max_attempts=self.max_attempts),
            requests_per_second=self.requests_per_second,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "SpotifyResource":
        """Configured from SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET (required), SPOTIFY_API_URL,
        SPOTIFY_TOKEN_URL, BACKBEAT_TOKEN_DIR and BACKBEAT_SECRET_KEY (optional): each present variable is
        passed as an `EnvVar`, absent optional ones keep their defaults."""
        env = os.environ if environ is None else environ
        optional = {
            "api_url": "SPOTIFY_API_URL",
            "token_url": "SPOTIFY_TOKEN_URL",
            "token_dir": TOKEN_DIR_ENV,
            "secret_key": SECRET_KEY_ENV,
        }
        return cls(
            client_id=EnvVar("SPOTIFY_CLIENT_ID"),
            client_secret=EnvVar("SPOTIFY_CLIENT_SECRET"),
            **{name: EnvVar(var) for name, var in optional.items() if env.get(var)},
        )
