"""The recorded symbols while the service runs: which are recording, which are known, and how one starts or stops.

``SymbolLifecycle.change(target)`` (called by the SymbolSetActor's worker, one change at a time) records exactly
``target`` from then on:

- a new symbol is told first to every actor that keeps per-symbol state (``SymbolsChanged(added)``: storage,
  query, buffer, backfill, depth snapshots), then its StreamActor is added to the Supervisor. It joins
  ``recording`` (and ``/api/status``) once that actor runs; nothing else restarts.
- a symbol that left ``target`` has its StreamActor retired (stopped after it handed its last trades and book
  second to the buffer, unregistered, never restarted), then the actors are told ``SymbolsChanged(removed)``: the
  buffer flushes it, the backfill gives it a last catch-up and hole fill.

A *known* symbol, which queries accept, is one recording now, recorded earlier in this run, or with stored
history when the service started: a symbol that stops recording stays queryable until retention removes its
history. The lifecycle knows StreamActors only by name and start function: how a StreamActor gets its frames is
not its concern.

Thread safety: ``recording`` and the known set are replaced, never changed in place, so web threads read them
without a lock; changes hold ``_lock``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from tradeactors import symbolset
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import SymbolsChanged
from tradeactors.actors.supervisor import ActorSpec, Supervisor
from tradeactors.metrics import Metrics

log = logging.getLogger(__name__)

SYMBOL_STATE_ACTORS = ("storage", "query", "buffer", "backfill", "depth_snapshots")
"""The actors that keep per-symbol state and are told ``SymbolsChanged`` (cleanup keeps none: it compacts whatever
retention reached)."""


class SymbolLifecycle:
    def __init__(self, supervisor: Supervisor, directory: Directory, metrics: Metrics,
                 stream_spec: Callable[[str], ActorSpec], recording: Sequence[str] = (),
                 after_start: Callable[[], None] | None = None):
        self.supervisor = supervisor
        self.after_start = after_start
        """Called after a change started its StreamActors (the service starts the connections they need then)."""
        self.directory = directory
        self.metrics = metrics
        self.stream_spec = stream_spec
        self.recording: tuple[str, ...] = tuple(recording)
        """The symbols recorded now (each has a StreamActor)."""
        self.history: frozenset[str] = frozenset()
        """Symbols whose history is queryable: stored when the service started, or recorded earlier in this run."""
        self._starting: tuple[str, ...] = ()
        """Symbols being added: the actors with per-symbol state know them already, their StreamActors start."""
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def remember(self, symbols: Iterable[str]) -> None:
        """Symbols with stored history (read at start): known, whether they record or not."""
        self.history = self.history | set(symbols)

    @property
    def known(self) -> tuple[str, ...]:
        """Recording now, then the others with queryable history, sorted."""
        recording = self.recording
        return recording + tuple(sorted(self.history.difference(recording)))

    @property
    def history_only(self) -> list[str]:
        return sorted(self.history.difference(self.recording))

    def tracked(self) -> tuple[str, ...]:
        """The symbols the actors with per-symbol state serve: recording, and those whose StreamActor starts (an
        actor the Supervisor restarts is built with these)."""
        return self.recording + self._starting

    def close(self) -> None:
        """The service stops: a change in progress starts no more symbols."""
        self._closing.set()

    def change(self, target: Sequence[str], statuses: Mapping[str, str] | None = None, reason: str = "change") -> None:
        """Record exactly ``target`` from now on. ``reason`` and ``statuses`` (exchangeInfo's status by symbol, None
        for an explicit list) go to the log."""
        with self._lock:
            added, removed = symbolset.changes(self.recording, target)
            if added:
                self._start(added, reason)
            if removed:
                self._stop(removed, reason, statuses)
            self.metrics.symbols_recording.set(len(self.recording))

    def _start(self, added: tuple[str, ...], reason: str) -> None:
        self._starting = added
        self._tell(added, (), self.recording + added + self.known)
        failed = []
        for symbol in added:
            if self._closing.is_set():
                failed.append(symbol)
                continue
            try:
                self.supervisor.add(self.stream_spec(symbol))
            except Exception as exc:
                log.error("could not start recording %s: %s", symbol, exc)
                failed.append(symbol)
                continue
            self.recording += (symbol,)
            self.metrics.symbols_started.inc()
            log.info("Started recording %s (%s)", symbol, reason)
        self._starting = ()
        if self.after_start is not None and not self._closing.is_set():
            self.after_start()
        if failed:
            self._tell((), tuple(failed), self.known)

    def _stop(self, removed: tuple[str, ...], reason: str, statuses: Mapping[str, str] | None) -> None:
        for symbol in removed:
            self.supervisor.retire(f"stream:{symbol}")
            self.recording = tuple(s for s in self.recording if s != symbol)
            self.history = self.history | {symbol}
            for gauge in (self.metrics.stream_down_seconds, self.metrics.book_unsynced_seconds):
                try:
                    gauge.remove(symbol)
                except KeyError:
                    pass  # never set
            self.metrics.symbols_stopped.inc()
            log.info("Stopped recording %s (%s: %s); its stored history stays queryable until retention removes it",
                     symbol, reason, _why(symbol, statuses))
        self._tell((), removed, self.known)

    def _tell(self, added: tuple[str, ...], removed: tuple[str, ...], known: tuple[str, ...]) -> None:
        message = SymbolsChanged(added, removed, tuple(dict.fromkeys(known)))
        for name in SYMBOL_STATE_ACTORS:
            self.directory.tell(name, message)


def _why(symbol: str, statuses: Mapping[str, str] | None) -> str:
    if statuses is None:
        return "removed from the configured list"
    if symbol not in statuses:
        return "no longer listed by exchangeInfo"
    status = statuses[symbol]
    return f"exchangeInfo status {status}" if status != "TRADING" else "filtered out"
