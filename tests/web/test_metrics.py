"""GET /metrics: Prometheus text format from the service's own registry, read with prometheus_client's parser.
The format on the stand-in facade (tests/web/conftest.py); the counters moving over real HTTP from a service
running on the simulator."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_for


def scrape(service) -> requests.Response:
    return requests.get(f"{service.http.url}/metrics", timeout=5)


def sample(service, name: str, **labels) -> float:
    """The value of one sample (0 when the labelled child does not exist yet)."""
    for family in text_string_to_metric_families(scrape(service).text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_metrics_are_prometheus_text_that_prometheus_client_parses(client, standin):
    standin.metrics.trades_stored.labels("BTCUSDT").inc(3)
    standin.healthy = False
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}
    for name in ("tradeactors_trades_received", "tradeactors_trades_stored", "tradeactors_reconnects",
                 "tradeactors_gaps_found", "tradeactors_actor_restarts", "tradeactors_storage_errors"):
        assert families[name].type == "counter", name
    assert families["tradeactors_store_lag_seconds"].type == "gauge"
    assert families["tradeactors_query_seconds"].type == "histogram"
    stored = {s.labels["symbol"]: s.value for s in families["tradeactors_trades_stored"].samples
              if s.name == "tradeactors_trades_stored_total"}
    assert stored == {"BTCUSDT": 3.0}
    # The scrape asks the facade for its health first, so the health gauges are fresh.
    assert ("health",) in standin.calls
    assert families["tradeactors_health_ok"].samples[0].value == 0.0


def test_trade_counters_move_as_the_simulator_publishes(service_factory):
    service = service_factory()
    for symbol in ("BTCUSDT", "ETHUSDT"):
        wait_for(lambda s=symbol: sample(service, "tradeactors_trades_stored_total", symbol=s) >= 20, timeout=15,
                 message=f"20 stored {symbol} trades")
    received = sample(service, "tradeactors_trades_received_total", symbol="BTCUSDT")
    stored = sample(service, "tradeactors_trades_stored_total", symbol="BTCUSDT")
    wait_for(lambda: sample(service, "tradeactors_trades_received_total", symbol="BTCUSDT") > received + 10,
             timeout=15, message="received counter to grow")
    wait_for(lambda: sample(service, "tradeactors_trades_stored_total", symbol="BTCUSDT") > stored + 10,
             timeout=15, message="stored counter to grow")
    assert sample(service, "tradeactors_batches_written_total") > 0
    assert sample(service, "tradeactors_bytes_written_total") > 0


def test_dropped_and_refused_connections_show_as_reconnects_and_failures(service_factory, sim):
    service = service_factory(backoff_initial=0.2, backoff_max=0.5, connection_symbols=1)  # one symbol each
    wait_for(lambda: service.status()["symbols"]["BTCUSDT"]["state"] == "connected", timeout=15,
             message="BTCUSDT connected")
    reconnects = sample(service, "tradeactors_reconnects_total", symbol="BTCUSDT")
    failures = sample(service, "tradeactors_connection_failures_total", symbol="BTCUSDT")
    eth_reconnects = sample(service, "tradeactors_reconnects_total", symbol="ETHUSDT")

    sim.refuse_connections(600)  # until a refused attempt is counted (ended below, not by a clock)
    sim.drop_connections("BTCUSDT")
    wait_for(lambda: sample(service, "tradeactors_connection_failures_total", symbol="BTCUSDT") > failures,
             timeout=15, message="connection failures to grow")
    sim.refuse_connections(0)
    wait_for(lambda: sample(service, "tradeactors_reconnects_total", symbol="BTCUSDT") > reconnects, timeout=15,
             message="reconnects to grow")
    assert sample(service, "tradeactors_reconnects_total", symbol="ETHUSDT") == eth_reconnects
