"""Royalties core: tariffs, ledger posting, the hash-chained append-only ledger, disputes, statements and payouts.

Plain Python: no Dagster import; the Dagster definitions live in assets/royalties/.
"""
