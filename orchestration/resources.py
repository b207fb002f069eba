"""The only place resources are built: one function, configured from the environment's settings."""

from dagster import EnvVar
from dagster_dbt import DbtCliResource

from assets.common.paths import DataDirResource
from backbeat.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, Settings
from integrations.warehouse import WarehouseResource


def build_resources(settings: Settings) -> dict[str, object]:
    """Resources for the settings' environment: embedded (DuckDB) or production (PostgreSQL).

    A warehouse URL from the environment is passed as an EnvVar so its password never shows in the UI.
    """
    url = EnvVar("BACKBEAT_WAREHOUSE_URL") if settings.warehouse_url_from_env else settings.warehouse_url
    return {
        "warehouse": WarehouseResource(url=url),
        "data_dir": DataDirResource(data_dir=str(settings.data_dir)),
        "dbt": DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                              target=settings.dbt_target, dbt_executable=DBT_EXECUTABLE),
    }
