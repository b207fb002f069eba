"""Outreach's jobs: prospecting (discover → enrich → score), campaigns from their files (then compose), compose
alone (with drafts to generate), one send pass, one mailbox's inbox sync, bodies retention.
What starts them: `assets/outreach/sensors.py` and `assets/outreach/schedules.py`."""

from dagster import AssetSelection, define_asset_job

from assets.outreach.assets import campaigns, contacts, mailboxes, message_bodies, outcomes, sends, suppressions
from assets.outreach.drafts import drafts
from assets.outreach.prospecting import candidate_emails, candidates, prospect_scores

outreach_campaigns_job = define_asset_job(
    "outreach_campaigns_job",
    selection=AssetSelection.assets(contacts, campaigns, drafts),
    description="Contacts from inbox/outreach/contacts.csv, then the campaign files in inbox/outreach/campaigns/, "
    "then every step still to send composed and checked for its prospects.",
)

outreach_compose_job = define_asset_job(
    "outreach_compose_job",
    selection=AssetSelection.assets(drafts),
    description="Compose and check every step still to send; with text generation on, generate drafts for the "
    "steps named in the run config (generate: [campaign_id:step_no]) for a person to approve.",
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

outreach_prospecting_job = define_asset_job(
    "outreach_prospecting_job",
    selection=AssetSelection.assets(candidates, candidate_emails, prospect_scores),
    description="Prospecting: discovery files in inbox/outreach/discovery/ → candidates, enrichment under each "
    "organisation's credit budget and hygiene → candidate emails, then each campaign's ranking.",
)

OUTREACH_JOBS = [
    outreach_prospecting_job,
    outreach_compose_job,
    outreach_mailbox_health_job,
    outreach_campaigns_job,
    outreach_send_job,
    outreach_inbox_job,
    outreach_retention_job,
]
