"""Supervisor: starts the actors in order, restarts a dead one (one-for-one), stops them in reverse order.

Pykka has no supervision: ``on_failure`` runs only for failures while handling a tell, and a failure in
``on_start`` stops the actor silently. So a watcher thread polls every actor's liveness. A dead actor is
restarted after a backoff that doubles with its consecutive restarts, and registered again in the Directory
under the same name, so no one keeps a dead reference. More than ``max_restarts`` restarts within
``window`` seconds escalate: the Supervisor reports failure and the service stops in order and exits 1, so
that supervisord restarts the whole process.

Actors can also be added and retired while it runs (``add``, ``retire``: a symbol starts or stops recording). A
retired actor is stopped and forgotten: the watcher never restarts it, even if it was found dead while being
retired. Neither counts as a restart.

Not an actor itself: it must keep working while actors die, and it runs the watcher in its own thread.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pykka

from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import GetStatus
from tradeactors.metrics import Metrics

log = logging.getLogger(__name__)

MANY_ACTORS = 100
MANY_POLL_SECONDS = 0.5
"""With a whole market's 1,500 StreamActors a liveness round costs ~1.5 ms: polled every 0.5 s instead of 0.2 s,
which is still far inside the restart backoff."""
STABLE_SECONDS = 10.0
"""An actor alive this long after a restart has its restart backoff reset."""


@dataclass
class ActorSpec:
    name: str
    """Directory name, e.g. "storage" or "stream:BTCUSDT"."""
    start: Callable[[], pykka.ActorRef]
    """Starts a fresh actor and returns its reference."""
    stop_timeout: float = 10.0
    restarts: int = 0
    consecutive: int = 0
    started_at: float = 0.0
    ref: pykka.ActorRef | None = field(default=None, repr=False)
    retired: bool = False
    """Set (under the Supervisor's lock) before a retired actor is stopped: the watcher leaves it alone."""


class SupervisorEscalation(Exception):
    """Too many restarts in the window: the service must stop and exit non-zero."""


class Supervisor:
    def __init__(
        self, directory: Directory, metrics: Metrics, max_restarts: int = 5, window: float = 60.0,
        poll_interval: float = 0.2, backoff_initial: float = 0.1, backoff_max: float = 5.0,
        on_escalate: Callable[[str], None] | None = None,
    ):
        self.directory = directory
        self.metrics = metrics
        self.max_restarts = max_restarts
        self.window = window
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.on_escalate = on_escalate
        self.specs: list[ActorSpec] = []
        self.escalated: str | None = None
        self._recent: collections.deque[float] = collections.deque()
        self._stopping = threading.Event()
        self._lock = threading.RLock()
        """Reentrant: starting an actor may add another (a symbol's StreamActor, then its connection's)."""
        self._watcher: threading.Thread | None = None
        self.watch_rounds = 0
        """Liveness checks done over every actor so far (tests wait for some to pass instead of sleeping)."""

    def start(self, specs: list[ActorSpec]) -> None:
        """Start each actor in order; an actor whose on_start fails raises here (start-up is all or nothing)."""
        for spec in specs:
            self._start_one(spec)
            self.specs.append(spec)
            log.info("started %s", spec.name)
        self._watcher = threading.Thread(target=self._watch, name="Supervisor", daemon=True)
        self._watcher.start()

    def add(self, spec: ActorSpec) -> None:
        """Start one more actor while running and supervise it like the others (stopped first, as the last
        started). Raises RuntimeError if its on_start fails (nothing is kept) or the Supervisor is stopping."""
        with self._lock:
            if self._stopping.is_set():
                raise RuntimeError(f"not starting {spec.name}: the service is stopping")
            if any(s.name == spec.name for s in self.specs):
                raise RuntimeError(f"{spec.name} is already running")
            self._start_one(spec)
            self.specs.append(spec)
        log.info("started %s", spec.name)

    def retire(self, name: str) -> bool:
        """Stop an actor for good (after it drained its mailbox) and forget it: it is not restarted, and its
        name leaves the Directory. False if no such actor is supervised."""
        with self._lock:
            spec = next((s for s in self.specs if s.name == name), None)
            if spec is None:
                return False
            spec.retired = True
            self.specs.remove(spec)
        # Outside the lock: stopping may wait for the actor's threads, and they may be waiting for the lock.
        ref = spec.ref
        if ref is not None:
            try:
                ref.stop(block=True, timeout=spec.stop_timeout)
            except pykka.Timeout:
                log.error("%s did not stop within %.0fs", spec.name, spec.stop_timeout)
        self.directory.unregister(name)
        log.info("stopped %s (retired)", name)
        return True

    def _start_one(self, spec: ActorSpec) -> None:
        ref = spec.start()
        # An ask is processed after on_start: a failed on_start shows up here as a dead actor.
        try:
            ref.ask(GetStatus(), timeout=10)
        except pykka.ActorDeadError:
            raise RuntimeError(f"actor {spec.name} failed to start (see the log above)") from None
        spec.ref = ref
        spec.started_at = time.monotonic()
        self.directory.register(spec.name, ref)

    def stop(self) -> None:
        """Stop every actor in reverse start order, each after it has drained its mailbox."""
        self._stopping.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=5)
        with self._lock:
            for spec in reversed(self.specs):
                ref = spec.ref
                if ref is None:
                    continue
                try:
                    ref.stop(block=True, timeout=spec.stop_timeout)
                    log.info("stopped %s", spec.name)
                except pykka.Timeout:
                    log.error("%s did not stop within %.0fs", spec.name, spec.stop_timeout)
                self.directory.unregister(spec.name)

    def status(self) -> dict[str, dict]:
        return {spec.name: {"alive": bool(spec.ref and spec.ref.is_alive()), "restarts": spec.restarts}
                for spec in self.specs}

    def _watch(self) -> None:
        while not self._stopping.wait(self.poll_interval if len(self.specs) < MANY_ACTORS else MANY_POLL_SECONDS):
            for spec in list(self.specs):
                if self._stopping.is_set():
                    return
                if spec.retired:
                    continue
                if spec.ref is not None and not spec.ref.is_alive():
                    self._restart(spec)
                elif spec.consecutive and time.monotonic() - spec.started_at > STABLE_SECONDS:
                    spec.consecutive = 0
            self.watch_rounds += 1

    def _restart(self, spec: ActorSpec) -> None:
        if spec.retired:  # found dead because it was being retired
            return
        now = time.monotonic()
        self._recent.append(now)
        while self._recent and self._recent[0] < now - self.window:
            self._recent.popleft()
        if len(self._recent) > self.max_restarts:
            reason = f"{len(self._recent)} actor restarts within {self.window:.0f}s (last: {spec.name})"
            log.error("restart intensity exceeded: %s; stopping the service", reason)
            self.escalated = reason
            self._stopping.set()
            if self.on_escalate:
                self.on_escalate(reason)
            return
        delay = min(self.backoff_max, self.backoff_initial * 2**spec.consecutive)
        log.error("%s died; restarting it in %.1fs", spec.name, delay)
        self.directory.unregister(spec.name)
        if self._stopping.wait(delay):
            return
        with self._lock:
            if self._stopping.is_set() or spec.retired:
                return
            try:
                self._start_one(spec)
            except Exception as exc:
                log.error("restarting %s failed: %s", spec.name, exc)
                spec.consecutive += 1
                return
            spec.restarts += 1
            spec.consecutive += 1
            self.metrics.actor_restarts.labels(spec.name).inc()
            log.info("restarted %s (restart %d)", spec.name, spec.restarts)
