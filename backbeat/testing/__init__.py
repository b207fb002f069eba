"""Helpers for tests and benchmarks: real local servers, never mocks. Never imported by production code."""

from backbeat.testing.postgres import EmbeddedPostgres, EmbeddedPostgresError

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError"]
