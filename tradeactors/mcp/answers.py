"""What the service's answers become for an assistant (pure: no I/O, the clock passed in).

An error becomes a ``ToolFailure``: a message written to be relayed to a person as it stands (which parameter is
wrong and what is allowed; that collection is in progress and about how long to wait; that the service is down
or wants a token), plus the service's machine-readable ``error`` for programs. ``collection_status`` turns
``/api/status`` and ``/api/health`` into the direct answer to "is data being collected, and how much is there?".
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from tradeactors.errors import InvalidParameter


class ToolFailure(Exception):
    """A tool call that has no result: ``message`` for the person, ``code`` and ``details`` for programs (the
    service's ``error`` object when it sent one)."""

    def __init__(self, message: str, code: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = dict(details or {})

    def error(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def iso(ms: int | None) -> str | None:
    """Milliseconds since the epoch as ``2026-12-02T03:01:37.787Z`` (UTC), None for None."""
    if ms is None:
        return None
    seconds, millis = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def duration(seconds: float) -> str:
    """A wait or an age in the unit a person would use: ``about 16 seconds``, ``about 4 minutes``."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        n, unit = round(seconds), "second"
    elif seconds < 90 * 60:
        n, unit = round(seconds / 60), "minute"
    elif seconds < 48 * 3600:
        n, unit = round(seconds / 3600), "hour"
    else:
        n, unit = round(seconds / 86400), "day"
    return f"about {n} {unit}{'' if n == 1 else 's'}"


def invalid_argument(tool: str, exc: InvalidParameter) -> ToolFailure:
    """A bad argument, found here or by the service: the API's message names the field and what is allowed."""
    return ToolFailure(f"Invalid argument for {tool}: {exc.message}. Correct it and call {tool} again.",
                       "invalid_parameter", exc.details)


_WHAT = re.compile(r"needs at least \d+ (.+?) in the window")


def insufficient_data(symbol: str, message: str, details: Mapping[str, Any]) -> ToolFailure:
    """The seeds' user story 1, scenario 3: not an error of the caller's, just too early; say so, and how long."""
    required, available = details.get("required"), details.get("available")
    found = _WHAT.search(message)
    what = found.group(1) if found else "records"
    need = f"this analysis needs at least {required} {what} in its window"
    since, wait = details.get("collecting_since"), details.get("estimated_wait_seconds")
    if "collecting_since" in details and since is None:
        text = (f"Data collection has not started yet for {symbol}: nothing is stored so far, and {need}. If the "
                "service has just started, try again in a few minutes; get_collection_status shows whether the "
                "stream is connected.")
    elif since is not None and wait is not None:
        text = (f"Data collection is in progress for {symbol}: {need} and {available} are stored so far "
                f"(collecting since {iso(since)}). At the observed rate that is {duration(wait)} until enough; "
                "please try again then.")
    elif since is not None:
        text = (f"Data collection is in progress for {symbol} (collecting since {iso(since)}), but {need} and "
                f"it holds {available}: the stream may be disconnected. get_collection_status shows its state; "
                "try again shortly.")
    else:
        text = f"Not enough data yet for {symbol}: {need} and it holds {available}. Please try again later."
    return ToolFailure(text, "insufficient_historical_data", details)


def service_error(tool: str, symbol: str | None, status: int, body: Any, url: str, has_token: bool) -> ToolFailure:
    """The failure for an HTTP error answer of the service (``body`` its parsed JSON, or None)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ToolFailure(f"The tradeactors service at {url} answered HTTP {status} without a JSON error: is "
                           f"{url} a tradeactors service?", "bad_answer", {"status": status})
    code, message = str(error.get("code", "")), str(error.get("message", ""))
    raw_details = error.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    if status == 400 or code == "invalid_parameter":
        field = str(details.get("field", "?"))
        detail_text = message.split(": ", 1)[1] if message.startswith(f"{field}: ") else message
        return invalid_argument(tool, InvalidParameter(field, detail_text, **{k: v for k, v in details.items()
                                                                              if k != "field"}))
    if status == 422 or code == "insufficient_historical_data":
        return insufficient_data(symbol or "this symbol", message, details)
    if code == "unknown_symbol":
        collected = ", ".join(details.get("collected") or []) or "none"
        return ToolFailure(f"{details.get('symbol', symbol)} is not collected by this service; the symbols it "
                           f"collects are: {collected}.", code, details)
    if status == 401:
        hint = ("the token tradeactors mcp sends was refused: set its api_token to the service's" if has_token
                else "it requires a bearer token: set api_token for tradeactors mcp (TRADEACTORS_API_TOKEN or "
                "[service] api_token in its --config file) to the service's token")
        return ToolFailure(f"The tradeactors service at {url} refused the request: {hint}.", "unauthorized",
                           {"status": status})
    if status == 503:
        return ToolFailure(f"The tradeactors service is temporarily unavailable ({message}); try again in a few "
                           "seconds.", code or "unavailable", details)
    return ToolFailure(f"The tradeactors service answered HTTP {status} ({code}): {message}", code or "error",
                       details)


def unreachable(url: str, reason: str) -> ToolFailure:
    return ToolFailure(f"The tradeactors service at {url} is not reachable ({reason}). Is it running? It is "
                       "started with `tradeactors start`; tradeactors mcp finds it through --http, "
                       "TRADEACTORS_HTTP or [service] http.", "service_unreachable", {"url": url})


def _stored(ranges: Any) -> int | None:
    """Trades stored, from the storage status's ``stored_ids`` ranges ([first, last] inclusive)."""
    if not isinstance(ranges, list):
        return None
    return sum(int(hi) - int(lo) + 1 for lo, hi in ranges)


def collection_status(status: Mapping[str, Any], health: Mapping[str, Any],
                      first_trades: Mapping[str, Mapping[str, Any] | None], now_ms: int, url: str) -> dict[str, Any]:
    """Per symbol what is recorded, since when, how much and its health, and a one-line ``summary`` per symbol.

    ``first_trades``: each symbol's oldest stored trade of the last 168 hours (the retention by default; the
    API reads no longer window), or None when there is none.
    """
    storage = status.get("storage") or {}
    reasons = [str(r) for r in health.get("reasons") or []]
    symbols: dict[str, Any] = {}
    summary: list[str] = []
    for symbol, stream in (status.get("symbols") or {}).items():
        book = stream.get("book") or {}
        first = first_trades.get(symbol)
        first_ms = first.get("T") if first else None
        last_ms = stream.get("last_trade_time")
        stored = _stored((storage.get("stored_ids") or {}).get(symbol))
        holes = _stored((storage.get("holes") or {}).get(symbol))
        problems = [r for r in reasons if re.search(rf"\b{re.escape(symbol)}\b", r)]
        entry = {
            "stream_state": stream.get("state"),
            "trades_stored": stored,
            "first_trade_time_ms": first_ms,
            "first_trade_time": iso(first_ms),
            "collecting_for_seconds": None if first_ms is None else max(0, (now_ms - first_ms) // 1000),
            "last_trade_time_ms": last_ms,
            "last_trade_time": iso(last_ms),
            "last_trade_age_seconds": None if last_ms is None else max(0.0, (now_ms - last_ms) / 1000),
            "trades_missing_being_filled": holes,
            "book_state": book.get("state"),
            "book_seconds_stored_since_start": (storage.get("book_seconds_written") or {}).get(symbol),
            "healthy": not problems,
            "problems": problems,
        }
        symbols[symbol] = entry
        since = f" since {iso(first_ms)} ({duration((now_ms - first_ms) / 1000)})" if first_ms is not None else ""
        line = (f"{symbol}: stream {entry['stream_state']}, {stored if stored is not None else 'unknown'} trades "
                f"stored{since}, book {entry['book_state']}")
        summary.append(line + (f"; problems: {'; '.join(problems)}" if problems else ""))
    healthy = health.get("status") == "ok"
    return {
        "service": url,
        "now_ms": now_ms,
        "now": iso(now_ms),
        "healthy": healthy,
        "health_reasons": reasons,
        "summary": summary + ([] if healthy else [f"service unhealthy: {'; '.join(reasons) or 'see health'}"]),
        "symbols": symbols,
        "storage": {k: storage.get(k) for k in ("size_on_disk", "write_errors", "pending_trades",
                                                 "pending_book_seconds") if k in storage},
    }
