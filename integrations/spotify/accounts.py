"""The Dagster resource that hands per-account Spotify playlist clients to the curation assets.

Configured from the environment like `SpotifyResource`: `SPOTIFY_CLIENT_ID`, `SPOTIFY_CLIENT_SECRET`,
`SPOTIFY_API_URL`, `SPOTIFY_TOKEN_URL`, `BACKBEAT_SECRET_KEY` (the Fernet key of the token store) and
`BACKBEAT_TOKEN_DIR` (default `{BACKBEAT_DATA_DIR}/secrets/spotify`). Every variable is optional here: without
a client id, secret or key the resource is "not configured" and the sync writes file exports only, so the
embedded demo runs with no Spotify at all.
"""

import os
from collections.abc import Mapping
from pathlib import Path

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from integrations.resilience import CircuitBreaker, RetryPolicy, TokenBucket, TokenStore
from integrations.resilience.secrets import SECRET_KEY_ENV
from integrations.spotify.client import DEFAULT_API_URL, DEFAULT_TOKEN_URL
from integrations.spotify.playlists import SpotifyPlaylistClient
from integrations.spotify.resource import TOKEN_DIR_ENV


def default_token_dir(data_dir: str | Path) -> Path:
    """Where account tokens live when `BACKBEAT_TOKEN_DIR` is not set."""
    return Path(data_dir) / "secrets" / "spotify"


class SpotifyAccountsResource(ConfigurableResource):
    """Spotify playlist writes for many user accounts (authorization-code tokens, refreshed and encrypted)."""

    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    api_url: str = DEFAULT_API_URL
    token_url: str = DEFAULT_TOKEN_URL
    token_dir: str = ""
    secret_key: str = Field(default="", repr=False)
    requests_per_second: float = 5.0  # per account
    burst: int = 5
    max_attempts: int = 5
    max_retry_after: float = 120.0  # a longer Retry-After is treated as a quota refusal for the day
    breaker_threshold: int = 5
    breaker_cooldown: float = 60.0
    timeout: float = 10.0
    max_workers: int = 4  # accounts synced in parallel

    @property
    def configured(self) -> bool:
        """Whether there is enough configuration to talk to Spotify at all."""
        return bool(self.client_id.strip() and self.client_secret and self.token_dir and self.secret_key)

    def missing(self) -> list[str]:
        """The settings that keep the resource from being configured (names only)."""
        names = {
            "SPOTIFY_CLIENT_ID": self.client_id.strip(),
            "SPOTIFY_CLIENT_SECRET": self.client_secret,
            SECRET_KEY_ENV: self.secret_key,
            TOKEN_DIR_ENV: self.token_dir,
        }
        return [name for name, value in names.items() if not value]

    def token_store(self) -> TokenStore:
        if not (self.token_dir and self.secret_key):
            raise ValueError(f"no token store: set ${TOKEN_DIR_ENV} and ${SECRET_KEY_ENV}")
        return TokenStore(self.token_dir, self.secret_key)

    def client(
        self,
        account_id: str,
        user_id: str,
        *,
        policy: RetryPolicy | None = None,
        store: TokenStore | None = None,
        bucket: TokenBucket | None = None,
    ) -> SpotifyPlaylistClient:
        """A client for one account with its own bucket and breaker, so one account never slows the others
        (`policy` and `bucket` are injectable for tests)."""
        api = self.api_url if self.api_url.endswith("/") else self.api_url + "/"
        return SpotifyPlaylistClient(
            self.client_id,
            self.client_secret,
            account_id=account_id,
            user_id=user_id,
            token_store=store or self.token_store(),
            api_url=api,
            token_url=self.token_url,
            policy=policy or RetryPolicy(max_attempts=self.max_attempts, max_retry_after=self.max_retry_after),
            breaker=CircuitBreaker(
                f"spotify:account:{account_id}@{api}",
                failure_threshold=self.breaker_threshold,
                cooldown=self.breaker_cooldown,
            ),
            bucket=bucket or TokenBucket(self.requests_per_second, self.burst),
            timeout=self.timeout,
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, data_dir: str | Path | None = None
    ) -> "SpotifyAccountsResource":
        """Each present variable is passed as an `EnvVar` (the UI shows names, never values); the token
        directory defaults to `default_token_dir(data_dir)`."""
        env = os.environ if environ is None else environ
        names = {
            "client_id": "SPOTIFY_CLIENT_ID",
            "client_secret": "SPOTIFY_CLIENT_SECRET",
            "api_url": "SPOTIFY_API_URL",
            "token_url": "SPOTIFY_TOKEN_URL",
            "token_dir": TOKEN_DIR_ENV,
            "secret_key": SECRET_KEY_ENV,
        }
        values: dict[str, object] = {name: EnvVar(var) for name, var in names.items() if env.get(var)}
        if "token_dir" not in values and data_dir is not None:
            values["token_dir"] = str(default_token_dir(data_dir))
        return cls(**values)
