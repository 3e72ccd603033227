import orjson
import pytest

from tradeactors import protocol
from tradeactors.protocol import (
    AggTrade,
    DepthUpdate,
    Ignored,
    MalformedFrame,
    ServerShutdown,
    levels_checked,
    parse_payload,
)

AGG = ('{"e":"aggTrade","E":1499405254326,"s":"BTCUSDT","a":26129,"p":"0.01633102","q":"4.70443515",'
       '"f":27781,"l":27783,"T":1499405254324,"m":true,"M":true}')


def test_combined_aggtrade_frame_keeps_the_exact_strings():
    trade = protocol.parse_frame(f'{{"stream":"btcusdt@aggTrade","data":{AGG}}}')
    assert trade == AggTrade(26129, "0.01633102", "4.70443515", 27781, 27783, 1499405254324, True)


def test_raw_payload_parses_the_same_as_the_envelope():
    assert protocol.parse_frame(AGG) == protocol.parse_frame(f'{{"stream":"x","data":{AGG}}}')


def test_depth_update():
    frame = ('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":5,"s":"BTCUSDT","U":157,"u":160,'
             '"b":[["0.0024","10"]],"a":[["0.0026","0"]]}}')
    update = protocol.parse_frame(frame)
    assert isinstance(update, DepthUpdate)
    assert (update.U, update.u, update.bids, update.asks) == (157, 160, [["0.0024", "10"]], [["0.0026", "0"]])


@pytest.mark.parametrize("frame", [
    '{"e":"serverShutdown","E":1}',
    '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}',
])
def test_server_shutdown_in_both_envelopes(frame):
    assert protocol.parse_frame(frame) == ServerShutdown(1)


def test_other_streams_are_ignored_not_malformed():
    frame = '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}}'
    assert protocol.parse_frame(frame) == Ignored("btcusdt@bookTicker")


@pytest.mark.parametrize("frame", [
    '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","a":1',  # truncated
    "hello",
    "[]",
    AGG.replace('"p":"0.01633102",', ""),  # missing field
    AGG.replace('"0.01633102"', "0.01633102"),  # number instead of string
    AGG.replace('"0.01633102"', '"1e-5"'),
    AGG.replace('"a":26129', '"a":"26129"'),
    AGG.replace('"m":true', '"m":1'),
    '{"e":"depthUpdate","U":2,"u":1,"b":[],"a":[]}',
    '{"e":"depthUpdate","U":1,"u":2,"b":[["1"]],"a":[]}',
    '{"e":"somethingElse"}',
])
def test_malformed_frames_raise(frame):
    with pytest.raises(MalformedFrame):
        protocol.parse_frame(frame)


def test_stream_names_and_url():
    assert protocol.stream_names("BTCUSDT") == ["btcusdt@aggTrade", "btcusdt@depth@100ms"]
    assert protocol.combined_stream_url("ws://127.0.0.1:9/", "ETHUSDT") == (
        "ws://127.0.0.1:9/stream?streams=ethusdt@aggTrade/ethusdt@depth@100ms")


def test_rest_aggtrade_item():
    item = {"a": 1, "p": "1.00", "q": "2.0", "f": 3, "l": 4, "T": 5, "m": False, "M": True}
    assert protocol.aggtrade_from_rest(item) == AggTrade(1, "1.00", "2.0", 3, 4, 5, False)
    with pytest.raises(MalformedFrame):
        protocol.aggtrade_from_rest({"a": 1})


def _depth_frame(bids, asks, extra=b"") -> bytes:
    data = orjson.dumps({"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": 5, "u": 6, "b": bids, "a": asks})
    return b'{"stream":"btcusdt@depth@100ms","data":' + data[:-1] + extra + b"}}"


@pytest.mark.parametrize("bids,asks,extra", [
    ([["1e5", "1.0"]], [], b""),
    ([["-1.0", "1.0"]], [], b""),
    ([[" 1.0", "1.0"]], [], b""),
    ([["1.0", 1.0]], [], b""),
    ([["1.0"]], [], b""),
    ([], [["1.0", "١.0"]], b""),
    ([["1.0", "2.0"]], [], b',"b":[["x","y"]]'),  # a second "b": JSON keeps the last one, which is not checked
])
def test_a_depth_level_that_is_not_two_decimal_strings_is_malformed_on_the_raw_path_too(bids, asks, extra):
    raw = _depth_frame(bids, asks, extra)
    data = orjson.loads(raw)["data"]
    with pytest.raises(MalformedFrame):
        parse_payload(data, "btcusdt@depth@100ms", raw)
    with pytest.raises(MalformedFrame):
        parse_payload(data, "btcusdt@depth@100ms")


def test_a_depth_frame_written_otherwise_is_still_read_level_by_level():
    raw = b'{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":5,"u":6,' \
          b'"b": [ ["1.50", "2.0"] ], "a": []}}'
    assert not levels_checked(raw)
    update = parse_payload(orjson.loads(raw)["data"], "btcusdt@depth@100ms", raw)
    assert update.bids == [["1.50", "2.0"]] and update.asks == []
