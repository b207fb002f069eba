"""The resource that hands the alert channels' settings and thresholds to the alerts sensor.

Read from the environment when a sensor tick starts (`alerts_resource_from_env`, as outreach does), so the
UI never shows a value: `BACKBEAT_ALERT_SMTP_URL`, `..._SMTP_USER`, `..._SMTP_PASSWORD`, `..._EMAIL_FROM`,
`..._EMAIL_TO`, `..._WEBHOOK_URL`, `..._GMAIL_MAILBOX` and the thresholds `BACKBEAT_ALERT_<NAME>` of
`backbeat.alerts.config.Thresholds`. With no channel set the sensor still keeps the incidents table and says
that nobody is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from dagster import ConfigurableResource, InitResourceContext, resource
from pydantic import Field

from backbeat.alerts.config import DEFAULT_FROM, ChannelSettings, Thresholds


class AlertsResource(ConfigurableResource):
    """Alert channels and thresholds (see the module docstring)."""

    smtp_url: str = Field(default="", repr=False)
    smtp_user: str = ""
    smtp_password: str = Field(default="", repr=False)
    email_from: str = DEFAULT_FROM
    email_to: str = ""  # comma-separated
    webhook_url: str = Field(default="", repr=False)
    gmail_mailbox: str = ""
    thresholds: dict[str, float] = Field(default_factory=dict)

    def channel_settings(self) -> ChannelSettings:
        return ChannelSettings.from_env(
            {
                "BACKBEAT_ALERT_SMTP_URL": self.smtp_url,
                "BACKBEAT_ALERT_SMTP_USER": self.smtp_user,
                "BACKBEAT_ALERT_SMTP_PASSWORD": self.smtp_password,
                "BACKBEAT_ALERT_EMAIL_FROM": self.email_from,
                "BACKBEAT_ALERT_EMAIL_TO": self.email_to,
                "BACKBEAT_ALERT_WEBHOOK_URL": self.webhook_url,
                "BACKBEAT_ALERT_GMAIL_MAILBOX": self.gmail_mailbox,
            }
        )

    def threshold_values(self) -> Thresholds:
        return Thresholds.from_env({f"BACKBEAT_ALERT_{k.upper()}": str(v) for k, v in self.thresholds.items()})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertsResource:
        """The settings from the `BACKBEAT_ALERT_*` variables (only thresholds that differ from the defaults)."""
        channels = ChannelSettings.from_env(environ)
        defaults, chosen = asdict(Thresholds()), asdict(Thresholds.from_env(environ))
        return cls(
            smtp_url=channels.smtp_url,
            smtp_user=channels.smtp_user,
            smtp_password=channels.smtp_password,
            email_from=channels.email_from,
            email_to=", ".join(channels.email_to),
            webhook_url=channels.webhook_url,
            gmail_mailbox=channels.gmail_mailbox,
            thresholds={k: float(v) for k, v in chosen.items() if v != defaults[k]},
        )


@resource(description="Alert channels and thresholds, read from BACKBEAT_ALERT_* when a sensor tick starts.")
def alerts_resource_from_env(_: InitResourceContext) -> AlertsResource:
    """`AlertsResource.from_env()` evaluated at tick time, not when the code location is imported."""
    return AlertsResource.from_env()
