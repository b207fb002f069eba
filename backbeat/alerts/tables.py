"""Warehouse tables owned by alerts: incidents and the notifications sent about them."""

from integrations.warehouse import Column, table

INCIDENTS = table(
    "alerts",
    "incidents",
    Column("incident_id", "text", "rule|key|opened (a condition) or rule|key (an event).", nullable=False),
    Column("rule", "text", "Rule that found it (station_silent, api_failure_rate, ...).", nullable=False),
    Column("subject_key", "text", "What it is about: a station, a service, a queue, a dispute step.", nullable=False),
    Column("kind", "text", "condition (opens, then recovers) or event (told once).", nullable=False),
    Column("severity", "text", "critical, warning or info."),
    Column("summary", "text", "One line for people, as last seen."),
    Column("facts", "text", "JSON object of the figures behind it, as last seen."),
    Column("status", "text", "open, resolved or event.", nullable=False),
    Column("opened_at", "timestamp", "When the condition was first seen, or the event found (UTC).", nullable=False),
    Column("last_seen_at", "timestamp", "Last evaluation that saw the condition (UTC)."),
    Column("cleared_at", "timestamp", "First evaluation that no longer saw it; null while it holds (UTC)."),
    Column("resolved_at", "timestamp", "When it was declared over, after staying clear long enough (UTC)."),
    Column("notified_at", "timestamp", "When its alert first reached a channel; null while held back (UTC)."),
    Column("recovery_notified_at", "timestamp", "When its recovery message first reached a channel (UTC)."),
    Column("flaps", "bigint", "Times it came back while clearing (it stayed one incident)."),
    primary_key=("incident_id",),
    description="One row per incident: a rule's condition from first seen to resolved, or one event.",
)

NOTIFICATIONS = table(
    "alerts",
    "notifications",
    Column("incident_id", "text", "Incident the message was about.", nullable=False),
    Column("message", "text", "opened or recovered.", nullable=False),
    Column("channel", "text", "smtp, webhook or gmail.", nullable=False),
    Column("attempted_at", "timestamp", "When the channel was tried (UTC).", nullable=False),
    Column("delivered", "boolean", "Whether the channel accepted it.", nullable=False),
    Column("digest", "boolean", "Sent inside a digest because one evaluation had too many messages."),
    Column("error", "text", "The channel's error when not delivered (never a secret)."),
    primary_key=("incident_id", "message", "channel", "attempted_at"),
    description="One row per attempt to tell a channel about an incident; a message is pending for a channel "
    "until a delivered row exists.",
)

ALERT_TABLES = (INCIDENTS, NOTIFICATIONS)
