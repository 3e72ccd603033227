"""Prometheus metrics of one service instance, in its own registry (tests run several services per process).

Most series are per symbol, so at the whole market (1,500 symbols) the registry holds some 25,000 series. Counters
do not expose their ``_created`` samples (``disable_created_metrics``, process-wide, set on import): in the text
format 0.0.4 Prometheus stores each as one more series, which doubled the series per counter and the scrape time
for a creation time nobody reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.metrics import MetricWrapperBase

disable_created_metrics()  # type: ignore[no-untyped-call]


def labelled_values(metric: object) -> list[tuple[tuple[str, ...], float]] | None:
    """[(label values, value)] of a labelled Counter or Gauge read from its children directly, or None for any
    other metric. prometheus_client's ``collect()`` builds a Sample object per child and ``generate_latest``
    formats each through a generic path: 0.6 s for the 28,500 samples of 1,500 symbols on the 2-core machine,
    this ~0.06 s. It reads attributes that prometheus_client does not document (``_labelnames``, ``_metrics``,
    ``_lock``, a child's ``_value``); if a release renames them this answers None and callers take the public
    path (tests/test_metrics.py compares the two on every run)."""
    if not isinstance(metric, (Counter, Gauge)):
        return None
    try:
        if not metric._labelnames:
            return None
        with metric._lock:
            children: list[tuple[Any, Any]] = list(metric._metrics.items())
        return [(tuple(labels), float(child._value.get())) for labels, child in children]
    except AttributeError:
        return None


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _label(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


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
        self.connection_frames_malformed = Counter(
            "tradeactors_connection_frames_malformed", "Malformed frames logged and skipped, by multiplexed connection "
            "(those whose symbol could be read count in tradeactors_frames_malformed too)", ["connection"],
            registry=r)
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
        self.receive_lag = Histogram(
            "tradeactors_receive_lag_seconds", "Exchange event time to handed over by the reader (each drain's "
            "oldest event)", buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r)
        self.query_seconds = Histogram("tradeactors_query_seconds", "Query latency", ["kind"], registry=r)

    def value(self, name: str, **labels: str) -> float:
        """The current value of a sample (e.g. ``value("tradeactors_gaps_found_total", symbol="BTCUSDT")``).
        Walks the whole registry: for many values at once use ``by_symbol``."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def collectors(self) -> Iterator[MetricWrapperBase]:
        """Every metric of this instance, in the order defined (all of its registry: nothing else registers)."""
        return (value for value in vars(self).values() if isinstance(value, MetricWrapperBase))

    def per_symbol(self, *attributes: str) -> dict[str, dict[str, float]]:
        """{attribute: {symbol: value}} for these per-symbol Counters or Gauges (attribute names, e.g.
        ``"store_lag"``), summed over their other labels. Reads those metrics only: a pass over the whole registry
        at 1,500 symbols (``by_symbol``) walks some 28,500 samples."""
        out: dict[str, dict[str, float]] = {}
        for attribute in attributes:
            metric = getattr(self, attribute)
            values: dict[str, float] = {}
            read = labelled_values(metric)
            if read is not None:
                where = list(metric._labelnames).index("symbol")
                for labels, value in read:
                    values[labels[where]] = values.get(labels[where], 0.0) + value
            else:
                for family in metric.collect():
                    for sample in family.samples:
                        symbol = sample.labels.get("symbol")
                        if symbol is not None and not sample.name.endswith("_created"):
                            values[symbol] = values.get(symbol, 0.0) + sample.value
            out[attribute] = values
        return out

    def exposition(self) -> bytes:
        """The Prometheus text format (0.0.4) of every metric, as ``generate_latest(self.registry)`` writes it, but
        labelled Counters and Gauges are written from ``labelled_values`` (10x faster at 1,500 symbols); the
        others (unlabelled ones, the histogram) through ``generate_latest`` itself."""
        parts: list[str] = []
        for metric in self.collectors():
            read = labelled_values(metric)
            if read is None:
                parts.append(generate_latest(metric).decode())  # a metric collects as a registry does
                continue
            kind = "counter" if isinstance(metric, Counter) else "gauge"
            name = metric._name + ("_total" if kind == "counter" else "")
            documentation = metric._documentation.replace("\\", "\\\\").replace("\n", "\\n")
            parts.append(f"# HELP {name} {documentation}\n# TYPE {name} {kind}\n")
            names = metric._labelnames
            if len(names) == 1:
                key = names[0]
                parts.extend([f'{name}{{{key}="{_label(labels[0])}"}} {_number(value)}\n' for labels, value in read])
            else:
                order = sorted(range(len(names)), key=names.__getitem__)  # generate_latest sorts labels by name
                for labels, value in read:
                    text = ",".join(f'{names[i]}="{_label(labels[i])}"' for i in order)
                    parts.append(f"{name}{{{text}}} {_number(value)}\n")
        return "".join(parts).encode()

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
