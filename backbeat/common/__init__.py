"""Shared core helpers: validated CSV reading, quarantine, reference-data reconciliation and safe paths.

Plain Python: no Dagster import.
"""
