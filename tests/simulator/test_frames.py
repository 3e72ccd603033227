"""Payload and frame builders: aggTrade fields in Binance's order, malformed frames, WebSocket length forms."""
import json

import pytest

from tradeactors.simulator import frames


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
