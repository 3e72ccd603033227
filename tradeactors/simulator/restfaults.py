"""REST faults below the API: broken HTTP rather than Binance error codes, for testing the service's REST client.

What the next ``count`` REST requests (those whose path starts with ``path``, if given) get instead of an answer:

- ``truncate``: the real answer with a ``Content-Length`` larger than the body sent, then the connection closes,
  as when a response is cut off mid-way (``http.client`` raises ``IncompleteRead`` in ``read()``);
- ``reset``: no answer, the TCP connection reset (RST: ``SO_LINGER`` 0, then abort), as when a load balancer
  drops it (``ConnectionResetError`` in the client);
- ``nonjson``: a 200 with an HTML ``502 Bad Gateway`` page, as a misbehaving proxy sends.

Only ``/api/`` requests are ever affected: the ``/_sim`` control API must keep working to undo what it set up.
The state lives on the loop thread (the exchange's), like every other fault.
"""
from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass

KINDS = ("truncate", "reset", "nonjson")

HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")


@dataclass
class _Pending:
    kind: str
    remaining: int
    path: str | None


class RestFaults:
    """Queued REST faults; each request takes the oldest one whose path prefix matches."""

    def __init__(self) -> None:
        self._pending: list[_Pending] = []

    def add(self, kind: str, count: int = 1, path: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown REST fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        count = int(count)
        if count < 1:
            raise ValueError(f"count must be >= 1, not {count}")
        if path is not None and not path.startswith("/api/"):
            # A typo here would silently never match, and /_sim must stay reachable.
            raise ValueError(f"path {path!r} must start with /api/ (REST faults never touch /_sim)")
        self._pending.append(_Pending(kind, count, path))

    def take(self, path: str) -> str | None:
        """The fault kind this request gets, if any (counting it), else None."""
        if not path.startswith("/api/"):
            return None
        for i, p in enumerate(self._pending):
            if p.path is None or path.startswith(p.path):
                p.remaining -= 1
                if p.remaining == 0:
                    del self._pending[i]
                return p.kind
        return None

    def pending(self) -> list[dict]:
        return [{"kind": p.kind, "remaining": p.remaining, "path": p.path} for p in self._pending]


def truncated_length(body: bytes) -> tuple[bytes, int]:
    """(what is sent, the Content-Length announced): half the body, always fewer bytes than announced."""
    sent = body[: len(body) // 2]
    return sent, max(len(body), len(sent) + 1)


async def reset(conn) -> None:
    """Reset the connection of a request that has been read, sending nothing back."""
    transport = conn.transport
    sock = transport.get_extra_info("socket")  # the TCP socket, under TLS too
    if sock is not None:
        # Linger on, timeout 0: close() sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Once the connection is lost websockets sends no response for this handshake.
    await asyncio.shield(conn.connection_lost_waiter)
