"""The only place resources are built: one function, configured from the environment's settings."""

import os
from collections.abc import Mapping

from dagster import EnvVar
from dagster_dbt import DbtCliResource

from assets.common.paths import DataDirResource
from backbeat.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, Settings
from integrations.musicbrainz import MusicBrainzResource
from integrations.spotify import SpotifyResource
from integrations.spotify.accounts import SpotifyAccountsResource
from integrations.warehouse import WarehouseResource

MUSICBRAINZ_RATE_ENV = "MUSICBRAINZ_REQUESTS_PER_SECOND"  # only above 1 for a mirror or a local fake


def spotify_resource(environ: Mapping[str, str] | None = None) -> SpotifyResource:
    """Spotify from its environment variables (as `EnvVar`s), or unconfigured (empty credentials) when they
    are absent: the catalog assets then leave the album queue alone instead of failing every run that includes
    them (the catalog group is part of reference_data_job)."""
    env = os.environ if environ is None else environ
    if env.get("SPOTIFY_CLIENT_ID") and env.get("SPOTIFY_CLIENT_SECRET"):
        return SpotifyResource.from_env(env)
    return SpotifyResource(client_id="", client_secret="")


def musicbrainz_resource(environ: Mapping[str, str] | None = None) -> MusicBrainzResource:
    """MusicBrainz from MUSICBRAINZ_CONTACT and MUSICBRAINZ_URL, or unconfigured (no contact) when absent."""
    env = os.environ if environ is None else environ
    if not env.get("MUSICBRAINZ_CONTACT"):
        return MusicBrainzResource(contact="")
    if not env.get(MUSICBRAINZ_RATE_ENV):
        return MusicBrainzResource.from_env(env)
    # The client itself refuses more than one request per second against musicbrainz.org.
    extra = {"base_url": EnvVar("MUSICBRAINZ_URL")} if env.get("MUSICBRAINZ_URL") else {}
    return MusicBrainzResource(
        contact=EnvVar("MUSICBRAINZ_CONTACT"), requests_per_second=float(env[MUSICBRAINZ_RATE_ENV]), **extra
    )


def build_resources(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """Resources for the settings' environment: embedded (DuckDB) or production (PostgreSQL).

    A warehouse URL from the environment is passed as an EnvVar so its password never shows in the UI; so are
    the separate warehouse password (`BACKBEAT_WAREHOUSE_PASSWORD`) and the Spotify and MusicBrainz settings when
    they are set.
    """
    env = os.environ if environ is None else environ
    url = EnvVar("BACKBEAT_WAREHOUSE_URL") if settings.warehouse_url_from_env else settings.warehouse_url
    password = EnvVar("BACKBEAT_WAREHOUSE_PASSWORD") if env.get("BACKBEAT_WAREHOUSE_PASSWORD") else ""
    return {
        "warehouse": WarehouseResource(url=url, password=password),
        "data_dir": DataDirResource(
            data_dir=str(settings.data_dir),
            storage_url=settings.storage_url,
            s3_endpoint_url=settings.s3_endpoint_url,
        ),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            target=settings.dbt_target,
            dbt_executable=DBT_EXECUTABLE,
        ),
        "spotify": spotify_resource(environ),
        "musicbrainz": musicbrainz_resource(environ),
        # with no SPOTIFY_* variables it is "not configured": the sync writes file exports only
        "spotify_accounts": SpotifyAccountsResource.from_env(data_dir=settings.data_dir),
    }
