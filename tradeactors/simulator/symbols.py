"""The symbol table and the decimal format Binance uses on the wire.

Every price and quantity inside the simulator is an integer number of *units* of 1e-8 (Binance spot sends these
symbols with 8 decimals: ``"61234.56000000"``, ``"0.01230000"``), so arithmetic is exact and cheap; strings are
made only when a payload is built.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

DECIMALS = 8
UNIT = 10**DECIMALS


@dataclass(frozen=True)
class SymbolSpec:
    """How one symbol trades in the synthetic market and what exchangeInfo says about it."""

    symbol: str
    """Upper-case Binance symbol, e.g. ``BTCUSDT``."""
    base: str
    """Base asset, e.g. ``BTC``."""
    quote: str
    """Quote asset, e.g. ``USDT``."""
    price: int
    """Starting mid price in units."""
    tick: int
    """Price grid (PRICE_FILTER tickSize) in units."""
    step: int
    """Quantity grid (LOT_SIZE stepSize) in units."""
    mean_qty: int
    """Mean size of one taker order in units (a multiple of ``step``)."""
    levels: int = 250
    """About how many price levels each side of the synthetic book holds (quiet symbols have thin books)."""

    @property
    def max_price(self) -> int:
        """exchangeInfo's PRICE_FILTER maxPrice: 1,000,000 unless ten times the price is more (e.g. BTCTRY)."""
        return max(UNIT * 1_000_000, (self.price * 10) // self.tick * self.tick)

    @property
    def max_qty(self) -> int:
        """exchangeInfo's LOT_SIZE maxQty: 9,000 unless a thousand mean orders are more (cheap coins)."""
        return max(UNIT * 9_000, (self.mean_qty * 1000) // self.step * self.step)


def units(text: str | int | float | Decimal) -> int:
    """``"0.01"`` -> ``1000000``: a decimal string (or number) as an exact integer of 1e-8 units."""
    value = Decimal(str(text)) * UNIT
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} has more than {DECIMALS} decimals")
    return int(value)


def fmt(value: int) -> str:
    """``6123456000000`` -> ``"61234.56000000"``: units as Binance's fixed 8-decimal string."""
    return f"{value // UNIT}.{value % UNIT:08d}"


def _spec(symbol: str, base: str, quote: str, price: str, tick: str, step: str, mean_qty: str) -> SymbolSpec:
    return SymbolSpec(symbol, base, quote, units(price), units(tick), units(step), units(mean_qty))


# The one place that says how each symbol looks. Anything not listed gets DEFAULT's numbers.
KNOWN = {
    "BTCUSDT": _spec("BTCUSDT", "BTC", "USDT", "60000", "0.01", "0.00001", "0.02"),
    "ETHUSDT": _spec("ETHUSDT", "ETH", "USDT", "3000", "0.01", "0.0001", "0.3"),
    "BNBUSDT": _spec("BNBUSDT", "BNB", "USDT", "550", "0.1", "0.001", "1.5"),
    "SOLUSDT": _spec("SOLUSDT", "SOL", "USDT", "150", "0.01", "0.001", "5"),
}
DEFAULT = {"price": "1.0", "tick": "0.0001", "step": "0.1", "mean_qty": "200"}
QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL")


def spec_for(symbol: str) -> SymbolSpec:
    """The spec of ``symbol`` (upper-case, letters and digits), with a plausible default for unknown ones."""
    symbol = symbol.upper()
    if not symbol.isalnum() or not 2 <= len(symbol) <= 20:
        raise ValueError(f"invalid symbol {symbol!r}: expected letters and digits, e.g. BTCUSDT")
    if symbol in KNOWN:
        return KNOWN[symbol]
    quote = next((q for q in QUOTES if symbol.endswith(q) and len(symbol) > len(q)), symbol[-4:])
    return _spec(symbol, symbol[: -len(quote)] or symbol, quote, **DEFAULT)
