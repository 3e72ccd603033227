"""Actors that own one worker thread for blocking REST I/O, which must never run inside ``on_receive``.

``RestWorker`` is the worker's REST side (client, stop event, retries with backoff). ``WorkerThreadActor``
runs a worker: subclasses set ``self.worker`` (an object with ``run()`` and ``stop()``) and ``thread_name``. on_start starts
the worker's thread; on_stop and on_failure stop it and wait for it (an in-flight request finishes or times
out first).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

import pykka
import tenacity

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

    def retrying(self, call: Callable, what: str, retry_any: bool = False, on_retry: Callable | None = None):
        """Call until it succeeds, the worker stops, or it fails with an error retrying cannot help
        (``retry_any``: retry those too). Raises the last RestError."""

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if on_retry is not None:
                on_retry()
            log.error("%s failed: %s; retrying in %.1fs", what, state.outcome.exception(), state.upcoming_sleep)

        return tenacity.Retrying(
            wait=tenacity.wait_exponential_jitter(multiplier=self.backoff_initial, max=self.backoff_max,
                                                  jitter=self.backoff_initial),
            retry=tenacity.retry_if_exception(
                lambda e: isinstance(e, RestError) and (e.retryable or retry_any) and not self.stopping.is_set()),
            stop=lambda _state: self.stopping.is_set(),
            sleep=self.stopping.wait,
            before_sleep=before_sleep,
            reraise=True,
        )(call)


class WorkerThreadActor(pykka.ThreadingActor):
    thread_name = "Worker"
    worker = None
    _thread: threading.Thread | None = None

    def on_start(self) -> None:
        threading.current_thread().name = self.thread_name
        self._thread = threading.Thread(target=self.worker.run, name=f"{self.thread_name}-worker", daemon=True)
        self._thread.start()

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
