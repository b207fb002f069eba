"""Alerts: rules over the warehouse and the data directory, incidents with one alert each and a recovery,
and delivery through the channels of `integrations.notify`. See README.md beside this file."""

from backbeat.alerts.channels import build_channels
from backbeat.alerts.config import ChannelSettings, Thresholds
from backbeat.alerts.engine import Evaluation, evaluate
from backbeat.alerts.rules import Finding, Rule, RuleContext, default_rules

__all__ = [
    "ChannelSettings",
    "Evaluation",
    "Finding",
    "Rule",
    "RuleContext",
    "Thresholds",
    "build_channels",
    "default_rules",
    "evaluate",
]
