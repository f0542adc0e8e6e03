"""Fixtures of the harness tests: a real PostgreSQL server (tests/harness/postgres.py), and
float64 as torch's default dtype for comparisons that must agree to the last digits."""

import pytest
import torch

from tests.harness.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures


@pytest.fixture
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)
