"""The Dagster resource that hands an `EmailFinderClient` to assets; the key comes in through an `EnvVar`."""

from dagster import ConfigurableResource

from integrations.emailfinder.client import DEFAULT_BASE_URL, EmailFinderClient


class EmailFinderResource(ConfigurableResource):
    """A Hunter-style email finder: `api_key` (e.g. `EnvVar("BACKBEAT_EMAILFINDER_API_KEY")`) and its base URL."""

    api_key: str
    base_url: str = DEFAULT_BASE_URL

    def client(self) -> EmailFinderClient:
        return EmailFinderClient(self.api_key, base_url=self.base_url)
