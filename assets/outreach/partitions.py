"""Outreach's partitions: one per sending mailbox, added by the inbox sensor as mailboxes are connected."""

from dagster import DynamicPartitionsDefinition

mailbox_partitions = DynamicPartitionsDefinition(name="outreach_mailboxes")
"""One partition per mailbox id (the lower-cased address): each mailbox's inbox syncs are its own runs."""
