"""The symbol set at runtime: ``symbols = ALL`` with filters, symbols listed and halted while the service runs,
SIGHUP with an edited configuration file, and exchangeInfo failing at start. The real service on the TLS
simulator; results read back through the service's API and the database."""

from __future__ import annotations

import signal
import time

import pytest
import requests

from tests.conftest import make_simulator
from tests.helpers import Process, run_cli, wait_for
from tradeactors import storage

MARKET = ["BTCUSDT", "ETHUSDT", "BNBBTC", "SOLFDUSD", "XRPUSDT", "ADAUSDC"]


@pytest.fixture
def sim():
    """A small whole market: several quote assets, so that filters have something to choose from."""
    simulator = make_simulator(symbols=MARKET, rate=20.0)
    yield simulator
    simulator.stop()


def recording(service) -> set[str]:
    return set(service.status()["symbols"])


def stored_ids(service, symbol) -> list[int]:
    return storage.trade_ids(service.db, symbol).tolist()


def last_hour() -> dict[str, int]:
    now = int(time.time() * 1000)
    return {"start": now - 3_600_000, "end": now + 60_000}


def restarts(service) -> dict[str, int]:
    return {name: state["restarts"] for name, state in service.supervisor.status().items()}


def test_all_with_quote_assets_and_exclude_records_exactly_the_chosen_symbols(service_factory, sim):
    sim.set_symbol_status("XRPUSDT", "BREAK")  # not trading: never chosen
    service = service_factory(symbols="ALL", quote_assets="USDT,FDUSD", exclude="ETHUSDT")
    wait_for(lambda: recording(service) == {"BTCUSDT", "SOLFDUSD"}, timeout=20, message="the chosen symbols")
    symbol_set = service.status()["symbol_set"]
    assert symbol_set["all"] and symbol_set["ever_read"] and symbol_set["recording"] == 2
    assert symbol_set["selection"] == "ALL trading, quoted in USDT,FDUSD, except ETHUSDT"
    wait_for(lambda: stored_ids(service, "SOLFDUSD") and stored_ids(service, "BTCUSDT"), timeout=20,
             message="trades of both chosen symbols stored")
    assert set(storage.stored_symbols(service.db)) == {"BTCUSDT", "SOLFDUSD"}
    assert service.metrics.value("tradeactors_symbols_recording") == 2


