"""Outreach's jobs: campaigns from their files, one send pass, one mailbox's inbox sync, bodies retention.
What starts them: `assets/outreach/sensors.py` and `assets/outreach/schedules.py`."""

from dagster import AssetSelection, define_asset_job

from assets.outreach.assets import campaigns, contacts, mailboxes, message_bodies, outcomes, sends, suppressions

outreach_campaigns_job = define_asset_job(
    "outreach_campaigns_job",
    selection=AssetSelection.assets(contacts, campaigns),
    description="Contacts from inbox/outreach/contacts.csv, then the campaign files in inbox/outreach/campaigns/.",
)

outreach_send_job = define_asset_job(
    "outreach_send_job",
    selection=AssetSelection.assets(suppressions, sends),
    description="One send pass: suppressions honoured, then every due step sent exactly once within the limits.",
)

outreach_inbox_job = define_asset_job(
    "outreach_inbox_job",
    selection=AssetSelection.assets(outcomes),  # partitioned by mailbox, as `outreach/outcomes`
    description="One mailbox's inbox sync: replies, bounces, auto-replies and unsubscribe emails become outcomes.",
)

outreach_retention_job = define_asset_job(
    "outreach_retention_job",
    selection=AssetSelection.assets(message_bodies),
    description="Delete message bodies whose retention expired.",
)

outreach_mailbox_health_job = define_asset_job(
    "outreach_mailbox_health_job",
    selection=AssetSelection.assets(mailboxes),
    description="Probe every mailbox's Gmail grant and record its health (ok, degraded, auth_required).",
)

OUTREACH_JOBS = [
    outreach_mailbox_health_job,
    outreach_campaigns_job,
    outreach_send_job,
    outreach_inbox_job,
    outreach_retention_job,
]
