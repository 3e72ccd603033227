"""Errors with a code, a message and details, shared by the QueryActor's Python API and the HTTP API.

The web layer turns them into ``{"error": {"code", "message", "details"}}`` with the given HTTP status.
"""

from __future__ import annotations


class ApiError(Exception):
    status = 400
    code = "invalid_parameter"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidParameter(ApiError):
    """A parameter is missing, of the wrong type or outside its range; ``details.field`` names it."""

    def __init__(self, field: str, message: str, **details):
        super().__init__(f"{field}: {message}", field=field, **details)


class UnknownSymbol(ApiError):
    status = 404
    code = "unknown_symbol"

    def __init__(self, symbol: str, known):
        super().__init__(f"symbol {symbol!r} is not collected", symbol=symbol, collected=list(known))


class Unavailable(ApiError):
    status = 503
    code = "unavailable"
