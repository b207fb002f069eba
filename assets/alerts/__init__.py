"""Alerts: the sensor that evaluates the alert rules every minute and notifies by email (SMTP or Gmail) and
webhook. The `alerts` resource is read from the environment at tick time (`alerts_resource_from_env`)."""

from dagster import Definitions

from assets.alerts.resources import alerts_resource_from_env
from assets.alerts.sensors import alerts_sensor

defs = Definitions(sensors=[alerts_sensor], resources={"alerts": alerts_resource_from_env})
