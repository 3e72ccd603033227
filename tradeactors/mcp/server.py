"""The MCP server: the catalog's tools on the SDK's low-level ``Server``, over stdio or streamable HTTP.

The low-level server (not ``MCPServer``'s decorators) because the input schemas are the parameter table's, built
by ``catalog``, not inferred from Python signatures. Every call ends in a result: the service's JSON as
``structuredContent`` and as JSON text, or ``isError`` with a message an assistant can relay (a failure is never
a protocol error or a crash of the session).

Streamable HTTP runs the SDK's Starlette app under uvicorn on a socket bound before serving (a port in use fails
at start). With a token, ``BearerToken`` answers 401 to any request without ``Authorization: Bearer <token>``,
compared in constant time, and says nothing about why, as the service's API does.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import anyio
import uvicorn
from mcp import types
from mcp.server import Server
from mcp.server.stdio import stdio_server

from tradeactors._version import __version__
from tradeactors.mcp.answers import ToolFailure
from tradeactors.mcp.catalog import TOOLS, Tool
from tradeactors.mcp.upstream import Upstream

log = logging.getLogger("tradeactors.mcp")

MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "Binance spot market data recorded by a tradeactors service: analytics over its stored trades and order "
    "books, the stored trades, the live order book and what is being collected. Symbols are upper case, e.g. "
    "BTCUSDT. Times are milliseconds since the epoch (UTC). When a tool says collection is in progress, relay "
    "the estimated wait to the user.")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def result(body: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=json.dumps(body, ensure_ascii=False))],
                                structured_content=body)


def failure(exc: ToolFailure) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=exc.message)], structured_content=exc.error(),
                                is_error=True)


def build(upstream: Upstream, prefix: str = "") -> Server[Any]:
    """The server offering every tool of the catalog as ``prefix + name``, answered by ``upstream``."""
    tools: dict[str, Tool] = {prefix + tool.name: tool for tool in TOOLS}
    listing = types.ListToolsResult(tools=[
        types.Tool(name=name, description=tool.description, input_schema=tool.input_schema(),
                   annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=False))
        for name, tool in tools.items()])

    async def list_tools(_ctx: Any, _params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return listing

    async def call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = tools.get(params.name)
        if tool is None:
            return failure(ToolFailure(f"There is no tool {params.name!r}; the tools are: {', '.join(tools)}.",
                                       "unknown_tool", {"tool": params.name}))
        try:
            return result(await upstream.call(tool, params.arguments))
        except ToolFailure as exc:
            return failure(exc)
        except Exception as exc:  # a bug of ours must not end the assistant's session: say it, log it
            log.exception("%s failed", params.name)
            return failure(ToolFailure(f"{params.name} failed inside tradeactors mcp: {exc!r}", "internal_error"))

    return Server("tradeactors", version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call_tool)


async def serve_stdio(server: Server[Any]) -> None:
    """Serve one client on stdin/stdout until it closes stdin (how desktop assistants stop their servers)."""
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


class BearerToken:
    """ASGI middleware: every HTTP request needs ``Authorization: Bearer <token>``, else one plain 401."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            supplied = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(supplied, self.expected):
                body = json.dumps({"error": {"code": "unauthorized", "message": "missing or invalid bearer token",
                                             "details": {}}}).encode()
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="tradeactors"')]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def http_app(server: Server[Any], host: str, token: str) -> ASGIApp:
    """The streamable-HTTP app at ``/mcp``; the SDK's DNS-rebinding check is on for a loopback ``host``."""
    app: ASGIApp = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    return BearerToken(app, token) if token else app


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound now so that a port in use fails at start; raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def listen_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}{MCP_PATH}" if ":" in host else f"http://{host}:{port}{MCP_PATH}"


class _Uvicorn(uvicorn.Server):
    """uvicorn re-raises a captured SIGTERM after its graceful shutdown, so the process would die by the signal;
    ``serve_http`` handles the signals itself instead, and an orderly stop exits 0 as the service's does."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_http(app: ASGIApp, sock: socket.socket, on_ready: Callable[[], None]) -> None:
    """Serve ``app`` on ``sock`` until SIGTERM or SIGINT, then stop in order (open requests finish); ``on_ready``
    is called once uvicorn has started the app and accepts connections."""
    server = _Uvicorn(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))

    async def announce() -> None:
        while not server.started and not server.should_exit:
            await anyio.sleep(0.02)
        if server.started:
            on_ready()

    async def stop_on_signal() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info("received %s: stopping", signal.Signals(signum).name)
                server.should_exit = True
                return

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(announce)
        tasks.start_soon(stop_on_signal)
        await server.serve(sockets=[sock])
        tasks.cancel_scope.cancel()


async def run_stdio(upstream: Upstream, prefix: str) -> int:
    """``tradeactors mcp`` on stdio: until the client closes stdin; exit code 0."""
    log.info("serving MCP over stdio for the service at %s", upstream.url)
    try:
        await serve_stdio(build(upstream, prefix))
    finally:
        await upstream.aclose()
    return 0


async def run_http(upstream: Upstream, prefix: str, host: str, sock: socket.socket, token: str) -> int:
    """``tradeactors mcp --listen``: streamable HTTP on ``sock`` until SIGTERM or SIGINT; exit code 0."""
    where = listen_url(sock)

    def ready() -> None:
        log.info("serving MCP over streamable HTTP at %s for the service at %s%s", where, upstream.url,
                 " (bearer token required)" if token else "")

    try:
        await serve_http(http_app(build(upstream, prefix), host, token), sock, ready)
    finally:
        await upstream.aclose()
        sock.close()
    log.info("stopped")
    return 0
