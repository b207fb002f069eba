"""The resources that hand the prospecting assets their paid providers: the SERP (discovery) and the email
finder (enrichment).

Configured from the environment with `EnvVar`s, so the UI shows variable names, never secrets:
`DATAFORSEO_LOGIN`, `DATAFORSEO_PASSWORD`, `DATAFORSEO_URL` (optional) and `BACKBEAT_EMAILFINDER_API_KEY`,
`BACKBEAT_EMAILFINDER_URL` (optional). Unset, a resource is "not configured": the asset that needs it does
nothing and says which variables to set, so a code location without the providers still loads and runs. Like
`outreach`, they are read when a run starts (`serp_resource_from_env`, `emailfinder_resource_from_env`), so the
demo's stand-ins started after the definitions were imported are seen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dagster import EnvVar, InitResourceContext, resource
from pydantic import Field

from integrations.emailfinder.resource import EmailFinderResource
from integrations.serp.resource import SerpResource

SERP_LOGIN_ENV = "DATAFORSEO_LOGIN"
SERP_PASSWORD_ENV = "DATAFORSEO_PASSWORD"
SERP_URL_ENV = "DATAFORSEO_URL"
EMAILFINDER_KEY_ENV = "BACKBEAT_EMAILFINDER_API_KEY"
EMAILFINDER_URL_ENV = "BACKBEAT_EMAILFINDER_URL"


def _values(names: Mapping[str, str], env: Mapping[str, str], as_env_vars: bool) -> dict[str, object]:
    return {field: EnvVar(var) if as_env_vars else env[var] for field, var in names.items() if env.get(var)}


class OptionalSerpResource(SerpResource):
    """`SerpResource` that may be left unconfigured (empty login): `missing()` names what to set."""

    login: str = ""
    password: str = Field(default="", repr=False)

    def missing(self) -> list[str]:
        """Variables still needed to call the SERP provider (names only)."""
        return [var for var, value in ((SERP_LOGIN_ENV, self.login), (SERP_PASSWORD_ENV, self.password)) if not value]

    @property
    def configured(self) -> bool:
        return not self.missing()

    @classmethod
    def from_env(  # type: ignore[override]
        cls, environ: Mapping[str, str] | None = None, *, as_env_vars: bool = True
    ) -> OptionalSerpResource:
        """Every variable that is set, as an `EnvVar` (or its value)."""
        env = os.environ if environ is None else environ
        names = {"login": SERP_LOGIN_ENV, "password": SERP_PASSWORD_ENV, "base_url": SERP_URL_ENV}
        return cls(**_values(names, env, as_env_vars))


class OptionalEmailFinderResource(EmailFinderResource):
    """`EmailFinderResource` that may be left unconfigured (empty key): `missing()` names what to set."""

    api_key: str = Field(default="", repr=False)

    def missing(self) -> list[str]:
        """Variables still needed to call the email finder (names only)."""
        return [] if self.api_key else [EMAILFINDER_KEY_ENV]

    @property
    def configured(self) -> bool:
        return not self.missing()

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, as_env_vars: bool = True
    ) -> OptionalEmailFinderResource:
        """Every variable that is set, as an `EnvVar` (or its value)."""
        env = os.environ if environ is None else environ
        return cls(**_values({"api_key": EMAILFINDER_KEY_ENV, "base_url": EMAILFINDER_URL_ENV}, env, as_env_vars))


@resource(description="The SERP provider (DataForSEO) for discovery, read from the environment when a run starts.")
def serp_resource_from_env(_: InitResourceContext) -> OptionalSerpResource:
    """`OptionalSerpResource.from_env()` evaluated when a run starts (see the module docstring)."""
    return OptionalSerpResource.from_env(as_env_vars=False)


@resource(description="The email finder (Hunter-style) for enrichment, read from the environment when a run starts.")
def emailfinder_resource_from_env(_: InitResourceContext) -> OptionalEmailFinderResource:
    """`OptionalEmailFinderResource.from_env()` evaluated when a run starts (see the module docstring)."""
    return OptionalEmailFinderResource.from_env(as_env_vars=False)