def test_symbols_listed_and_halted_mid_run_start_and_stop_without_restarting_anything(service_factory, sim):
    service = service_factory(symbols="ALL", quote_assets="USDT", symbols_refresh="1")
    wait_for(lambda: recording(service) == {"BTCUSDT", "ETHUSDT", "XRPUSDT"}, timeout=20, message="USDT symbols")
    wait_for(lambda: all(s["book"]["state"] == "synced" for s in service.status()["symbols"].values()), timeout=30,
             message="every book synced")
    before = {s: v["connections"] for s, v in service.status()["symbols"].items()}

    # A listing: recorded from its first trades on, each stored once, its book synced; nothing else restarts.
    sim.list_symbol("NEWUSDT", rate=30)
    wait_for(lambda: "NEWUSDT" in recording(service), timeout=20, message="the listed symbol recording")
    wait_for(lambda: service.status()["symbols"]["NEWUSDT"]["book"]["state"] == "synced", timeout=30,
             message="the listed symbol's book synced")
    wait_for(lambda: len(stored_ids(service, "NEWUSDT")) >= 30, timeout=20, message="the listed symbol's trades")

    # A halt: the symbol stops with its last trades stored; its history stays queryable over HTTP.
    sim.set_symbol_status("ETHUSDT", "BREAK")
    wait_for(lambda: "ETHUSDT" not in recording(service), timeout=20, message="the halted symbol stopped")
    published = sim.published_ids("ETHUSDT").tolist()
    wait_for(lambda: stored_ids(service, "ETHUSDT")[-1] == published[-1], timeout=10,
             message="the halted symbol's last trade stored")
    stored = stored_ids(service, "ETHUSDT")
    assert stored == published[published.index(stored[0]):], "every trade of the halted symbol stored once"
    api = service.http.url
    answer = requests.get(f"{api}/api/trades", params={**last_hour(), "symbol": "ETHUSDT", "limit": 10}, timeout=10)
    assert answer.status_code == 200 and answer.json()["count"] == 10
    assert requests.get(f"{api}/api/orderbook/l1", params={"symbol": "ETHUSDT"}, timeout=10).status_code == 404
    assert service.status()["symbol_set"]["history_only"] == ["ETHUSDT"]

    # The halted symbol's StreamActor is gone for good: several refreshes later it has not come back.
    reads = service.status()["symbol_set"]["reads"]
    wait_for(lambda: service.status()["symbol_set"]["reads"] >= reads + 3, timeout=20, message="three more reads")
    assert "stream:ETHUSDT" not in service.supervisor.status()
    assert service.directory.get("stream:ETHUSDT") is None
    assert set(restarts(service).values()) == {0}, restarts(service)
    after = service.status()["symbols"]
    assert {s: after[s]["connections"] for s in before if s != "ETHUSDT"} == {"BTCUSDT": before["BTCUSDT"],
                                                                              "XRPUSDT": before["XRPUSDT"]}
    assert service.metrics.value("tradeactors_symbols_started_total") == 4  # three at start, one listed
    assert service.metrics.value("tradeactors_symbols_stopped_total") == 1

    # The listed symbol holds exactly what was published from its first stored trade on.
    sim.pause("NEWUSDT")
    last = int(sim.published_ids("NEWUSDT")[-1])
    wait_for(lambda: stored_ids(service, "NEWUSDT")[-1] == last, timeout=20, message="the listed symbol caught up")
    published = sim.published_ids("NEWUSDT").tolist()
    stored = stored_ids(service, "NEWUSDT")
    assert stored == published[published.index(stored[0]):]


def test_exchange_info_failing_at_start_serves_the_api_and_records_once_it_answers(service_factory, sim):
    sim.rest_fail(503, 3)
    service = service_factory(symbols="ALL", quote_assets="USDT", backoff_initial="0.2", backoff_max="1")
    assert recording(service) == set()
    healthy, reasons = service.health()
    assert not healthy and any(r.startswith("symbols = ALL: exchangeInfo not read yet") for r in reasons), reasons
    assert requests.get(f"{service.http.url}/api/status", timeout=10).status_code == 200
    wait_for(lambda: recording(service) == {"BTCUSDT", "ETHUSDT", "XRPUSDT"}, timeout=30,
             message="the symbols recorded once exchangeInfo answers")
    assert service.metrics.value("tradeactors_symbol_set_reads_total", outcome="error") >= 1


@pytest.mark.parametrize("args,env,key", [
    (["--symbols", "ALL,BTCUSDT"], {}, "symbols"),
    (["--symbols", "ALL", "--quote-assets", "us-dt"], {}, "quote_assets"),
    (["--symbols", "BTCUSDT", "--exclude", "ETHUSDT"], {}, "exclude"),
    (["--symbols", "ALL"], {"TRADEACTORS_SYMBOLS_REFRESH": "0"}, "symbols_refresh"),
])
def test_bad_symbol_set_values_exit_2_naming_the_key(tmp_path, args, env, key):
    result = run_cli("start", "--data-dir", str(tmp_path), *args, env=env)
    assert result.returncode == 2, result.stderr
    assert f"  {key}:" in result.stderr and "Traceback" not in result.stderr


