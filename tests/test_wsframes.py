"""The frame splitter against frames built independently here, cut at arbitrary points."""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeactors.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    FrameSplitter,
    ProtocolError,
)


def frame(opcode, payload, fin=True, mask=None):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    flag = 0x80 if mask else 0
    if n < 126:
        head += bytes([flag | n])
    elif n < 65536:
        head += bytes([flag | 126]) + struct.pack(">H", n)
    else:
        head += bytes([flag | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def split_everywhere(data, cuts):
    splitter, out, pos = FrameSplitter(), [], 0
    for cut in [*sorted(set(cuts)), len(data)]:
        out += splitter.feed(data[pos:cut])
        pos = cut
    return out


messages = st.lists(st.tuples(st.sampled_from([OP_TEXT, OP_BINARY]), st.binary(max_size=70_000)), max_size=8)


@given(messages, st.lists(st.integers(0, 200_000), max_size=20))
def test_any_messages_cut_anywhere_come_back_whole_and_in_order(msgs, cuts):
    data = b"".join(frame(op, p) for op, p in msgs)
    assert split_everywhere(data, [c for c in cuts if c <= len(data)]) == msgs


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_masked_frames_are_unmasked(payload, mask):
    assert FrameSplitter().feed(frame(OP_TEXT, payload, mask=mask)) == [(OP_TEXT, payload)]


def test_fragments_are_joined_and_control_frames_pass_between_them():
    data = (frame(OP_TEXT, b'{"a":', fin=False) + frame(OP_PING, b"hi") + frame(OP_CONTINUATION, b"1", fin=False)
            + frame(OP_CONTINUATION, b"}") + frame(OP_CLOSE, b"\x03\xe8"))
    assert FrameSplitter().feed(data) == [(OP_PING, b"hi"), (OP_TEXT, b'{"a":1}'), (OP_CLOSE, b"\x03\xe8")]


@pytest.mark.parametrize("data", [
    frame(OP_CONTINUATION, b"x"),
    frame(OP_TEXT, b"x", fin=False) + frame(OP_TEXT, b"y"),
    frame(OP_PING, b"x" * 126),
    frame(OP_PING, b"x", fin=False),
    bytes([0x80 | 0x3, 0]),  # reserved opcode
    bytes([0xC1, 0]),  # RSV1 without an extension
    bytes([0x81, 127]) + struct.pack(">Q", 1 << 40),
])
def test_invalid_framing_is_a_protocol_error(data):
    with pytest.raises(ProtocolError):
        FrameSplitter().feed(data)
