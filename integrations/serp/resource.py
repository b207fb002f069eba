"""The Dagster resource that hands a `SerpClient` to assets, configured from the environment."""

import os
from collections.abc import Mapping

from dagster import ConfigurableResource, EnvVar

from integrations.serp.client import DEFAULT_BASE_URL, SerpClient


class SerpResource(ConfigurableResource):
    """DataForSEO SERP API access: API login and password (Basic auth) and the base URL."""

    login: str
    password: str
    base_url: str = DEFAULT_BASE_URL

    def client(self) -> SerpClient:
        return SerpClient(self.login, self.password, base_url=self.base_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "SerpResource":
        """Configured from DATAFORSEO_LOGIN, DATAFORSEO_PASSWORD and, optionally, DATAFORSEO_URL."""
        env = os.environ if environ is None else environ
        extra = {"base_url": EnvVar("DATAFORSEO_URL")} if env.get("DATAFORSEO_URL") else {}
        return cls(login=EnvVar("DATAFORSEO_LOGIN"), password=EnvVar("DATAFORSEO_PASSWORD"), **extra)
