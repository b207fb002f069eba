"""Helpers for tests and benchmarks: real local servers, never mocks. Never imported by production code."""

from backbeat.testing.postgres import EmbeddedPostgres, EmbeddedPostgresError
from backbeat.testing.support import load_support_module

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError", "load_support_module"]
