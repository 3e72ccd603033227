"""The running service, as this process reaches it: its HTTP API over httpx2 (the SDK's HTTP client).

One ``Upstream`` per process, shared by every MCP session: it checks a call's arguments with the parameter table
(``catalog``), asks the service, and returns its JSON answer or raises ``answers.ToolFailure``. It never retries
on its own: an assistant told "not reachable" or "try again in N seconds" decides.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import httpx2

from tradeactors.errors import InvalidParameter
from tradeactors.mcp import answers
from tradeactors.mcp.answers import ToolFailure
from tradeactors.mcp.catalog import Tool
from tradeactors.parameters import MAX_WINDOW_MS

DEFAULT_TIMEOUT = 40.0
"""Seconds to wait for the service: longer than its own 30 s limit on an analytics query, so that a slow
analysis arrives as the service's 503 rather than as a timeout here."""


def base_url(host: str, port: int) -> str:
    """The service's URL for its ``http`` setting: a wildcard bind address is reached on the loopback."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Upstream:
    """The service's API at ``url``, with ``token`` (empty: none) as the bearer token on every request."""

    def __init__(self, url: str, token: str = "", timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.has_token = bool(token)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # trust_env=False: no proxy from the environment between us and the service (normally on the loopback).
        self.http = httpx2.AsyncClient(base_url=url, headers=headers, timeout=timeout, trust_env=False)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def call(self, tool: Tool, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """The tool's result; raises ToolFailure for a bad argument (before asking the service) or any error."""
        try:
            query = tool.query(arguments)
        except InvalidParameter as exc:
            raise answers.invalid_argument(tool.name, exc) from None
        if tool.path is None:
            return await self.collection_status()
        return await self.get(tool.name, tool.path, query)

    async def get(self, tool: str, path: str, query: Mapping[str, str], ok: tuple[int, ...] = (200,)) -> Any:
        try:
            response = await self.http.get(path, params=dict(query))
        except httpx2.TimeoutException:
            raise answers.unreachable(self.url, f"no answer within {self.http.timeout.read:g} s") from None
        except httpx2.TransportError as exc:
            raise answers.unreachable(self.url, str(exc) or type(exc).__name__) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code in ok and isinstance(body, dict):
            return body
        raise answers.service_error(tool, query.get("symbol"), response.status_code, body, self.url, self.has_token)

    async def collection_status(self) -> dict[str, Any]:
        tool = "get_collection_status"
        status, health = await asyncio.gather(self.get(tool, "/api/status", {}),
                                              self.get(tool, "/api/health", {}, ok=(200, 503)))
        now_ms = int(time.time() * 1000)
        symbols = list(status.get("symbols") or {})
        firsts = await asyncio.gather(*(self._first_trade(symbol, now_ms) for symbol in symbols))
        return answers.collection_status(status, health, dict(zip(symbols, firsts)), now_ms, self.url)

    async def _first_trade(self, symbol: str, now_ms: int) -> dict[str, Any] | None:
        """The oldest stored trade of the longest window the API reads (168 hours, the default retention)."""
        query = {"symbol": symbol, "start": str(max(0, now_ms - MAX_WINDOW_MS)), "end": str(now_ms), "limit": "1"}
        try:
            page = await self.get("get_collection_status", "/api/trades", query)
        except ToolFailure:
            return None  # the status answers without it; a real outage already failed /api/status
        trades = page.get("trades") or []
        return trades[0] if trades else None
