"""Query-string parameters: parsed strictly, errors name the field and the allowed range (never clamped)."""

from __future__ import annotations

import re

from flask import request

from tradeactors.errors import InvalidParameter, UnknownSymbol

SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")
INT_RE = re.compile(r"^[+-]?[0-9]{1,19}$")


def symbol_param(collected) -> str:
    raw = request.args.get("symbol")
    if raw is None or not raw.strip():
        raise InvalidParameter("symbol", "is required (e.g. BTCUSDT)")
    symbol = raw.strip().upper()
    if not SYMBOL_RE.match(symbol):
        raise InvalidParameter("symbol", "must be 2-20 letters or digits (e.g. BTCUSDT)")
    if symbol not in collected:
        raise UnknownSymbol(symbol, collected)
    return symbol


def int_param(name: str, low: int, high: int, default: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if default is None:
            raise InvalidParameter(name, f"is required (an integer in {low}..{high})", minimum=low, maximum=high)
        return default
    if not INT_RE.match(raw.strip()):
        raise InvalidParameter(name, f"must be an integer in {low}..{high}", minimum=low, maximum=high)
    value = int(raw)
    if not low <= value <= high:
        raise InvalidParameter(name, f"must be in {low}..{high}, got {value}", minimum=low, maximum=high)
    return value


FLOAT_RE = re.compile(r"^[+-]?([0-9]{1,12}(\.[0-9]{0,12})?|\.[0-9]{1,12})$")


def float_param(name: str, low: float, high: float, default: float, low_open: bool = False,
                high_open: bool = False) -> float:
    """A decimal number in a range; ``*_open`` excludes that bound (e.g. value_area_pct in (0, 1])."""
    raw = request.args.get(name)
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    allowed = f"a number in {left}{low:g}, {high:g}{right}"
    if raw is None or raw == "":
        return default
    if not FLOAT_RE.match(raw.strip()):
        raise InvalidParameter(name, f"must be {allowed}", minimum=low, maximum=high)
    value = float(raw)
    if value < low or value > high or (low_open and value == low) or (high_open and value == high):
        raise InvalidParameter(name, f"must be {allowed}, got {raw.strip()}", minimum=low, maximum=high)
    return value


def decimal_param(name: str) -> str | None:
    """An optional positive decimal given as a string (e.g. tick_size=0.5), returned as its text."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if not FLOAT_RE.match(text) or text.startswith(("-", "+")) or float(text) <= 0:
        raise InvalidParameter(name, "must be a decimal number > 0 (e.g. 0.5)")
    return text
