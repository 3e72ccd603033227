"""The real service against the real simulator: trades flow Stream -> Buffer -> Storage -> Query -> HTTP."""

from __future__ import annotations

import time

import requests

from tests.helpers import wait_for


def stored_trades(service, symbol):
    url = f"{service.http.url}/api/trades"
    trades, cursor = [], None
    now_ms = int(time.time() * 1000)
    while True:
        params = {"symbol": symbol, "start": now_ms - 3_600_000, "end": now_ms + 3_600_000, "limit": 500}
        if cursor:
            params["cursor"] = cursor
        body = requests.get(url, params=params, timeout=10).json()
        trades.extend(body["trades"])
        cursor = body["next_cursor"]
        if cursor is None:
            return trades


def test_trades_received_are_stored_exactly_as_published(service_factory, sim):
    service = service_factory()
    wait_for(lambda: len(stored_trades(service, "BTCUSDT")) >= 100, timeout=20, message="100 stored trades")
    stored = stored_trades(service, "BTCUSDT")
    ids = [t["a"] for t in stored]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "ids contiguous, each once"
    published = {t["a"]: t for t in sim.published_trades("BTCUSDT")}
    for trade in stored:
        truth = published[trade["a"]]
        assert {k: trade[k] for k in "apqTmfl"} == {k: truth[k] for k in "apqTmfl"}


def test_each_symbol_is_stored_under_its_own_key_space(service_factory, sim):
    service = service_factory()
    wait_for(lambda: stored_trades(service, "ETHUSDT") and stored_trades(service, "BTCUSDT"), timeout=20,
             message="trades for both symbols")
    eth_ids = {t["a"] for t in sim.published_trades("ETHUSDT")}
    assert all(t["a"] in eth_ids for t in stored_trades(service, "ETHUSDT"))


def test_stop_flushes_every_buffered_trade(service_factory, sim):
    service = service_factory(flush_interval=60)  # no periodic flush during the test: only the stop writes
    wait_for(lambda: service.status()["symbols"]["BTCUSDT"]["last_trade_id"], timeout=20, message="a trade")
    sim.pause()
    last = sim.published_ids("BTCUSDT")[-1]
    wait_for(lambda: service.status()["symbols"]["BTCUSDT"]["last_trade_id"] == last, message="last trade received")
    assert stored_trades(service, "BTCUSDT") == []
    first = service.status()["symbols"]["BTCUSDT"]
    service.stop()

    from tradeactors import storage
    from tradeactors.storage import Database

    db = Database(service.config.db_path)
    try:
        ids = storage.trade_ids(db, "BTCUSDT").tolist()
    finally:
        db.close()
    assert ids and ids[-1] == last == first["last_trade_id"]
    assert ids == list(range(ids[0], last + 1))


def test_health_and_status_report_connected_streams(service_factory):
    service = service_factory()
    wait_for(lambda: requests.get(f"{service.http.url}/api/health", timeout=5).status_code == 200, timeout=20,
             message="healthy")  # healthy already while the streams connect
    wait_for(lambda: requests.get(f"{service.http.url}/api/status", timeout=5).json()["symbols"]["BTCUSDT"]["state"]
             == "connected", timeout=20, message="status reports BTCUSDT connected")
    assert requests.get(f"{service.http.url}/api/health", timeout=5).status_code == 200
    status = requests.get(f"{service.http.url}/api/status", timeout=5).json()
    assert status["symbols"]["BTCUSDT"]["connections"] >= 1
    assert status["actors"]["storage"] == {"alive": True, "restarts": 0}


def test_server_pings_are_answered_so_the_connection_stays_up(tmp_path):
    from tests.conftest import service_config
    from tradeactors.service import Service
    from tradeactors.simulator import Simulator

    strict = Simulator(symbols=["BTCUSDT"], rate=5.0, seed=2, ping_interval=0.1, pong_timeout=0.5, tls=True)
    strict.start()
    service = Service(service_config(tmp_path, strict))
    service.start()
    try:
        wait_for(lambda: service.status()["symbols"]["BTCUSDT"]["state"] == "connected", message="connected")
        began = time.monotonic()
        # Proving an absence (no drop) needs time: ten ping intervals pass; a client that did not pong would have
        # been dropped after 0.5 s.
        wait_for(lambda: time.monotonic() - began > 1.0, timeout=5, interval=0.1, message="1 s connected")
        assert service.status()["symbols"]["BTCUSDT"]["connections"] == 1
        assert strict.connection_count("BTCUSDT") == 1
    finally:
        service.stop()
        strict.stop()


