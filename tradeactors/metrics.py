"""Prometheus metrics of one service instance, in its own registry (tests run several services per process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.trades_received = Counter("tradeactors_trades_received", "Aggregate trades received live",
                                       ["symbol"], registry=r)
        self.trades_stored = Counter("tradeactors_trades_stored", "Aggregate trades written to the database",
                                     ["symbol"], registry=r)
        self.duplicates_dropped = Counter("tradeactors_trades_duplicate",
                                          "Trades dropped because already received or stored",
                                          ["symbol"], registry=r)
        self.frames_malformed = Counter("tradeactors_frames_malformed", "Malformed frames logged and skipped",
                                        ["symbol"], registry=r)
        self.reconnects = Counter("tradeactors_reconnects", "WebSocket connections opened after the first",
                                  ["symbol"], registry=r)
        self.connection_failures = Counter("tradeactors_connection_failures", "WebSocket connection failures",
                                           ["symbol"], registry=r)
        self.gaps_found = Counter("tradeactors_gaps_found", "Holes in the aggregate id sequence found",
                                  ["symbol"], registry=r)
        self.gaps_filled = Counter("tradeactors_gaps_filled", "Holes filled from REST", ["symbol"], registry=r)
        self.gaps_unfillable = Counter("tradeactors_gaps_unfillable", "Id ranges REST confirms missing (exchange gaps)",
                                       ["symbol"], registry=r)
        self.trades_backfilled = Counter("tradeactors_trades_backfilled", "Trades fetched from REST into holes",
                                         ["symbol"], registry=r)
        self.rest_requests = Counter("tradeactors_rest_requests",
                                     "REST requests by endpoint and outcome (ok, the HTTP status, or error)",
                                     ["endpoint", "outcome"], registry=r)
        self.rest_weight = Counter("tradeactors_rest_weight", "REST request weight spent", registry=r)
        self.book_seconds_stored = Counter("tradeactors_book_seconds_stored", "Book seconds written",
                                           ["symbol"], registry=r)
        self.book_seconds_lost = Counter("tradeactors_book_seconds_lost",
                                         "Book seconds lost: past the bound of failed writes, or pending at a stop",
                                         ["symbol"], registry=r)
        self.book_seconds_skipped = Counter("tradeactors_book_seconds_skipped",
                                            "Exchange seconds not stored because the book was out of sync",
                                            ["symbol"], registry=r)
        self.book_resyncs = Counter("tradeactors_book_resyncs", "Order-book resyncs by reason",
                                    ["symbol", "reason"], registry=r)
        self.depth_snapshot_requests = Counter("tradeactors_depth_snapshot_requests",
                                               "REST depth snapshots fetched to sync books, by outcome",
                                               ["symbol", "outcome"], registry=r)
        self.depth_snapshots = Counter("tradeactors_depth_snapshots",
                                       "REST depth snapshots fetched, by the limit asked (weight 5/25/50/250 for "
                                       "<=100/<=500/<=1000/<=5000)", ["limit"], registry=r)
        self.depth_snapshot_queue = Gauge("tradeactors_depth_snapshot_queue",
                                          "Books waiting for a REST depth snapshot", registry=r)
        self.books_unsynced = Gauge("tradeactors_books_unsynced", "Order books out of sync", registry=r)
        self.books_sync_seconds = Gauge("tradeactors_books_sync_seconds",
                                        "Seconds from the first book out of sync to every book synced, the last "
                                        "time every book was synced again (start, a mass drop)", registry=r)
        self.batches_written = Counter("tradeactors_batches_written", "WriteBatches committed", registry=r)
        self.bytes_written = Counter("tradeactors_bytes_written", "Value bytes written", registry=r)
        self.storage_errors = Counter("tradeactors_storage_errors", "Failed database writes", registry=r)
        self.storage_pending = Gauge("tradeactors_storage_pending_trades", "Trades kept in memory after failed writes",
                                     registry=r)
        self.buffer_depth = Gauge("tradeactors_buffer_trades", "Trades waiting in the buffer", ["symbol"], registry=r)
        self.store_lag = Gauge("tradeactors_store_lag_seconds",
                               "Exchange trade time of the newest stored trade to its write",
                               ["symbol"], registry=r)
        self.thread_deaths = Counter("tradeactors_thread_deaths",
                                     "Actor-owned threads that died on an unexpected exception (the actor restarts)",
                                     ["thread"], registry=r)
        self.health_ok = Gauge("tradeactors_health_ok", "1 while /api/health would answer 200, else 0", registry=r)
        self.stream_down_seconds = Gauge("tradeactors_stream_down_seconds",
                                         "Seconds the stream has been without a connection (0 while connected)",
                                         ["symbol"], registry=r)
        self.book_unsynced_seconds = Gauge("tradeactors_book_unsynced_seconds",
                                           "Seconds the symbol's book has been out of sync (0 while synced)",
                                           ["symbol"], registry=r)
        self.messages_dropped = Counter("tradeactors_messages_dropped",
                                        "Tells dropped because the actor was not running (stopping or restarting)",
                                        ["actor"], registry=r)
        self.actor_restarts = Counter("tradeactors_actor_restarts", "Actor restarts by the supervisor",
                                      ["actor"], registry=r)
        self.symbols_recording = Gauge("tradeactors_symbols_recording", "Symbols being recorded now", registry=r)
        self.symbols_started = Counter("tradeactors_symbols_started",
                                       "Symbols that started recording while the service ran (listed, or added to "
                                       "the configuration)", registry=r)
        self.symbols_stopped = Counter("tradeactors_symbols_stopped",
                                       "Symbols that stopped recording while the service ran (no longer trading, "
                                       "delisted, or removed from the configuration)", registry=r)
        self.symbol_set_reads = Counter("tradeactors_symbol_set_reads",
                                        "Reads of the symbol set (exchangeInfo with symbols = ALL), by outcome",
                                        ["outcome"], registry=r)
        self.query_seconds = Histogram("tradeactors_query_seconds", "Query latency", ["kind"], registry=r)

    def value(self, name: str, **labels: str) -> float:
        """The current value of a sample (e.g. ``value("tradeactors_gaps_found_total", symbol="BTCUSDT")``).
        Walks the whole registry: for many values at once use ``by_symbol``."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def by_symbol(self) -> dict[tuple[str, str], float]:
        """Every per-symbol sample in one pass, summed over other labels: {(sample name, symbol): value}."""
        out: dict[tuple[str, str], float] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                symbol = sample.labels.get("symbol")
                if symbol is not None:
                    key = (sample.name, symbol)
                    out[key] = out.get(key, 0.0) + sample.value
        return out
