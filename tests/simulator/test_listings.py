"""Symbols listed and halted while the simulator runs: exchangeInfo, the streams and REST follow."""
import pytest

from tradeactors.simulator import SimulatorClient
from tradeactors.simulator.client import SimulatorError

from .conftest import rest_get, wait_for


def listed(sim) -> dict[str, dict]:
    return {item["symbol"]: item for item in rest_get(sim, "/api/v3/exchangeInfo").json()["symbols"]}


def test_a_symbol_listed_at_runtime_is_trading_streams_and_serves_rest(sim, connect):
    assert "NEWUSDT" not in listed(sim)
    assert sim.list_symbol("newusdt", rate=100) == "NEWUSDT"
    item = listed(sim)["NEWUSDT"]
    assert (item["status"], item["quoteAsset"], item["baseAsset"]) == ("TRADING", "USDT", "NEW")
    assert "NEWUSDT" in sim.symbols
    trade = connect(sim, "/ws/newusdt@aggTrade").json()
    assert trade["e"] == "aggTrade" and trade["s"] == "NEWUSDT"
    wait_for(lambda: rest_get(sim, "/api/v3/aggTrades", symbol="NEWUSDT", limit=5).json(), message="REST trades")
    assert rest_get(sim, "/api/v3/depth", symbol="NEWUSDT", limit=5).json()["lastUpdateId"] > 0
    with pytest.raises(ValueError, match="already listed"):
        sim.list_symbol("NEWUSDT")


def test_a_halted_symbol_shows_its_status_and_stops_trading_until_it_trades_again(sim):
    sim.set_symbol_status("ETHUSDT", "BREAK")
    assert listed(sim)["ETHUSDT"]["status"] == "BREAK" and listed(sim)["BTCUSDT"]["status"] == "TRADING"
    assert sim.state()["symbols"]["ETHUSDT"]["status"] == "BREAK"
    halted_at = len(sim.published_ids("ETHUSDT"))
    btc = len(sim.published_ids("BTCUSDT"))
    wait_for(lambda: len(sim.published_ids("BTCUSDT")) >= btc + 20, message="BTCUSDT trading on")
    assert len(sim.published_ids("ETHUSDT")) == halted_at, "a halted symbol makes no trade"
    sim.set_symbol_status("ETHUSDT", "TRADING")
    wait_for(lambda: len(sim.published_ids("ETHUSDT")) > halted_at, message="ETHUSDT trading again")
    with pytest.raises(ValueError, match="unknown status"):
        sim.set_symbol_status("ETHUSDT", "PAUSED")


def test_listings_and_halts_through_the_control_api(sim):
    client = SimulatorClient(sim.rest_url, ca_file=sim.ca_file)
    assert client.list_symbol("SOLFDUSD", rate=5) == "SOLFDUSD"
    client.set_symbol_status("SOLFDUSD", "HALT")
    item = listed(sim)["SOLFDUSD"]
    assert (item["status"], item["quoteAsset"]) == ("HALT", "FDUSD")
    with pytest.raises(SimulatorError, match="unknown symbol"):
        client.set_symbol_status("DOGEUSDT", "BREAK")
    with pytest.raises(SimulatorError, match="invalid symbol"):
        client.list_symbol("BAD-SYMBOL")


def test_a_symbol_listed_into_a_whole_market_joins_its_one_timer_and_halts_with_it(make_sim):
    market = make_sim(market=30)
    tasks_before = market.state()["market"]["symbols"]
    market.list_symbol("NEWUSDT", rate=20)
    assert market.state()["market"]["symbols"] == tasks_before + 1  # driven by the market's timer
    wait_for(lambda: len(market.published_ids("NEWUSDT")) >= 10, timeout=20, message="the listed symbol trading")
    market.set_symbol_status("NEWUSDT", "BREAK")
    halted_at = len(market.published_ids("NEWUSDT"))
    ticks = market.state()["market"]["ticks"]
    wait_for(lambda: market.state()["market"]["ticks"] >= ticks + 20, timeout=20, message="a second of ticks")
    assert len(market.published_ids("NEWUSDT")) == halted_at, "a halted symbol makes no trade"