def test_too_many_restarts_stop_the_service_with_exit_code_1(service_factory):
    import threading

    from tradeactors.actors.messages import InjectFailure

    service = service_factory()
    # Restarts back off 0.1 s doubling (3 s for the five before the escalation): what is tested is the count in
    # the window, so they may come quickly.
    service.supervisor.backoff_initial = 0.01
    result = {}
    waiter = threading.Thread(target=lambda: result.setdefault("code", service.wait()))
    waiter.start()
    for _ in range(6):
        restarts = service.supervisor.status()["buffer"]["restarts"]
        service.directory.tell("buffer", InjectFailure())
        wait_for(lambda before=restarts: service.supervisor.status()["buffer"]["restarts"] > before
                 or service.supervisor.escalated,
                 message="restart or escalation")
        if service.supervisor.escalated:
            break
    waiter.join(10)
    assert result["code"] == 1
    assert "restarts within" in service.supervisor.escalated


def test_a_quiet_symbol_gets_a_rate_limited_warning(service_factory, sim, caplog, monkeypatch):
    import logging

    from tradeactors.actors import buffer

    monkeypatch.setattr(buffer, "QUIET_WARN_SECONDS", 0.5)
    service_factory()
    sim.pause("ETHUSDT")
    with caplog.at_level(logging.WARNING, logger="tradeactors.actors.buffer"):
        wait_for(lambda: sum("No trades for ETHUSDT" in r.getMessage() for r in caplog.records) >= 2, timeout=10,
                 message="two warnings")
        began = time.monotonic()
        wait_for(lambda: time.monotonic() - began > 1.0, timeout=3, interval=0.1, message="1 s")
    messages = [r.getMessage() for r in caplog.records]
    assert not any("No trades for BTCUSDT" in m for m in messages)
    assert sum("No trades for ETHUSDT" in m for m in messages) <= 5  # once per 0.5 s at most, not per flush


def test_exchange_filters_are_fetched_once_and_cached_in_the_database(service_factory, sim):
    import requests as http

    from tradeactors.storage import load_symbol_info

    service = service_factory()
    wait_for(lambda: load_symbol_info(service.db, "BTCUSDT") and load_symbol_info(service.db, "ETHUSDT"),
             message="filters cached")
    served = http.get(f"{sim.rest_url}/api/v3/exchangeInfo", params={"symbol": "BTCUSDT"}, timeout=5,
                      verify=sim.ca_file).json()
    filters = {f["filterType"]: f for f in served["symbols"][0]["filters"]}
    assert load_symbol_info(service.db, "BTCUSDT") == {"tickSize": filters["PRICE_FILTER"]["tickSize"],
                                                       "stepSize": filters["LOT_SIZE"]["stepSize"]}


def test_a_periodic_summary_tells_trades_per_minute_and_gaps(service_factory, sim, caplog, monkeypatch):
    import logging
    import re

    from tradeactors.actors import buffer

    monkeypatch.setattr(buffer, "SUMMARY_SECONDS", 2.0)
    with caplog.at_level(logging.INFO, logger="tradeactors.actors.buffer"):
        service_factory()
        line = wait_for(lambda: next((r.getMessage() for r in caplog.records
                                      if r.getMessage().startswith("Summary BTCUSDT")), None), timeout=15,
                        message="a summary line")
    match = re.match(r"Summary BTCUSDT: (\d+) trades/min, store lag [\d.]+s, gaps found (\d+) filled (\d+)", line)
    assert match and int(match.group(1)) > 0  # the simulator trades ~50/s


def test_status_shows_how_long_a_connected_stream_has_been_silent(service_factory, sim):
    service = service_factory()  # stream_timeout 300 s: a short stall does not reconnect
    wait_for(lambda: service.status()["symbols"]["BTCUSDT"]["state"] == "connected", message="connected")
    assert service.status()["symbols"]["BTCUSDT"]["last_message_age_ms"] < 1000
    sim.stall(60, "BTCUSDT")  # longer than the test: the silence cannot end before it is seen
    wait_for(lambda: service.status()["symbols"]["BTCUSDT"]["last_message_age_ms"] > 2000, message="silence seen")
    assert service.status()["symbols"]["BTCUSDT"]["state"] == "connected"
    assert service.status()["symbols"]["ETHUSDT"]["last_message_age_ms"] < 1000


def test_plaintext_ws_and_http_still_record_trades_and_the_book(plain_service_factory, plain_sim):
    """Production speaks TLS and so do the other tests; this keeps the ws:// / http:// path covered."""
    service = plain_service_factory()
    assert service.config.ws_url.startswith("ws://") and service.config.ca_file is None
    wait_for(lambda: len(stored_trades(service, "BTCUSDT")) >= 50 and service.status()["symbols"]["BTCUSDT"]["book"]
             ["state"] == "synced", timeout=20, message="trades stored and the book synced")
    stored = stored_trades(service, "BTCUSDT")
    ids = [t["a"] for t in stored]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    published = {t["a"]: t for t in plain_sim.published_trades("BTCUSDT")}
    assert all({k: t[k] for k in "apqTmfl"} == {k: published[t["a"]][k] for k in "apqTmfl"} for t in stored)
