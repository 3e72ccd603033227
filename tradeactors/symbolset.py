"""Which symbols to record: the configured selection applied to what exchangeInfo lists (pure).

``symbols`` is either an explicit list, recorded as listed whatever the exchange says of it (a halted symbol in
the list stays subscribed and resumes by itself), or ``ALL``: every spot symbol whose exchangeInfo ``status`` is
``TRADING``, keeping only those quoted in ``quote_assets`` (when given) and leaving out ``exclude``. Binance's
other statuses (``BREAK``, ``HALT``, ``PRE_TRADING``, ``POST_TRADING``, ``END_OF_DAY``, ``AUCTION_MATCH``) and a
symbol missing from the answer (delisted) all mean "not trading": the symbol is stopped.

exchangeInfo (``GET /api/v3/exchangeInfo``, weight 20), the part read here::

    {"symbols": [{"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
                  "isSpotTradingAllowed": true, "permissions": ["SPOT"], ...}, ...]}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

ALL = "ALL"
SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")
"""A name the service can subscribe to and store; anything else exchangeInfo might list is never chosen."""


class ListedSymbol(NamedTuple):
    """One symbol as exchangeInfo lists it."""

    symbol: str
    status: str
    """``TRADING``, ``BREAK``, ``HALT``, ..."""
    quote_asset: str
    spot: bool
    """``isSpotTradingAllowed`` (absent: true)."""


def parse_exchange_info(body: Any) -> list[ListedSymbol]:
    """The symbols of an exchangeInfo answer; ValueError naming what is wrong with a body of another shape."""
    if not isinstance(body, dict) or not isinstance(body.get("symbols"), list):
        raise ValueError("exchangeInfo returned a body without a symbols list")
    listed = []
    for item in body["symbols"]:
        try:
            symbol, status, quote = item["symbol"], item["status"], item["quoteAsset"]
        except (KeyError, TypeError):
            raise ValueError("exchangeInfo listed a symbol without symbol/status/quoteAsset") from None
        if not all(isinstance(v, str) for v in (symbol, status, quote)):
            raise ValueError(f"exchangeInfo listed {symbol!r} with fields of the wrong type")
        listed.append(ListedSymbol(symbol, status, quote, item.get("isSpotTradingAllowed", True) is not False))
    if not listed:
        raise ValueError("exchangeInfo listed no symbol at all")
    return listed


@dataclass(frozen=True)
class Selection:
    """What the configuration asks to record."""

    symbols: tuple[str, ...]
    """The explicit list; empty with ``every``."""
    every: bool = False
    """``symbols = ALL``."""
    quote_assets: tuple[str, ...] = ()
    """With ``every``: only symbols quoted in these (empty: any)."""
    exclude: tuple[str, ...] = ()
    """With ``every``: never these."""

    @classmethod
    def of(cls, symbols: Sequence[str], quote_assets: Sequence[str] = (), exclude: Sequence[str] = ()) -> Selection:
        """From the configuration's values (``symbols`` is ``("ALL",)`` for ALL)."""
        if tuple(symbols) == (ALL,):
            return cls((), True, tuple(quote_assets), tuple(exclude))
        return cls(tuple(symbols))

    def describe(self) -> str:
        if not self.every:
            return ",".join(self.symbols)
        text = "ALL trading"
        if self.quote_assets:
            text += f", quoted in {','.join(self.quote_assets)}"
        if self.exclude:
            text += f", except {','.join(self.exclude)}"
        return text

    def choose(self, listed: Iterable[ListedSymbol]) -> tuple[str, ...]:
        """The symbols to record, sorted, given exchangeInfo's list (only read with ``every``)."""
        if not self.every:
            return self.symbols
        quotes, excluded = set(self.quote_assets), set(self.exclude)
        return tuple(sorted(
            item.symbol for item in listed
            if item.status == "TRADING" and item.spot and item.symbol not in excluded and SYMBOL_RE.match(item.symbol)
            and (not quotes or item.quote_asset in quotes)))


def changes(current: Sequence[str], target: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(added, removed) to go from ``current`` to ``target``, each in its list's order."""
    now, wanted = set(current), set(target)
    return tuple(s for s in target if s not in now), tuple(s for s in current if s not in wanted)
