"""Test helpers: wait for a condition with a deadline instead of sleeping and hoping; a clock tests move by hand;
a service's metrics by name; the CLI as a process; trades to write."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tradeactors.protocol import AggTrade

ROOT = Path(__file__).resolve().parent.parent
"""The repository (bin/, etc/): where CLI processes run."""

BASE_T = 1_723_161_254_000
"""A trade time (ms) to build test trades around."""


def wait_for(condition, timeout: float = 10.0, interval: float = 0.02, message: str = "condition"):
    """Poll ``condition`` until it returns a truthy value; return it, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def storage_status(service, timeout: float = 30.0) -> dict:
    """The StorageActor's part of ``service.status()``. On a loaded runner its answer can miss the status call's
    2 s deadline (the part then holds only ``error``): ask again rather than read a missing key or a false 0."""
    return wait_for(lambda: (lambda part: None if "error" in part else part)(service.status()["storage"]),
                    timeout=timeout, message="the storage actor's status")


class FakeClock:
    """A ``time.time``-like clock that moves only when a test sets or advances ``now``: minutes, windows and bans
    pass at once instead of being waited for."""

    def __init__(self, now: float = 1_000_040.0):  # 20 s into a wall-clock minute
        self.now = now

    def __call__(self) -> float:
        return self.now


def counter(service, name: str, **labels) -> float:
    """The service's counter ``tradeactors_<name>`` (e.g. ``counter(service, "gaps_found", symbol="BTCUSDT")``),
    read through the public ``Metrics.value`` as Prometheus exposes it (``..._total``); 0 before its first count."""
    return service.metrics.value(f"tradeactors_{name}_total", **labels)


def trades(first, count, t0=BASE_T, step_ms=100):
    return [AggTrade(a, f"{60000 + a % 7}.01000000", "0.00100000", a, a, t0 + (a - first) * step_ms, a % 2 == 0)
            for a in range(first, first + count)]


def run_cli(*args, env=None, timeout=30):
    """``python -m tradeactors *args`` run to completion from the repository, output captured."""
    return subprocess.run([sys.executable, "-m", "tradeactors", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=ROOT)


def bench(*args, timeout=120) -> dict:
    """``tradeactors bench *args`` through the CLI: it must exit 0; returns its last line, the JSON result."""
    done = run_cli("bench", *args, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


class Process:
    """A CLI process whose stdout is collected line by line in the background."""

    def __init__(self, *args, env=None):
        self.proc = subprocess.Popen([sys.executable, "-m", "tradeactors", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                                     env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def find(self, pattern: str, timeout: float = 30) -> re.Match:
        regex = re.compile(pattern)

        def search():
            return next((m for line in list(self.lines) if (m := regex.search(line))), None)

        return wait_for(search, timeout=timeout, message=f"log line {pattern!r}")

    def terminate(self, timeout: float = 10) -> tuple[int, float]:
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - began

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
