"""Shared fixtures: a real exchange simulator on loopback and a real service against it.

The simulator speaks TLS (``wss://``, ``https://``, one TLS record per message) as Binance does, and the service
trusts its CA through ``ca_file``: the production transport is the tested one. ``plain_sim`` keeps a plaintext
``ws://`` simulator for the few tests that cover that path too. Under CI (``CI=true``, as ``.ci/run`` and CI
services set it) a skipped test fails the run.
"""

from __future__ import annotations

import logging
import os

import pykka
import pytest

from tradeactors import config as configuration
from tradeactors.service import Service
from tradeactors.simulator import Simulator
from tradeactors.storage import Database


@pytest.fixture(autouse=True)
def _logging_restored():
    """Undo what a test's in-process CLI call (``logsetup.configure``) did to the root logger: its handler writes to
    the sys.stdout/stderr of that test, which pytest closes afterwards, so a later test's threads logging through
    it printed "--- Logging error --- ValueError: I/O operation on closed file"."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {name: logging.getLogger(name).level for name in ("waitress", "websockets", "websocket", "urllib3")}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for name, old in noisy.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture
def db(tmp_path):
    """A real RocksDB in a temp dir, closed after the test."""
    database = Database(tmp_path / "analytics")
    yield database
    database.close()


def make_simulator(tls: bool = True, **kwargs) -> Simulator:
    options = {"symbols": ["BTCUSDT", "ETHUSDT"], "rate": 50.0, "seed": 7, **kwargs}
    return Simulator(tls=tls, **options).start()


@pytest.fixture
def sim():
    simulator = make_simulator()
    yield simulator
    simulator.stop()


@pytest.fixture
def plain_sim():
    simulator = make_simulator(tls=False)
    yield simulator
    simulator.stop()


def service_config(tmp_path, sim, **overrides) -> configuration.Config:
    values = {"data_dir": str(tmp_path / "data"), "ws_url": sim.ws_url, "rest_url": sim.rest_url,
              "http": "127.0.0.1:0", "symbols": ",".join(sim.symbols)}
    if sim.ca_file:
        values["ca_file"] = str(sim.ca_file)
    values.update({k: str(v) for k, v in overrides.items()})
    return configuration.load(None, env={}, overrides=values)


def _factory(tmp_path, simulator):
    started: list[Service] = []

    def start(**overrides) -> Service:
        service = Service(service_config(tmp_path, simulator, **overrides))
        service.start()
        started.append(service)
        return service

    return start, started


def _stop_all(started) -> None:
    for service in started:
        if service.db is not None and not service.db.closed:
            service.stop()
    pykka.ActorRegistry.stop_all(block=True, timeout=5)


@pytest.fixture
def service_factory(tmp_path, sim):
    """Start services on the (TLS) simulator; every one still running is stopped at teardown."""
    start, started = _factory(tmp_path, sim)
    yield start
    _stop_all(started)


@pytest.fixture
def plain_service_factory(tmp_path, plain_sim):
    """Start services on the plaintext simulator (``ws://``, ``http://``)."""
    start, started = _factory(tmp_path, plain_sim)
    yield start
    _stop_all(started)


class NoSkipsUnderCI:
    """Registered when ``CI=true``: CI installs everything the tests need (chromium, playwright, supervisor) and
    the captures ship in the package, so a skip there means a test silently did not run. It fails the session
    and lists every skip with its reason. Locally (no ``CI=true``) a missing chromium still only skips."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def _note(self, report) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            self.skipped.append(f"{report.nodeid or 'collection'}: {reason}")

    def pytest_runtest_logreport(self, report) -> None:
        self._note(report)

    def pytest_collectreport(self, report) -> None:
        self._note(report)

    def pytest_sessionfinish(self, session) -> None:
        if self.skipped and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.skipped:
            terminalreporter.section("skipped under CI=true: a failure", red=True, bold=True)
            for line in self.skipped:
                terminalreporter.line(line, red=True)


def pytest_configure(config) -> None:
    if os.environ.get("CI") == "true":
        config.pluginmanager.register(NoSkipsUnderCI(), "no-skips-under-ci")
