"""The symbol table and Binance's decimal format: eight decimals, tick and step sizes."""
import pytest

from tradeactors.simulator.symbols import fmt, spec_for, units


def test_prices_and_quantities_have_eight_decimals_like_binance():
    assert fmt(units("61234.56")) == "61234.56000000"
    assert fmt(units("0.0123")) == "0.01230000"
    assert fmt(0) == "0.00000000"


def test_units_rejects_more_than_eight_decimals():
    with pytest.raises(ValueError):
        units("0.000000001")


def test_symbol_table_knows_btc_and_eth_and_defaults_the_rest():
    btc, eth, other = spec_for("BTCUSDT"), spec_for("ETHUSDT"), spec_for("DOGEUSDT")
    assert (fmt(btc.tick), fmt(btc.step)) == ("0.01000000", "0.00001000")
    assert (fmt(eth.tick), fmt(eth.step)) == ("0.01000000", "0.00010000")
    assert (other.base, other.quote, fmt(other.tick), fmt(other.step)) == ("DOGE", "USDT", "0.00010000", "0.10000000")
    with pytest.raises(ValueError):
        spec_for("BTC-USDT")
