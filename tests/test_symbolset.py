import pytest

from tradeactors.symbolset import ListedSymbol, Selection, changes, parse_exchange_info


def item(symbol, status="TRADING", quote="USDT", **extra):
    return {"symbol": symbol, "status": status, "baseAsset": symbol[:3], "quoteAsset": quote, **extra}


LISTED = parse_exchange_info({"symbols": [
    item("BTCUSDT"), item("ETHUSDT"), item("ETHBTC", quote="BTC"), item("SOLFDUSD", quote="FDUSD"),
    item("XRPUSDT", status="BREAK"), item("LUNAUSDT", status="HALT"),
    item("MARGINONLYUSDT", isSpotTradingAllowed=False),
]})


def test_exchange_info_gives_each_symbols_status_quote_and_spot_flag():
    assert LISTED[0] == ListedSymbol("BTCUSDT", "TRADING", "USDT", True)
    assert LISTED[-1].spot is False and LISTED[4].status == "BREAK"


def test_all_chooses_every_trading_spot_symbol_sorted():
    assert Selection.of(("ALL",)).choose(LISTED) == ("BTCUSDT", "ETHBTC", "ETHUSDT", "SOLFDUSD")


def test_a_name_the_service_cannot_subscribe_to_is_never_chosen():
    odd = parse_exchange_info({"symbols": [item("BTCUSDT"), item("btc-usdt"), item("X")]})
    assert Selection.of(("ALL",)).choose(odd) == ("BTCUSDT",)


def test_quote_assets_and_exclude_filter_all():
    selection = Selection.of(("ALL",), quote_assets=("USDT", "FDUSD"), exclude=("ETHUSDT",))
    assert selection.choose(LISTED) == ("BTCUSDT", "SOLFDUSD")
    assert selection.describe() == "ALL trading, quoted in USDT,FDUSD, except ETHUSDT"


def test_an_explicit_list_is_recorded_as_listed_whatever_the_exchange_says():
    selection = Selection.of(("XRPUSDT", "BTCUSDT"))
    assert not selection.every and selection.choose(LISTED) == ("XRPUSDT", "BTCUSDT")
    assert selection.describe() == "XRPUSDT,BTCUSDT"


@pytest.mark.parametrize("body,message", [
    ({}, "without a symbols list"),
    ({"symbols": "BTCUSDT"}, "without a symbols list"),
    ({"symbols": []}, "no symbol at all"),
    ({"symbols": [{"symbol": "BTCUSDT", "status": "TRADING"}]}, "without symbol/status/quoteAsset"),
    ({"symbols": [{"symbol": "BTCUSDT", "status": 1, "quoteAsset": "USDT"}]}, "wrong type"),
    ([1, 2], "without a symbols list"),
])
def test_a_body_of_another_shape_is_refused_naming_what_is_wrong(body, message):
    with pytest.raises(ValueError, match=message):
        parse_exchange_info(body)


def test_changes_are_the_added_and_the_removed_in_order():
    assert changes(("A1", "B1", "C1"), ("C1", "D1", "A1", "E1")) == (("D1", "E1"), ("B1",))
    assert changes((), ("A1",)) == (("A1",), ())
    assert changes(("A1",), ("A1",)) == ((), ())
