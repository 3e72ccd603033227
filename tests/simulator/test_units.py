"""Pure pieces: the decimal format, the symbol table, the weight ledger, payload and frame builders."""
import json

import pytest

from tradeactors.simulator import frames
from tradeactors.simulator.symbols import fmt, spec_for, units
from tradeactors.simulator.weights import WeightLedger, depth_weight


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


def test_depth_weight_steps_at_100_500_1000():
    assert [depth_weight(n) for n in (1, 100, 101, 500, 501, 1000, 1001, 5000)] == [5, 5, 25, 25, 50, 50, 250, 250]


def test_weight_ledger_refuses_over_budget_with_429_then_bans_with_418():
    ledger = WeightLedger(budget=10, ban_seconds=120)
    t = 60 * 1000 + 5.0
    assert ledger.charge(5, t).status == 200
    assert ledger.charge(5, t).status == 200
    over = ledger.charge(5, t + 1)
    assert over.status == 429 and over.retry_after == 54 and over.used == 10
    banned = ledger.charge(1, t + 2)
    assert banned.status == 418 and banned.retry_after == 120
    # The ban outlives the minute; the budget does not.
    assert ledger.charge(1, t + 70).status == 418
    assert ledger.charge(1, t + 200) == (200, 1, None)


def test_weight_ledger_resets_each_wall_clock_minute():
    ledger = WeightLedger(budget=10)
    assert ledger.charge(10, 119.0).status == 200
    assert ledger.charge(1, 119.5).status == 429
    assert ledger.charge(1, 120.0) == (200, 1, None)


def test_new_budget_lifts_a_ban():
    ledger = WeightLedger(budget=1)
    ledger.charge(1, 0.0), ledger.charge(1, 0.0), ledger.charge(1, 0.0)
    ledger.set_budget(100)
    assert ledger.charge(1, 1.0).status == 200


def test_agg_trade_payload_has_binance_fields_in_order():
    text = frames.agg_trade(2, "BTCUSDT", 7, "1.00000000", "2.00000000", 10, 12, 1, True)
    assert list(json.loads(text)) == ["e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"]
    assert json.loads(text)["m"] is True


def test_malformed_kinds_break_the_frame_in_different_ways():
    payload = frames.agg_trade(2, "BTCUSDT", 7, "1.00000000", "2.00000000", 10, 12, 1, True)
    for kind in ("truncated", "nonjson"):
        with pytest.raises(ValueError):
            json.loads(frames.malformed(kind, payload))
    assert "a" not in json.loads(frames.malformed("missing_field", payload))


def test_text_frames_encode_all_three_length_forms_one_item_per_message():
    items = frames.text_frames(["x" * 5, "y" * 200, "z" * 70000])
    assert [len(i) for i in items] == [2 + 5, 4 + 200, 10 + 70000]
    data = b"".join(items)
    assert data[:2] == b"\x81\x05"
    assert data[7:9] == b"\x81\x7e" and int.from_bytes(data[9:11], "big") == 200
    k = 7 + 4 + 200
    assert data[k:k + 2] == b"\x81\x7f" and int.from_bytes(data[k + 2:k + 10], "big") == 70000
