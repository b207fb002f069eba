"""The alerts sensor ticks against a DuckDB warehouse with its resources: a deep album queue reaches the
webhook once, and the tick says what it did."""

from __future__ import annotations

from dagster import build_sensor_context

from assets.alerts import defs
from assets.alerts.resources import AlertsResource
from assets.alerts.sensors import alerts_sensor
from assets.common.paths import DataDirResource
from assets.outreach.resources import OutreachResource
from backbeat.catalog.tables import ALBUM_QUEUE
from integrations.warehouse import Warehouse, WarehouseResource


def test_alerts_resource_reads_the_environment_and_hides_secrets() -> None:
    env = {
        "BACKBEAT_ALERT_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/xyz",
        "BACKBEAT_ALERT_EMAIL_TO": "a@x.example; b@x.example",
        "BACKBEAT_ALERT_QUEUE_DEPTH": "50",
    }
    resource = AlertsResource.from_env(env)
    assert resource.thresholds == {"queue_depth": 50.0} and resource.threshold_values().queue_depth == 50
    assert resource.channel_settings().email_to == ("a@x.example", "b@x.example")
    assert resource.channel_settings().enabled() == ["webhook"]
    assert "xyz" not in repr(resource) and "xyz" not in repr(resource.channel_settings())
    assert "alerts" in defs.resources


def test_the_sensor_evaluates_and_notifies_once(tmp_path, webhook) -> None:
    url = f"duckdb:///{tmp_path}/w.duckdb"
    with Warehouse(url).connect() as conn:
        conn.ensure(ALBUM_QUEUE)
        conn.insert(
            ALBUM_QUEUE,
            ALBUM_QUEUE.from_rows(
                [
                    {c: None for c in ALBUM_QUEUE.column_names} | {"album_id": f"a{i}", "status": "queued"}
                    for i in range(3)
                ]
            ),
        )
    resources = {
        "warehouse": WarehouseResource(url=url),
        "data_dir": DataDirResource(data_dir=str(tmp_path)),
        "alerts": AlertsResource(webhook_url=webhook.url, thresholds={"queue_depth": 2, "disk_percent": 100}),
        "outreach": OutreachResource(),
    }
    for _ in range(2):
        with build_sensor_context(resources=resources) as context:
            result = alerts_sensor(context)
    assert "incidents opened 0, ongoing 1" in result.skip_message and result.skip_message.endswith("(webhook)")
    (body,) = webhook.bodies
    assert body["text"].startswith(":warning: catalog.album_queue holds 3 items (over 2)")
