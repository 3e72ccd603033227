"""Actors that own one worker thread for blocking REST I/O, which must never run inside ``on_receive``.

``RestWorker`` is the worker's REST side (client, stop event, retries with backoff). ``WorkerThreadActor``
runs a worker: subclasses set ``self.worker`` (an object with ``run()`` and ``stop()``) and ``thread_name``.
on_start starts the worker's thread; on_stop and on_failure stop it and wait for it (an in-flight request finishes
or times out first).

A worker's network failures are ``RestError``s, retried inside it. Any other exception ends the thread loudly:
it is logged, counted (``thread_deaths``) and the actor is told ``ThreadDied``, on which it raises, so that the
Supervisor restarts it with a fresh worker. A thread that dies while its actor lives on is never silent.
``InjectFailure(thread=True)`` makes the worker raise at its next step (drills and tests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pykka
import tenacity

from tradeactors.actors.base import Actor, handles
from tradeactors.actors.messages import GetStatus, InjectFailure, ThreadDied
from tradeactors.rest import RestClient, RestError

log = logging.getLogger(__name__)


class RestWorker:
    """The REST side of a worker: its client, metrics, a stop event, and retries with the service's backoff
    (``backoff_initial`` doubling to ``backoff_max`` with jitter; a 429/418 ``Retry-After`` is held by the weight
    ledger inside the client)."""

    def __init__(self, directory, rest: RestClient, metrics, backoff_initial: float, backoff_max: float):
        self.directory = directory
        self.rest = rest
        self.metrics = metrics
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stopping = threading.Event()
        self.crash: str | None = None
        """Set by ``InjectFailure(thread=True)``: ``check_crash`` raises it, as a bug in the worker would."""

    def _sleep(self, seconds: float) -> None:
        """tenacity's sleep: a wait that a stop ends at once."""
        self.stopping.wait(seconds)

    def check_crash(self) -> None:
        if self.crash:
            raise RuntimeError(self.crash)

    def run(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping.set()
        self.wake()

    def wake(self) -> None:
        """Interrupt the worker's wait (a new request, a stop, an injected crash)."""

    def retrying(self, call: Callable, what: str, retry_any: bool = False, on_retry: Callable | None = None):
        """Call until it succeeds, the worker stops, or it fails with an error retrying cannot help
        (``retry_any``: retry those too). Raises the last RestError."""

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if on_retry is not None:
                on_retry()
            error = state.outcome.exception() if state.outcome is not None else None
            log.error("%s failed: %s; retrying in %.1fs", what, error, state.upcoming_sleep)

        return tenacity.Retrying(
            wait=tenacity.wait_exponential_jitter(multiplier=self.backoff_initial, max=self.backoff_max,
                                                  jitter=self.backoff_initial),
            retry=tenacity.retry_if_exception(
                lambda e: isinstance(e, RestError) and (e.retryable or retry_any) and not self.stopping.is_set()),
            stop=lambda _state: self.stopping.is_set(),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )(call)


class WorkerThreadActor(Actor):
    """An actor whose blocking work runs in one worker thread (``self.worker``: ``run()``, ``stop()``, ``wake()``)."""

    thread_name = "Worker"
    worker: RestWorker
    _thread: threading.Thread | None = None
    died: str | None = None
    """Why the worker thread ended on an unexpected exception, if it did."""

    def on_start(self) -> None:
        super().on_start()
        self._thread = threading.Thread(target=self._run_worker, name=f"{self.thread_name}-worker", daemon=True)
        self._thread.start()

    def _run_worker(self) -> None:
        try:
            self.worker.run()
        except Exception as exc:
            name = threading.current_thread().name
            self.died = f"{type(exc).__name__}: {exc}"
            log.exception("thread %s died", name)
            self.worker.metrics.thread_deaths.labels(name).inc()
            try:
                self.actor_ref.tell(ThreadDied(name, self.died))
            except pykka.ActorDeadError:
                pass  # the actor is stopping: a new worker comes with the restarted actor

    @handles(InjectFailure)
    def _inject_failure(self, message: InjectFailure) -> None:
        if not message.thread:
            raise RuntimeError(message.reason)
        self.worker.crash = message.reason
        self.worker.wake()

    @handles(GetStatus)
    def _status(self, _message: GetStatus) -> dict:
        return {**self.status(), "worker_alive": self.worker_alive, "worker_died": self.died}

    def status(self) -> dict:
        """The actor's own part of ``GetStatus``."""
        return {}

    def on_stop(self) -> None:
        self._stop_worker()

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        self._stop_worker()

    def _stop_worker(self) -> None:
        self.worker.stop()
        if self._thread is not None:
            self._thread.join(timeout=15)

    @property
    def worker_alive(self) -> bool:
        return bool(self._thread and self._thread.is_alive())
