"""Outreach: prospects and, later, the campaigns that email them."""

from dagster import Definitions

from assets.outreach.assets import contacts, contacts_have_unique_emails

defs = Definitions(assets=[contacts], asset_checks=[contacts_have_unique_emails])