def test_sighup_applies_an_edited_symbol_list_and_refuses_a_bad_one(tmp_path, sim):
    ini = tmp_path / "tradeactors.ini"

    def write(symbols):
        ini.write_text(f"[service]\nsymbols = {symbols}\ndata_dir = {tmp_path / 'data'}\nhttp = 127.0.0.1:0\n"
                       f"ws_url = {sim.ws_url}\nrest_url = {sim.rest_url}\nca_file = {sim.ca_file}\n")

    write("BTCUSDT,ETHUSDT")
    service = Process("start", "--config", str(ini))
    try:
        api = service.find(r"serving the API and dashboard at (\S+)/").group(1)

        def recorded():
            return set(requests.get(f"{api}/api/status", timeout=10).json()["symbols"])

        wait_for(lambda: recorded() == {"BTCUSDT", "ETHUSDT"}, timeout=20, message="the first list")
        wait_for(lambda: requests.get(f"{api}/api/trades", params={**last_hour(), "symbol": "ETHUSDT"},
                                      timeout=10).json()["count"] > 0, timeout=20, message="ETHUSDT stored")

        write("BTCUSDT,XRPUSDT")
        service.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: recorded() == {"BTCUSDT", "XRPUSDT"}, timeout=20, message="the edited list applied")
        service.find(r"Started recording XRPUSDT \(SIGHUP\)")
        service.find(r"Stopped recording ETHUSDT \(SIGHUP: removed from the configured list\)")
        eth = requests.get(f"{api}/api/trades", params={**last_hour(), "symbol": "ETHUSDT"}, timeout=10)
        assert eth.status_code == 200 and eth.json()["count"] > 0, "history of a removed symbol stays queryable"

        write("BTCUSDT,eth-usdt")
        service.proc.send_signal(signal.SIGHUP)
        service.find(r"SIGHUP: the configuration has errors; nothing changed")
        assert recorded() == {"BTCUSDT", "XRPUSDT"}
        code, _seconds = service.terminate()
    finally:
        service.kill()
    assert code == 0, "".join(service.lines[-30:])


def test_a_halted_symbol_whose_last_trades_the_stream_missed_gets_them_from_rest(service_factory, sim):
    service = service_factory(symbols="ALL", quote_assets="USDC", symbols_refresh="1")
    wait_for(lambda: len(stored_ids(service, "ADAUSDC")) >= 10, timeout=20, message="ADAUSDC stored")
    received = service.status()["symbols"]["ADAUSDC"]["last_trade_id"]
    sim.stall(30, "ADAUSDC")  # the exchange trades on but sends nothing: no later live trade reveals the hole
    wait_for(lambda: int(sim.published_ids("ADAUSDC")[-1]) >= received + 20, timeout=20,
             message="trades the stream never sees")
    sim.set_symbol_status("ADAUSDC", "BREAK")
    published = sim.published_ids("ADAUSDC").tolist()
    wait_for(lambda: "ADAUSDC" not in recording(service), timeout=20, message="ADAUSDC stopped")
    wait_for(lambda: stored_ids(service, "ADAUSDC")[-1] == published[-1], timeout=20,
             message="the missed trades fetched by the last catch-up")
    stored = stored_ids(service, "ADAUSDC")
    assert stored == published[published.index(stored[0]):]
    assert service.status()["backfill"]["last_catch_up"]["ADAUSDC"]["reason"] == "stopped recording"


def test_a_reload_with_other_filters_reads_exchange_info_again_and_ignores_other_keys(service_factory, sim, caplog):
    service = service_factory(symbols="ALL", quote_assets="USDT")
    wait_for(lambda: recording(service) == {"BTCUSDT", "ETHUSDT", "XRPUSDT"}, timeout=20, message="USDT symbols")
    service.reload_config = lambda: service.config.replace(quote_assets=("USDC", "BTC"), retention_days=1.0)
    assert service.reload()
    wait_for(lambda: recording(service) == {"ADAUSDC", "BNBBTC"}, timeout=20, message="the new filter applied")
    assert service.status()["symbol_set"]["selection"] == "ALL trading, quoted in USDC,BTC"
    assert service.config.retention_days == 7 and any(
        "SIGHUP: retention_days changed; only the symbol set" in r.getMessage() for r in caplog.records)
    assert set(restarts(service).values()) == {0}
