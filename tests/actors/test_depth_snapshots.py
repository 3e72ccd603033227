"""The DepthSnapshotActor's worker, without its thread: what it ranks the books by at start."""

from __future__ import annotations

import time

from tests.helpers import trades
from tradeactors.actors.depth_snapshots import DepthSnapshotWorker
from tradeactors.actors.directory import Directory
from tradeactors.metrics import Metrics
from tradeactors.rest import RestClient, WeightLedger
from tradeactors.storage import TradeWriter


def test_at_start_the_books_rank_by_their_trades_stored_in_the_last_minutes(db):
    now_ms = int(time.time() * 1000)
    writer = TradeWriter(db, ["BUSY", "CALM", "NEW"])
    writer.write("BUSY", trades(1, 3000, t0=now_ms - 300_000, step_ms=100))  # 10 a second for the last 5 minutes
    writer.write("CALM", trades(1, 30, t0=now_ms - 300_000, step_ms=10_000))
    metrics = Metrics()
    worker = DepthSnapshotWorker(Directory(metrics), RestClient("http://127.0.0.1:9", WeightLedger()), metrics, 1.0,
                                 60.0, db, ["BUSY", "CALM", "NEW"])
    for symbol in ("NEW", "CALM", "BUSY"):  # in this order, each with no activity measured yet
        worker.schedule.request(symbol, 1000, "initial snapshot", 0.0, now=time.monotonic())
    worker.activity_from_storage()
    assert worker.schedule.activity == {"BUSY": 300.0, "CALM": 3.0}  # trades a minute over the last 10
    assert [pending.symbol for pending in worker.schedule.ordered()] == ["BUSY", "CALM", "NEW"]


def test_a_removed_symbol_loses_its_queued_request_and_its_place_among_the_unsynced_books():
    metrics = Metrics()
    worker = DepthSnapshotWorker(Directory(metrics), RestClient("http://127.0.0.1:9", WeightLedger()), metrics, 1.0,
                                 60.0, None, ["KEEP", "GONE"])
    for symbol in ("KEEP", "GONE"):
        worker.book_state(symbol, synced=False)
        worker.schedule.request(symbol, 1000, "initial snapshot", 0.0, now=time.monotonic())
    worker.change_symbols(added=["NEW"], removed=["GONE"])
    assert [pending.symbol for pending in worker.schedule.ordered()] == ["KEEP"]
    assert worker.status()["books_unsynced"] == 1 and metrics.value("tradeactors_books_unsynced") == 1
    assert worker.symbols == ["KEEP", "NEW"]  # filters are fetched for the new symbol, no longer for the removed one
