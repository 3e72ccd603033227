"""``metrics.Metrics``: its own exposition writes what prometheus_client's ``generate_latest`` writes (so a
prometheus_client release that renamed the attributes it reads would fail here, not on a scrape), and
``per_symbol`` reads the same values as a pass over the registry."""

from __future__ import annotations

import math

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tradeactors.metrics import Metrics, labelled_values


def families(text: str) -> dict:
    return {f.name: (f.type, f.documentation, sorted((s.name, tuple(sorted(s.labels.items())), s.value)
                                                     for s in f.samples))
            for f in text_string_to_metric_families(text)}


def busy_metrics() -> Metrics:
    metrics = Metrics()
    for i, symbol in enumerate(["BTCUSDT", "ETHUSDT", "S0001USDT"]):
        metrics.trades_received.labels(symbol).inc(10 + i)
        metrics.store_lag.labels(symbol).set(0.25 * i)
        metrics.book_resyncs.labels(symbol, "gap").inc(i)
        metrics.book_resyncs.labels(symbol, "connection lost").inc(1)
    metrics.store_lag.labels("NANUSDT").set(math.nan)
    metrics.buffer_depth.labels("INFUSDT").set(math.inf)
    metrics.rest_requests.labels("/api/v3/depth", 'said "no"\\ \n twice').inc()
    metrics.batches_written.inc(7)
    metrics.query_seconds.labels("trades").observe(0.02)
    return metrics


def test_the_exposition_is_generate_latest_sample_for_sample():
    metrics = busy_metrics()
    ours = metrics.exposition().decode()
    assert ours == generate_latest(metrics.registry).decode()
    assert families(ours).keys() == families(generate_latest(metrics.registry).decode()).keys()
    assert 'tradeactors_trades_received_total{symbol="BTCUSDT"} 10.0' in ours.splitlines()


def test_labelled_counters_and_gauges_are_read_directly_and_the_rest_through_collect():
    metrics = busy_metrics()
    assert sorted(labelled_values(metrics.trades_received)) == [(("BTCUSDT",), 10.0), (("ETHUSDT",), 11.0),
                                                                (("S0001USDT",), 12.0)]
    assert labelled_values(metrics.batches_written) is None
    assert labelled_values(metrics.query_seconds) is None


def test_counters_expose_no_created_series():
    assert "_created" not in busy_metrics().exposition().decode()


def test_per_symbol_sums_over_other_labels_as_by_symbol_does():
    metrics = busy_metrics()
    values = metrics.per_symbol("book_resyncs", "store_lag")
    everything = metrics.by_symbol()
    assert values["book_resyncs"] == {s: everything[("tradeactors_book_resyncs_total", s)]
                                      for s in ("BTCUSDT", "ETHUSDT", "S0001USDT")}
    assert values["book_resyncs"]["S0001USDT"] == 3.0
    assert values["store_lag"]["ETHUSDT"] == 0.25
