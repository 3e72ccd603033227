"""The sliding-window limit on WebSocket connection attempts (Binance: 300 per 5 minutes per IP), on a fake clock."""

import pytest

from tests.helpers import FakeClock
from tradeactors.connlimit import SlidingWindowLimit


def test_sliding_window_limits_connection_attempts():
    clock = FakeClock(0.0)
    limit = SlidingWindowLimit(3, 300, clock=clock)
    assert [limit.reserve() for _ in range(3)] == [0, 0, 0]
    assert limit.reserve() == pytest.approx(300)
    clock.now = 300.0
    assert limit.reserve() == 0
