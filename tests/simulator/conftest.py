"""Shared helpers: a simulator factory, deadline polling and a plain websocket-client reader.

Tests talk to the simulator only through independent clients (websocket-client, requests), never through the
service's code.
"""
from __future__ import annotations

import json
import time

import pytest
import websocket

from tests.helpers import wait_for  # noqa: F401 - re-exported for the simulator tests

from tradeactors.simulator import Simulator

def pytest_collection_modifyitems(items):
    # A hung socket read must fail one test, not the whole run (setup.cfg's global timeout is 300 s).
    for item in items:
        if "tests/simulator/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.timeout(60))


FAST = dict(ping_interval=20.0, pong_timeout=20.0, shutdown_grace=0.5)


@pytest.fixture
def make_sim():
    """``make_sim(**kwargs)`` -> a started Simulator (stopped after the test)."""
    sims = []

    def make(**kwargs):
        options = {"symbols": ["BTCUSDT", "ETHUSDT"], "rate": 50.0, **FAST, **kwargs}
        sim = Simulator(**options).start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        sim.stop()


@pytest.fixture
def sim(make_sim):
    return make_sim()


class Reader:
    """A websocket-client connection that decodes frames, with deadlines on every read."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.ws = websocket.create_connection(url, timeout=timeout, skip_utf8_validation=True)

    def text(self) -> str:
        return self.ws.recv()

    def json(self) -> dict:
        return json.loads(self.ws.recv())

    def until(self, predicate, timeout=5.0, limit=1_000_000):
        """Read JSON frames until ``predicate(frame)`` is true; return that frame."""
        deadline = time.monotonic() + timeout
        for _ in range(limit):
            if time.monotonic() > deadline:
                break
            frame = self.json()
            if predicate(frame):
                return frame
        raise AssertionError("no matching frame before the deadline")

    def until_text(self, predicate, timeout=5.0):
        """Read raw text frames until ``predicate(text)`` is true; return that text."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.ws.recv()
            if predicate(text):
                return text
        raise AssertionError("no matching frame before the deadline")

    def close(self) -> None:
        self.ws.close(timeout=0.2)


@pytest.fixture
def connect():
    readers = []

    def open_(url, **kw):
        r = Reader(url, **kw)
        readers.append(r)
        return r

    yield open_
    for r in readers:
        try:
            r.ws.close(timeout=0.2)
        except Exception:
            pass
