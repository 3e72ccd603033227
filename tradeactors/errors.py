"""The domain's errors: what went wrong, in words (``message``) and in machine-readable ``details``.

They are raised by the pure analytics, ``tools.py``, the QueryActor and the service facade, and reach in-process
callers unchanged (``service.ask("query", Analyze(...))`` raises them). They know nothing of HTTP: the web layer
alone maps each type to a status and an error code (``tradeactors/web/responses.py``), and the MCP server turns
those answers into tool errors (``mcp/answers.py``): the pure code never depends on a transport.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, Final


class TradeactorsError(Exception):
    """Base of the domain errors: ``message`` for people, ``details`` (a dict, JSON-ready) for programs."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidParameter(TradeactorsError):
    """A parameter is missing, of the wrong type or outside its range; ``details.field`` names it and the
    message starts with its name, so a caller can point at the offending input without parsing the text."""

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(f"{field}: {message}", field=field, **details)
        self.field = field


class UnknownSymbol(TradeactorsError):
    """The symbol is well formed but not collected; ``details.collected`` lists the ones that are."""

    def __init__(self, symbol: str, known: Iterable[str]) -> None:
        super().__init__(f"symbol {symbol!r} is not collected", symbol=symbol, collected=list(known))
        self.symbol = symbol


class _NotGiven(enum.Enum):
    """The type of ``_NOT_GIVEN``: a one-member enum, so that ``is not _NOT_GIVEN`` narrows the type."""

    NOT_GIVEN = enum.auto()


_NOT_GIVEN: Final = _NotGiven.NOT_GIVEN
"""``collecting_since`` left out: the raiser does not know the store (None there means "nothing collected")."""


class InsufficientData(TradeactorsError):
    """The window holds fewer trades or book seconds than the tool needs: not a fault, just too early.

    The pure analytics know only ``required`` and ``available`` and raise with those two details. The caller
    that knows the store (``tools.insufficient``) also gives ``collecting_since`` (ms of the symbol's first stored
    trade, None when nothing is stored) and ``estimated_wait_seconds`` (None without an observed rate): they join
    the details, in that order, and the message says how long to wait.
    """

    def __init__(self, required: int, available: int, what: str = "aggregate trades", *,
                 collecting_since: int | _NotGiven | None = _NOT_GIVEN,
                 estimated_wait_seconds: int | None = None) -> None:
        message = f"needs at least {required} {what} in the window, has {available}"
        details: dict[str, Any] = {"required": int(required), "available": int(available)}
        if collecting_since is not _NOT_GIVEN:
            details.update(collecting_since=collecting_since, estimated_wait_seconds=estimated_wait_seconds)
            if collecting_since is None:
                message += "; nothing collected yet"
            else:
                message += f"; collecting since {collecting_since}"
                if estimated_wait_seconds is not None:
                    message += f", about {estimated_wait_seconds} s more"
        super().__init__(message, **details)
        self.required = int(required)
        self.available = int(available)
        self.what = what


class Unavailable(TradeactorsError):
    """An actor (or the storage behind it) is not running or did not answer in time: retry later."""
