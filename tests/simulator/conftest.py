"""Shared helpers: a simulator factory, deadline polling and a plain websocket-client reader.

Tests talk to the simulator only through independent clients (websocket-client, requests, urllib), never through
the service's code.

TLS: ``make_sim`` serves TLS (``wss://``/``https://``, as Binance does) unless the test says otherwise through
the ``tls`` fixture, which a test overrides with ``@BOTH`` (run over TLS and plaintext) or ``@PLAIN``. Clients
trust the simulator's own CA with :func:`sslopt` / :func:`verify`; verification is never switched off.
"""
from __future__ import annotations

import json
import time

import pytest
import requests
import websocket

from tests.helpers import wait_for  # noqa: F401 - re-exported for the simulator tests
from tradeactors.simulator import Simulator


def pytest_collection_modifyitems(items):
    # A hung socket read must fail one test, not the whole run (setup.cfg's global timeout is 300 s).
    for item in items:
        if "tests/simulator/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.timeout(60))


FAST = {"ping_interval": 20.0, "pong_timeout": 20.0, "shutdown_grace": 0.5}

BOTH = pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
"""Run a test over TLS and over plaintext (direct parametrization overrides the ``tls`` fixture)."""
PLAIN = pytest.mark.parametrize("tls", [False], ids=["plain"])


@pytest.fixture
def tls():
    """Whether ``make_sim`` serves TLS: yes, like the real exchange, unless a test asks for ``BOTH``/``PLAIN``."""
    return True


def sslopt(sim) -> dict:
    """websocket-client's ``sslopt`` for ``sim``: its CA trusted, hostname and certificate checked."""
    return {"context": sim.client_ssl_context()} if sim.ca_file else {}


def verify(sim):
    """requests' ``verify`` for ``sim``: its CA file over TLS (never False)."""
    return sim.ca_file or True


def open_ws(sim, path: str, timeout: float = 5.0, **kwargs) -> websocket.WebSocket:
    """``websocket.create_connection`` to ``sim.ws_url + path``, trusting the simulator's CA."""
    return websocket.create_connection(sim.ws_url + path, timeout=timeout, sslopt=sslopt(sim), **kwargs)


def rest_get(sim, path: str, **params) -> requests.Response:
    return requests.get(sim.rest_url + path, params=params, timeout=5, verify=verify(sim))


@pytest.fixture
def make_sim(tls):
    """``make_sim(**kwargs)`` -> a started Simulator (stopped after the test); TLS per the ``tls`` fixture."""
    sims = []

    def make(**kwargs):
        options = {"symbols": ["BTCUSDT", "ETHUSDT"], "rate": 50.0, "tls": tls, **FAST, **kwargs}
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

    def __init__(self, sim, path: str, timeout: float = 5.0) -> None:
        self.ws = open_ws(sim, path, timeout=timeout, skip_utf8_validation=True)

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

    def open_(sim, path, **kw):
        """``connect(sim, "/ws/btcusdt@aggTrade")`` -> a Reader on that stream (closed after the test)."""
        r = Reader(sim, path, **kw)
        readers.append(r)
        return r

    yield open_
    for r in readers:
        try:
            r.ws.close(timeout=0.2)
        except Exception:
            pass
