"""A deadline-based ticker thread that tells an actor a message every interval (pykka has no timers).

Deadlines are absolute (start + k * interval), so ticks do not drift with the time the actor takes, and one
thread serves the actor for its whole life (re-arming threading.Timer would spawn a thread per tick).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pykka


class Ticker:
    def __init__(self, ref: pykka.ActorRef, message: Any, interval: float, name: str, align: bool = False):
        """``align``: tick on whole multiples of ``interval`` of the wall clock (e.g. at each second)."""
        self._ref = ref
        self._message = message
        self._interval = interval
        self._align = align
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not threading.current_thread() and self._thread.is_alive():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        deadline = time.monotonic() + self._interval
        if self._align:
            now = time.time()
            deadline = time.monotonic() + (self._interval - now % self._interval) + 0.002
        while not self._stopped.wait(max(0.0, deadline - time.monotonic())):
            try:
                self._ref.tell(self._message)
            except pykka.ActorDeadError:
                return
            deadline += self._interval
            now = time.monotonic()
            if deadline < now:  # the process was suspended: skip missed ticks instead of bursting
                deadline = now + self._interval
