"""Fixtures for the HTTP contract tests: the app over a stand-in facade (tests/web/standin.py) and its test
client. Tests that need the real service on the simulator use ``service_factory`` (tests/conftest.py).
"""

from __future__ import annotations

import pytest

from tests.web.standin import StandIn
from tradeactors.web import create_app


@pytest.fixture
def standin() -> StandIn:
    return StandIn()


@pytest.fixture
def client(standin):
    return create_app(standin.config, standin).test_client()
