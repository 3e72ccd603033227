"""CleanupActor: retention. Every ``cleanup_interval`` (hourly by default) it has the StorageActor delete every
trade older than ``retention_days`` as whole key ranges (one DeleteRange per symbol, one WriteBatch), then
compacts the deleted range so the disk space comes back. Queries keep running: a range delete is a single
tombstone, and iterators already open keep their view.

Messages: ``RunCleanup`` (tell, from its ticker; also usable by operators and tests), ``GetStatus`` (ask).
on_start: starts the ticker. on_stop/on_failure: stops it.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

from tradeactors import storage
from tradeactors.actors.base import Actor, handles
from tradeactors.actors.directory import ActorUnavailable, Directory
from tradeactors.actors.messages import DeleteBefore, GetStatus
from tradeactors.actors.ticker import Ticker
from tradeactors.storage import Database, StorageError

log = logging.getLogger(__name__)


class RunCleanup(NamedTuple):
    """Run retention now; ``now_ms`` overrides the clock (tests)."""

    now_ms: int | None = None


class CleanupActor(Actor):
    thread_name = "Cleanup"

    def __init__(self, db: Database, directory: Directory, retention_days: float, interval: float):
        super().__init__()
        self.db = db
        self.directory = directory
        self.retention_ms = int(retention_days * 86_400_000)
        self.interval = interval
        self.runs = 0
        self.last_cutoff_ms: int | None = None
        self._ticker: Ticker | None = None

    def on_start(self) -> None:
        super().on_start()
        self._ticker = Ticker(self.actor_ref, RunCleanup(), self.interval, "Cleanup-ticker").start()

    def on_stop(self) -> None:
        if self._ticker:
            self._ticker.stop()

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        self.on_stop()

    @handles(RunCleanup)
    def _run_cleanup(self, message: RunCleanup) -> dict | None:
        return self._run(message.now_ms if message.now_ms is not None else int(time.time() * 1000))

    @handles(GetStatus)
    def _status(self, _message: GetStatus) -> dict:
        return {"runs": self.runs, "last_cutoff_ms": self.last_cutoff_ms}

    def _run(self, now_ms: int) -> dict | None:
        cutoff = (now_ms - self.retention_ms) // 1000 * 1000
        began = time.monotonic()
        try:
            kept = self.directory.ask("storage", DeleteBefore(cutoff), timeout=60)
        except (ActorUnavailable, TimeoutError, StorageError) as exc:
            log.error("retention run failed: %s (next try in %.0fs)", exc, self.interval)
            return None
        for symbol in kept:  # every symbol the StorageActor tracks, recording or not: no list of its own to update
            try:
                storage.compact_trades_before(self.db, symbol, cutoff)
            except StorageError as exc:
                log.warning("compacting %s after retention failed: %s", symbol, exc)
        self.runs += 1
        self.last_cutoff_ms = cutoff
        log.info("Retention: deleted trades before %d (%s ago) in %.2fs; first ids kept %s", cutoff,
                 f"{self.retention_ms / 86_400_000:g} days", time.monotonic() - began, kept)
        return kept
