"""JSON responses, and the one place where domain errors become HTTP: ``ERRORS`` maps each error type of
``tradeactors.errors`` to its status and error code.

Kept apart from ``create_app`` so that the blueprints can import it without importing the package that imports
them.
"""

from __future__ import annotations

import orjson
from flask import Response

from tradeactors.errors import InsufficientData, InvalidParameter, TradeactorsError, Unavailable, UnknownSymbol

ERRORS: dict[type[TradeactorsError], tuple[int, str]] = {
    InvalidParameter: (400, "invalid_parameter"),
    UnknownSymbol: (404, "unknown_symbol"),
    InsufficientData: (422, "insufficient_historical_data"),
    Unavailable: (503, "unavailable"),
}
"""Domain error type -> (HTTP status, ``error.code``). A subclass answers as its nearest listed ancestor."""


def json_response(body, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def error_response(status: int, code: str, message: str, details: dict | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message, "details": details or {}}}, status)


def status_and_code(exc: TradeactorsError) -> tuple[int, str] | None:
    """The (status, code) of ``exc``'s nearest type in ``ERRORS``; None for a domain error nobody mapped, which
    the app answers as an internal error: a new error type must be given its status on purpose."""
    for cls in type(exc).__mro__:
        if cls in ERRORS:
            return ERRORS[cls]
    return None
