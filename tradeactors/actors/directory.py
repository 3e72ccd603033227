"""Actor references by name that stay valid across restarts.

Actors never keep another actor's ActorRef: they tell through the Directory, which the Supervisor updates when
it restarts an actor. A tell to an actor that is dead or restarting is dropped and counted: pykka drops a dead
actor's mailbox anyway, and the completeness mechanism (id continuity + REST backfill) recovers lost trades.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pykka

from tradeactors.metrics import Metrics

log = logging.getLogger(__name__)


class ActorUnavailable(Exception):
    """The named actor is not running (not started yet, stopped, or being restarted)."""


class Directory:
    def __init__(self, metrics: Metrics | None = None):
        self._refs: dict[str, pykka.ActorRef] = {}
        self._lock = threading.Lock()
        self.metrics = metrics
        self.dropped = 0
        """Tells dropped because their actor was not running (also ``tradeactors_messages_dropped_total``)."""

    def register(self, name: str, ref: pykka.ActorRef) -> None:
        with self._lock:
            self._refs[name] = ref

    def unregister(self, name: str) -> None:
        with self._lock:
            self._refs.pop(name, None)

    def get(self, name: str) -> pykka.ActorRef | None:
        return self._refs.get(name)

    def names(self) -> list[str]:
        return list(self._refs)

    def tell(self, name: str, message: Any) -> bool:
        ref = self._refs.get(name)
        if ref is not None:
            try:
                ref.tell(message)
                return True
            except pykka.ActorDeadError:
                pass
        self.dropped += 1
        if self.metrics is not None:
            self.metrics.messages_dropped.labels(name).inc()
        log.warning("message %s to %s dropped: actor not running", type(message).__name__, name)
        return False

    def ask(self, name: str, message: Any, timeout: float) -> Any:
        """Ask with a timeout; raises ActorUnavailable, TimeoutError or the exception the actor raised."""
        ref = self._refs.get(name)
        if ref is None:
            raise ActorUnavailable(name)
        try:
            return ref.ask(message, timeout=timeout)
        except pykka.ActorDeadError:
            raise ActorUnavailable(name) from None
        except pykka.Timeout:
            raise TimeoutError(f"{name} did not answer within {timeout}s") from None

    def ask_many(self, names: list[str], message: Any, timeout: float) -> dict[str, Any]:
        """Ask several actors at once and wait for all (one timeout overall): the answer, or the exception
        (ActorUnavailable, TimeoutError or the actor's own) per name. Asking one after another would add up
        every actor's wake-up latency."""
        futures: dict[str, pykka.Future[Any]] = {}
        results: dict[str, Any] = {}
        for name in names:
            ref = self._refs.get(name)
            if ref is None:
                results[name] = ActorUnavailable(name)
                continue
            try:
                futures[name] = ref.ask(message, block=False)
            except pykka.ActorDeadError:
                results[name] = ActorUnavailable(name)
        deadline = time.monotonic() + timeout
        for name, future in futures.items():
            try:
                results[name] = future.get(timeout=max(0.0, deadline - time.monotonic()))
            except pykka.ActorDeadError:
                results[name] = ActorUnavailable(name)
            except pykka.Timeout:
                results[name] = TimeoutError(f"{name} did not answer within {timeout}s")
            except Exception as exc:  # the actor raised while answering
                results[name] = exc
        return results
