"""Splitting a WebSocket server's byte stream into messages (RFC 6455 §5.2). Pure code: bytes in, messages out.

websocket-client opens the connection (handshake, TLS) and sends our control frames, but it reads each frame
with two exact-size ``recv`` calls, which caps a Python receiver near 160k frames/s on loopback. The StreamActor
reads the socket in large blocks instead and lets this splitter cut them into messages, so a block of hundreds
of frames costs one system call.

Frame layout: byte 0 = FIN bit + opcode; byte 1 = MASK bit + 7-bit length (126: 16-bit length follows,
127: 64-bit length follows); then a 4-byte mask if MASK is set (servers must not mask, but we unmask if one
does); then the payload. Fragmented messages (FIN clear, then continuation frames) are joined; control frames
may arrive between fragments and are returned at once.
"""

from __future__ import annotations

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class ProtocolError(ValueError):
    """The byte stream is not valid WebSocket framing; the connection must be dropped."""


def _unmask(payload: bytes, mask: bytes) -> bytes:
    key = int.from_bytes((mask * (len(payload) // 4 + 1))[: len(payload)], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(len(payload), "big")


class FrameSplitter:
    def __init__(self, max_message: int = MAX_MESSAGE_BYTES):
        self.max_message = max_message
        self._rest = b""
        self._fragments: list[bytes] | None = None
        self._fragment_opcode = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add received bytes; return the complete messages as (opcode, payload), in order."""
        buf = self._rest + data if self._rest else data
        n = len(buf)
        pos = 0
        out = []
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            head = pos + 2
            if length == 126:
                if n - head < 2:
                    break
                length = int.from_bytes(buf[head:head + 2], "big")
                head += 2
            elif length == 127:
                if n - head < 8:
                    break
                length = int.from_bytes(buf[head:head + 8], "big")
                head += 8
            if length > self.max_message:
                raise ProtocolError(f"frame of {length} bytes exceeds the {self.max_message}-byte limit")
            mask = None
            if b1 & 0x80:
                if n - head < 4:
                    break
                mask = buf[head:head + 4]
                head += 4
            end = head + length
            if end > n:
                break
            payload = buf[head:end]
            pos = end
            if mask is not None:
                payload = _unmask(payload, mask)
            if b0 & 0x70:
                raise ProtocolError("reserved bits set (no extension was negotiated)")
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            if opcode >= 0x8:
                if not fin or length > 125:
                    raise ProtocolError("control frame fragmented or longer than 125 bytes")
                out.append((opcode, payload))
            elif opcode == OP_CONTINUATION:
                if self._fragments is None:
                    raise ProtocolError("continuation frame without a message to continue")
                self._fragments.append(payload)
                if sum(map(len, self._fragments)) > self.max_message:
                    raise ProtocolError("fragmented message exceeds the size limit")
                if fin:
                    out.append((self._fragment_opcode, b"".join(self._fragments)))
                    self._fragments = None
            elif opcode in (OP_TEXT, OP_BINARY):
                if self._fragments is not None:
                    raise ProtocolError("new message before the previous fragmented one ended")
                if fin:
                    out.append((opcode, payload))
                else:
                    self._fragments, self._fragment_opcode = [payload], opcode
            else:
                raise ProtocolError(f"unknown opcode {opcode:#x}")
        self._rest = buf[pos:] if pos < n else b""
        return out
