"""The SDK's own client against ``tradeactors mcp`` processes: over stdio (the process spawned by the client, as
a desktop assistant does) and over streamable HTTP (a ``--listen`` process started by the test)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.helpers import ROOT

TOKEN = "mcp-test-token-0123456789abcdef"


def environment(**extra: str) -> dict[str, str]:
    """This process's environment (PYTHONPATH included: the worktree's package wins) without any
    ``TRADEACTORS_*`` setting of the developer's shell, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEACTORS_")}
    return {**env, **extra}


@asynccontextmanager
async def stdio_session(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    """An initialized session with ``python -m tradeactors mcp *args`` on its stdin/stdout; its stderr (the
    logs) is printed when the test fails (pytest shows captured output)."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "tradeactors", "mcp", *args],
                                   env=env if env is not None else environment(), cwd=str(ROOT))
    with tempfile.TemporaryFile("w+") as errlog:
        try:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                yield session
        finally:
            errlog.seek(0)
            sys.stderr.write(errlog.read()[-4000:])


@asynccontextmanager
async def http_session(url: str, token: str | None = TOKEN) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120), trust_env=False) as http, \
            streamable_http_client(url, http_client=http) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def text_of(result) -> str:
    """The text content of a tool result (one text block, as the server sends it)."""
    assert len(result.content) == 1 and result.content[0].type == "text", result.content
    return result.content[0].text


def structured(result) -> dict:
    """A successful result's structured content, checked to equal its JSON text."""
    assert not result.is_error, text_of(result)
    assert json.loads(text_of(result)) == result.structured_content
    return result.structured_content
