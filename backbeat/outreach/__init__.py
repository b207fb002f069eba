"""Outreach core: contacts, campaigns, exactly-once sends through Gmail, replies, bounces and suppressions.

Plain Python: no Dagster import; the Dagster definitions live in assets/outreach/.
"""
