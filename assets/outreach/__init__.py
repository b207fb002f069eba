"""Outreach: prospecting (candidates, their addresses, per-campaign scores), prospects, campaigns from their
files, exactly-once sends through Gmail, each mailbox's inbox outcomes, suppressions and body retention; the
jobs, sensors and schedule that run them.

The `outreach` resource (`assets/outreach/resources.py`) is read from the environment when a run or a sensor
tick starts (`outreach_resource_from_env`), until `orchestration/resources.py` builds it with the others; with
the variables unset the send and inbox parts do nothing and say so.
"""

from dagster import Definitions

from assets.outreach.assets import (
    campaigns,
    contacts,
    contacts_have_unique_emails,
    mailboxes,
    message_bodies,
    outcomes,
    sends,
    suppressions,
)
from assets.outreach.checks import OUTREACH_CHECKS
from assets.outreach.drafts import drafts
from assets.outreach.jobs import OUTREACH_JOBS
from assets.outreach.prospecting import PROSPECTING_ASSETS
from assets.outreach.prospecting_resources import emailfinder_resource_from_env, serp_resource_from_env
from assets.outreach.resources import outreach_resource_from_env
from assets.outreach.schedules import OUTREACH_SCHEDULES
from assets.outreach.sensors import OUTREACH_SENSORS

defs = Definitions(
    assets=[
        contacts,
        mailboxes,
        campaigns,
        drafts,
        suppressions,
        sends,
        outcomes,
        message_bodies,
        *PROSPECTING_ASSETS,
    ],
    asset_checks=[contacts_have_unique_emails, *OUTREACH_CHECKS],
    jobs=OUTREACH_JOBS,
    schedules=OUTREACH_SCHEDULES,
    sensors=OUTREACH_SENSORS,
    resources={
        "outreach": outreach_resource_from_env,
        "serp": serp_resource_from_env,
        "emailfinder": emailfinder_resource_from_env,
    },
)
