"""`alerts_sensor`: every minute, evaluate the alert rules against the warehouse and the data directory,
update the incidents and notify the configured channels. It launches no run; each tick's outcome is its
skip message (findings, incidents opened and resolved, messages sent and failed)."""

from __future__ import annotations

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from assets.alerts.resources import AlertsResource
from assets.common.paths import DataDirResource
from assets.outreach.resources import OutreachResource
from backbeat.alerts import build_channels, evaluate
from integrations.warehouse import WarehouseResource

ALERTS_INTERVAL_S = 60


@sensor(
    minimum_interval_seconds=ALERTS_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Evaluates the alert rules every minute and notifies the configured channels (no runs).",
)
def alerts_sensor(
    context: SensorEvaluationContext,
    warehouse: WarehouseResource,
    data_dir: DataDirResource,
    alerts: AlertsResource,
    outreach: OutreachResource,
) -> SkipReason:
    settings = alerts.channel_settings()
    gmail = outreach.settings().gmail if settings.gmail_mailbox else None
    channels = build_channels(settings, gmail)
    result = evaluate(warehouse.client(), data_dir.root, channels, thresholds=alerts.threshold_values())
    told = ", ".join(c.name for c in channels) or "no channel configured: set BACKBEAT_ALERT_* to be told"
    context.log.info("alerts: %s (%s)", result.summary(), told)
    return SkipReason(f"{result.summary()} ({told})")
