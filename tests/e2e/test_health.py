"""/api/health, /metrics and the dashboard data tell the same story: a stream that cannot connect, a book that
cannot sync and a dead actor are unhealthy (503 naming the symbol or actor and the reason), and recover."""

from __future__ import annotations

import requests

from tests.helpers import wait_for
from tradeactors.actors.messages import InjectFailure

FAST = {"backoff_initial": 0.05, "backoff_max": 0.3}


def health(service):
    response = requests.get(f"{service.http.url}/api/health", timeout=10)
    return response.status_code, response.json()["reasons"]


def metric(service, name, **labels):
    """A sample from the service's /metrics text (what Prometheus scrapes)."""
    text = requests.get(f"{service.http.url}/metrics", timeout=10).text
    wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{wanted} not in /metrics")


def test_a_stream_that_cannot_connect_turns_health_503_after_the_alert_delay_and_recovers(service_factory, sim):
    sim.refuse_connections(600)  # until the test has seen the 503 (ended below, not by a clock)
    service = service_factory(stream_down_alert=3, **FAST)
    assert health(service)[0] == 200  # connecting, within the alert delay
    # Each stream's delay runs from its own start, ETHUSDT's a little after BTCUSDT's: the first 503 may name
    # BTCUSDT alone, so wait for the one that names both.
    streams = ("stream BTCUSDT: not connected for", "stream ETHUSDT: not connected for")

    def unhealthy_naming_both():
        code, reasons = health(service)
        return (code, reasons) if code == 503 and all(any(r.startswith(s) for r in reasons) for s in streams) else None

    _, reasons = wait_for(unhealthy_naming_both, timeout=10, message="503 naming both streams while refused")
    assert all(r.startswith(streams) for r in reasons), reasons
    assert metric(service, "tradeactors_health_ok") == 0
    assert metric(service, "tradeactors_stream_down_seconds", symbol="BTCUSDT") > 3
    dashboard = requests.get(f"{service.http.url}/api/dashboard", timeout=10).json()
    assert dashboard["health"]["healthy"] is False and dashboard["health"]["reasons"]
    assert dashboard["config"]["stream_down_alert"] == 3
    sim.refuse_connections(0)
    wait_for(lambda: health(service)[0] == 200, timeout=20, message="healthy once connections are accepted")
    assert metric(service, "tradeactors_health_ok") == 1
    assert metric(service, "tradeactors_stream_down_seconds", symbol="BTCUSDT") == 0


def test_a_book_that_cannot_sync_turns_health_503_and_recovers(service_factory, sim):
    sim.rest_fail(503, 600)  # until the test has seen the 503 (ended below, not by a clock)
    service = service_factory(book_unsynced_alert=1.0, **FAST)
    _code, reasons = wait_for(lambda: (lambda h: h if h[0] == 503 else None)(health(service)), timeout=10,
                             message="503 while REST fails")
    assert any(r.startswith("book BTCUSDT: not synced for") and "buffering" in r for r in reasons), reasons
    assert metric(service, "tradeactors_book_unsynced_seconds", symbol="BTCUSDT") > 1.0
    sim.rest_fail(503, 0)
    wait_for(lambda: health(service)[0] == 200, timeout=30, message="healthy once REST answers")
    assert service.status()["symbols"]["BTCUSDT"]["book"]["state"] == "synced"


def test_an_actor_whose_thread_died_is_unhealthy_until_it_is_restarted(service_factory, sim):
    service = service_factory(**FAST)
    wait_for(lambda: health(service)[0] == 200, message="healthy")
    service.supervisor.backoff_initial = 4  # keep the dead actor down long enough to look at it
    service.directory.tell("backfill", InjectFailure("injected bug", thread=True))
    _code, reasons = wait_for(lambda: (lambda h: h if h[0] == 503 else None)(health(service)), timeout=10,
                             message="503 while the backfill actor is down")
    assert any("backfill" in r for r in reasons), reasons
    assert metric(service, "tradeactors_thread_deaths_total", thread="Backfill-worker") == 1
    wait_for(lambda: health(service)[0] == 200, timeout=15, message="healthy after the restart")
    assert service.supervisor.status()["backfill"]["restarts"] == 1


def test_health_and_status_agree_with_health_and_status_from_one_round_and_leave_the_gauges_to_the_scrape(tmp_path):
    """On the benchmark's never-started Service (bench/web.py: a real actor per symbol answering GetStatus),
    S0000USDT reconnecting for 4.2 s and S0001USDT's book unsynced for 12.5 s, past these alert delays."""
    from tradeactors.bench.web import Market

    market = Market(4, str(tmp_path))
    service = market.service
    market.answers["stream:S0000USDT"].update(state="reconnecting", down_for_s=4.2)
    market.answers["stream:S0001USDT"]["book"].update(state="syncing", unsynced_for_s=12.5)
    try:
        service.config = service.config.replace(stream_down_alert=1.0, book_unsynced_alert=10.0)
        healthy, reasons, status = service.health_and_status()
        assert (healthy, reasons) == service.health()
        assert status == {**service.status(), "rest": status["rest"]}
        assert [r.split(":")[0] for r in reasons] == ["stream S0000USDT", "book S0001USDT"]
        assert list(status["symbols"]) == market.symbols
        # health() published the gauges (as /metrics asks it to); health_and_status() alone does not touch them.
        service.metrics.stream_down_seconds.labels("S0000USDT").set(-1)
        service.health_and_status()
        assert service.metrics.value("tradeactors_stream_down_seconds", symbol="S0000USDT") == -1
        service.health()
        assert service.metrics.value("tradeactors_stream_down_seconds", symbol="S0000USDT") == 4.2
    finally:
        market.close()
