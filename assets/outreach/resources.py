"""The resource that hands outreach's settings (Gmail endpoint and OAuth client, the encrypted token store, the
unsubscribe links' base URL and key, pacing switches) to the outreach assets and sensors.

Configured from the environment with `EnvVar`s, so the UI shows variable names, never secrets:
`BACKBEAT_GMAIL_CLIENT_ID`, `BACKBEAT_GMAIL_CLIENT_SECRET`, `BACKBEAT_GMAIL_API_URL`, `BACKBEAT_GMAIL_TOKEN_URI`,
`BACKBEAT_SECRET_KEY`, `BACKBEAT_GMAIL_TOKEN_DIR` (default `{data_dir}/secrets/gmail`), `BACKBEAT_UNSUBSCRIBE_URL`,
`BACKBEAT_UNSUBSCRIBE_KEY` (else the secret key), `BACKBEAT_OUTREACH_SPREAD` (0 sends a window's steps
without spacing them, for the demo) and `BACKBEAT_OUTREACH_POLL_SECONDS` (how often each inbox is polled).
Unset, the resource is "not configured": the send job and the inbox sensor then do nothing and say why, so a
code location without Gmail still loads and runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dagster import ConfigurableResource, EnvVar, InitResourceContext, resource
from pydantic import Field

from backbeat.outreach.mailboxes import (
    API_URL_ENV,
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    TOKEN_DIR_ENV,
    TOKEN_URI_ENV,
    GmailSettings,
    default_token_dir,
)
from backbeat.outreach.runtime import (
    DEFAULT_UNSUBSCRIBE_URL,
    POLL_SECONDS_ENV,
    SPREAD_ENV,
    UNSUBSCRIBE_KEY_ENV,
    UNSUBSCRIBE_URL_ENV,
    OutreachSettings,
)
from integrations.gmail import GmailEndpoint
from integrations.resilience.secrets import SECRET_KEY_ENV

DATA_DIR_ENV = "BACKBEAT_DATA_DIR"


class OutreachResource(ConfigurableResource):
    """Outreach's Gmail, token store and unsubscribe settings (see the module docstring)."""

    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    api_url: str = GmailEndpoint.api_endpoint
    token_uri: str = GmailEndpoint.token_uri
    token_dir: str = ""
    secret_key: str = Field(default="", repr=False)
    unsubscribe_url: str = DEFAULT_UNSUBSCRIBE_URL
    unsubscribe_key: str = Field(default="", repr=False)
    spread: bool = True
    max_sends_per_pass: int | None = None
    poll_seconds: int = 60  # each mailbox's inbox is polled at most this often

    def missing(self) -> list[str]:
        """Variables still needed to talk to Gmail (names only)."""
        names = {
            CLIENT_ID_ENV: self.client_id,
            CLIENT_SECRET_ENV: self.client_secret,
            SECRET_KEY_ENV: self.secret_key,
            TOKEN_DIR_ENV: self.token_dir,
        }
        return [name for name, value in names.items() if not value]

    @property
    def configured(self) -> bool:
        return not self.missing()

    def settings(self) -> OutreachSettings:
        """The plain settings object the core's passes take."""
        return OutreachSettings(
            gmail=GmailSettings(
                token_dir=self.token_dir,
                secret_key=self.secret_key,
                client_id=self.client_id,
                client_secret=self.client_secret,
                api_endpoint=self.api_url,
                token_uri=self.token_uri,
            ),
            unsubscribe_base_url=self.unsubscribe_url,
            unsubscribe_key=self.unsubscribe_key or self.secret_key,
            spread=self.spread,
            max_sends_per_pass=self.max_sends_per_pass,
        )

    @classmethod
    def from_env(
        cls,
        data_dir: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        as_env_vars: bool = True,
    ) -> OutreachResource:
        """Every variable that is set, as an `EnvVar` (or its value, for `outreach_resource_from_env`); the token
        directory defaults under `data_dir` (else under `BACKBEAT_DATA_DIR`)."""
        env = os.environ if environ is None else environ
        names = {
            "client_id": CLIENT_ID_ENV,
            "client_secret": CLIENT_SECRET_ENV,
            "api_url": API_URL_ENV,
            "token_uri": TOKEN_URI_ENV,
            "token_dir": TOKEN_DIR_ENV,
            "secret_key": SECRET_KEY_ENV,
            "unsubscribe_url": UNSUBSCRIBE_URL_ENV,
            "unsubscribe_key": UNSUBSCRIBE_KEY_ENV,
        }
        values: dict[str, object] = {
            name: EnvVar(var) if as_env_vars else env[var] for name, var in names.items() if env.get(var)
        }
        data_dir = data_dir or env.get(DATA_DIR_ENV)
        if "token_dir" not in values and data_dir:
            values["token_dir"] = str(default_token_dir(data_dir))
        if env.get(SPREAD_ENV):
            values["spread"] = env[SPREAD_ENV].strip().lower() not in ("0", "false", "no", "off")
        if env.get(POLL_SECONDS_ENV):
            values["poll_seconds"] = int(env[POLL_SECONDS_ENV])
        return cls(**values)


@resource(
    description="Outreach's Gmail, token store and unsubscribe settings, read from the environment when a run "
    "or a sensor tick starts."
)
def outreach_resource_from_env(_: InitResourceContext) -> OutreachResource:
    """`OutreachResource.from_env()` evaluated when a run or a sensor tick starts rather than when the code
    location is imported, so the demo (which starts its Gmail stand-in after the definitions module is
    imported) and a changed environment are seen. `orchestration/resources.py` may build
    `OutreachResource.from_env(settings.data_dir)` with the other resources instead; then drop this one."""
    return OutreachResource.from_env(as_env_vars=False)
