"""Backbeat's plain-Python core, settings, command line and demo.

Importing it switches on the warehouse schema check in this process: before its first transaction on a
warehouse, a process stops with a message naming `backbeat db upgrade` when the schema is older than the code
(`backbeat/migrations/gate.py`); a warehouse the code creates is stamped at the newest revision.
"""

from backbeat.migrations.gate import install_schema_gate

install_schema_gate()
