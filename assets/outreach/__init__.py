"""Outreach: prospects and, later, the campaigns that email them."""

from dagster import Definitions

from assets.outreach.assets import contacts

defs = Definitions(assets=[contacts])
