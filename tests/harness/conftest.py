"""Fixtures of the harness tests: a real PostgreSQL server (tests/harness/postgres.py)."""

from tests.harness.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures
