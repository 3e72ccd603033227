"""One client's WebSocket session: Binance's limits on what it sends, and its control messages.

Runs on the simulator's loop thread.

:class:`LimitedConnection` is the ``websockets`` server connection with Binance's incoming-message limit: every
PING, PONG and data message counts (:class:`.limits.MessageRate`); one too many in a second closes the connection
with 1008 "Too many requests" before that message is acted on. A request line over ``websockets``' 8,192 bytes
(a stream URL over ~8 KB) is answered 414 by ``websockets`` itself and counted here as ``url_too_long``.

:func:`answer` handles one control message, Binance's live methods::

    {"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":1}    -> {"result":null,"id":1}
    {"method":"UNSUBSCRIBE","params":["btcusdt@aggTrade"],"id":2}  -> {"result":null,"id":2}
    {"method":"LIST_SUBSCRIPTIONS","id":3}                         -> {"result":["btcusdt@aggTrade"],"id":3}
    {"method":"SET_PROPERTY","params":["combined",true],"id":4}    -> {"result":null,"id":4}
    {"method":"GET_PROPERTY","params":["combined"],"id":5}         -> {"result":true,"id":5}

Errors, in Binance's words where its documentation gives them (``{"error":{"code":N,"msg":..},"id":..}``):
code 0 "Unknown property", code 1 "Invalid value type: expected Boolean", code 2 "Invalid request: ..." (missing
or unknown method, bad id, bad params, unknown stream, more than 1024 streams), code 3 "Invalid JSON: ...".
A SUBSCRIBE that would take the connection past 1024 streams adds none of them. A message over 4 KB is not
read: the connection is closed with 1009.
"""
from __future__ import annotations

import logging
import time

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import RequestLineTooLong
from websockets.frames import DATA_OPCODES, Frame, Opcode
from websockets.protocol import State

from .hub import BadStream, Subscription, parse_stream
from .limits import MessageRate

log = logging.getLogger(__name__)

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


class LimitedConnection(ServerConnection):
    """A server connection that counts incoming messages against Binance's per-second limit.

    ``exchange`` is set by the server right after construction (``websockets`` builds the connection)."""

    exchange = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rate: MessageRate | None = None
        self.over_limit = False
        """Set once the connection crossed the message limit (enforced): nothing more it sends is acted on."""

    async def handshake(self, *args, **kwargs) -> None:
        await super().handshake(*args, **kwargs)
        if isinstance(self.protocol.handshake_exc, RequestLineTooLong) and self.exchange is not None:
            self.exchange.violations.add("url_too_long")

    def process_event(self, event) -> None:
        if self.request is not None and isinstance(event, Frame) and self.exchange is not None:
            if self.over_limit:
                return
            counted = event.opcode in (Opcode.PING, Opcode.PONG) or (event.opcode in DATA_OPCODES and event.fin)
            if counted and not self._admit():
                return
        super().process_event(event)

    def _admit(self) -> bool:
        exchange = self.exchange
        assert exchange is not None
        if self.rate is None:
            self.rate = MessageRate(exchange.limits.messages_per_second)
        if self.rate.admit(time.monotonic()):
            return True
        exchange.violations.add("messages_per_second")
        if not exchange.enforce_limits:
            return True
        log.warning("closing a connection that sent more than %d messages in a second",
                    exchange.limits.messages_per_second)
        self.over_limit = True
        self.drop(1008, "Too many requests")
        return False

    def drop(self, code: int, reason: str) -> None:
        """Close with ``code`` now, without reading anything more (the close frame, then the TCP connection)."""
        if self.protocol.state is State.OPEN:
            self.protocol.fail(code, reason)
            try:
                self.send_data()
            except Exception:  # the transport is already gone: nothing left to tell the client
                pass


def _error(code: int, msg: str, req_id=None) -> dict:
    return {"error": {"code": code, "msg": msg}, "id": req_id}


def _valid_id(req_id) -> bool:
    """Binance accepts a 64-bit signed integer, an alphanumeric string of at most 36 characters, or null."""
    if req_id is None:
        return True
    if isinstance(req_id, bool):
        return False
    if isinstance(req_id, int):
        return -(1 << 63) <= req_id < (1 << 63)
    return isinstance(req_id, str) and len(req_id) <= 36 and req_id.isalnum()


def answer(exchange, sub: Subscription, message: str | bytes) -> dict | None:
    """Act on one control message and return the reply; None if the connection was closed instead."""
    limits = exchange.limits
    size = len(message.encode()) if isinstance(message, str) else len(message)
    if size > limits.message_bytes:
        exchange.violations.add("message_too_big")
        if exchange.enforce_limits:
            conn = sub.conn
            if isinstance(conn, LimitedConnection):
                conn.drop(1009, f"Message too big: at most {limits.message_bytes} bytes")
            return None
    try:
        request = orjson.loads(message)
    except orjson.JSONDecodeError as exc:
        return _error(3, f"Invalid JSON: {exc}")
    if not isinstance(request, dict):
        return _error(2, "Invalid request: expected an object")
    req_id = request.get("id")
    if not _valid_id(req_id):
        return _error(2, "Invalid request: request ID must be an unsigned integer")
    method = request.get("method")
    if method is None:
        return _error(2, "Invalid request: missing field `method`", req_id)
    if method not in METHODS:
        return _error(2, f"Invalid request: unknown variant `{method}`, expected one of "
                         f"{', '.join(f'`{m}`' for m in METHODS)}", req_id)
    params = request.get("params", [])
    if not isinstance(params, list):
        return _error(2, "Invalid request: params must be an array", req_id)
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": list(sub.streams.values()), "id": req_id}
    if method in ("SET_PROPERTY", "GET_PROPERTY"):
        return _property(sub, method, params, req_id)
    if not all(isinstance(p, str) for p in params):
        return _error(2, "Invalid request: stream names must be strings", req_id)
    try:
        streams = {parse_stream(name, exchange.markets): name for name in params}
    except BadStream as exc:
        return _error(2, f"Invalid request: {exc}", req_id)
    hub = exchange.hub
    if method == "UNSUBSCRIBE":
        hub.unsubscribe(sub, streams)
        return {"result": None, "id": req_id}
    total = len(sub.streams.keys() | streams.keys())
    if total > limits.streams_per_connection:
        exchange.violations.add("streams_per_connection")
        if exchange.enforce_limits:
            return _error(2, f"Invalid request: too many streams: {total} on this connection, the limit is "
                             f"{limits.streams_per_connection}", req_id)
    hub.subscribe(sub, streams)
    return {"result": None, "id": req_id}


def _property(sub: Subscription, method: str, params: list, req_id) -> dict:
    if not params or not isinstance(params[0], str):
        return _error(2, "Invalid request: property name must be a string", req_id)
    if params[0] != "combined":
        return _error(0, "Unknown property", req_id)
    if method == "GET_PROPERTY":
        return {"result": sub.combined, "id": req_id}
    if len(params) < 2 or not isinstance(params[1], bool):
        return _error(1, "Invalid value type: expected Boolean", req_id)
    sub.combined = params[1]
    return {"result": None, "id": req_id}
