"""SymbolSetActor: decides which symbols are recorded while the service runs.

With ``symbols = ALL`` its worker reads ``/api/v3/exchangeInfo`` (weight 20, through the process-wide weight
ledger) at start, every ``symbols_refresh`` seconds and on ``ReadSymbols``, and hands the chosen set
(``symbolset.Selection.choose``) to ``apply``: the Service starts a StreamActor for every new symbol and stops
the ones that are no longer trading. With an explicit list nothing is read: ``ReadSymbols`` (a SIGHUP that re-read
the configuration file) hands the new list over as it is.

A failed read changes nothing: the symbols recorded so far go on, and the read is tried again after a backoff
(``backoff_initial`` doubling to ``backoff_max``, at most ``symbols_refresh``). Until the first read succeeds an
``ALL`` service records nothing and ``/api/health`` says why (``ever_read``, ``last_error`` in the status).

Owns: the worker thread and the selection in force.
Messages: ``ReadSymbols`` (tell, from the Service on SIGHUP): take this selection and read now. ``GetStatus``
(ask): the selection, the last read and its outcome. ``ThreadDied`` and ``InjectFailure`` (tell): see
``worker.py``.
Calls: ``apply(symbols, statuses, reason)`` in the worker thread (``SymbolLifecycle.change``, which may take
seconds: it starts and stops actors; never run in ``on_receive``).
on_start: starts the worker, which reads at once. on_stop/on_failure: stops it (a change in progress finishes).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from tradeactors.actors.base import handles
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import ReadSymbols
from tradeactors.actors.worker import RestWorker, WorkerThreadActor
from tradeactors.metrics import Metrics
from tradeactors.rest import RestClient, RestError
from tradeactors.symbolset import Selection

log = logging.getLogger(__name__)

Apply = Callable[[Sequence[str], Mapping[str, str] | None, str], None]
"""``apply(symbols, statuses, reason)``: record exactly ``symbols``; ``statuses`` is exchangeInfo's status by symbol
(None for an explicit list), for the log."""


class SymbolSetWorker(RestWorker):
    def __init__(self, selection: Selection, refresh_seconds: float, apply: Apply, directory: Directory,
                 rest: RestClient, metrics: Metrics, backoff_initial: float = 1.0, backoff_max: float = 60.0):
        super().__init__(directory, rest, metrics, backoff_initial, backoff_max)
        self.selection = selection
        self.refresh_seconds = refresh_seconds
        self.apply = apply
        self.woken = threading.Event()
        self._pending: ReadSymbols | None = None
        self._lock = threading.Lock()
        self.reads = 0
        """Successful reads of the symbol set (exchangeInfo, or the explicit list)."""
        self.ever_read = False
        self.last_read_ms: int | None = None
        self.last_error: str | None = None
        self.failures = 0
        """Consecutive failed reads."""

    def read_now(self, request: ReadSymbols) -> None:
        with self._lock:
            self._pending = request
        self.woken.set()

    def wake(self) -> None:
        self.woken.set()

    def run(self) -> None:
        reason = "start"
        while not self.stopping.is_set():
            self.check_crash()
            with self._lock:
                request, self._pending = self._pending, None
            if request is not None:
                self.selection, self.refresh_seconds, reason = (request.selection, request.refresh_seconds,
                                                                request.reason)
            read = self._read()
            if read is not None and not self.stopping.is_set():
                self.apply(read[0], read[1], reason)
            self.woken.wait(self._next_wait())
            self.woken.clear()
            reason = "refresh"

    def _read(self) -> tuple[tuple[str, ...], Mapping[str, str] | None] | None:
        """(The symbols to record now, exchangeInfo's statuses), or None if exchangeInfo could not be read
        (logged)."""
        selection = self.selection
        statuses: dict[str, str] | None = None
        if selection.every:
            try:
                listed = self.rest.listed_symbols(self.stopping)
            except RestError as exc:
                if self.stopping.is_set():
                    return None
                self.failures += 1
                self.last_error = str(exc)
                self.metrics.symbol_set_reads.labels("error").inc()
                log.error("reading the symbol set (%s) from exchangeInfo failed: %s; the symbols recorded so far go "
                          "on, next try in %.0fs", selection.describe(), exc, self._next_wait())
                return None
            chosen = selection.choose(listed)
            statuses = {item.symbol: item.status for item in listed}
            if not chosen:
                log.warning("symbols = %s selects no symbol of the %d exchangeInfo lists", selection.describe(),
                            len(listed))
        else:
            chosen = selection.symbols
        self.reads += 1
        self.failures = 0
        self.ever_read = True
        self.last_error = None
        self.last_read_ms = int(time.time() * 1000)
        self.metrics.symbol_set_reads.labels("ok").inc()
        return chosen, statuses

    def _next_wait(self) -> float | None:
        """Seconds until the next read: the refresh interval (None: only when asked, for an explicit list), or a
        backoff after failures."""
        if not self.selection.every:
            return None
        if self.failures:
            backoff = self.backoff_initial * 2 ** (self.failures - 1)
            return min(backoff, self.backoff_max, self.refresh_seconds)
        return self.refresh_seconds


class SymbolSetActor(WorkerThreadActor):
    thread_name = "Symbols"
    worker: SymbolSetWorker

    def __init__(self, selection: Selection, refresh_seconds: float, apply: Apply, directory: Directory,
                 rest: RestClient, metrics: Metrics, backoff_initial: float = 1.0, backoff_max: float = 60.0):
        super().__init__()
        self.worker = SymbolSetWorker(selection, refresh_seconds, apply, directory, rest, metrics, backoff_initial,
                                      backoff_max)

    @handles(ReadSymbols)
    def _read_symbols(self, message: ReadSymbols) -> None:
        self.worker.read_now(message)

    def status(self) -> dict:
        w = self.worker
        return {"selection": w.selection.describe(), "all": w.selection.every,
                "refresh_seconds": w.refresh_seconds if w.selection.every else None, "reads": w.reads,
                "ever_read": w.ever_read, "last_read_ms": w.last_read_ms, "last_error": w.last_error}
