"""The five analytics tools as callers use them: read a tool's window from storage, call the pure function.

Used by the QueryActor (``Analyze``) and by ``tradeactors bench query``. The volume profile and the liquidity
vacuums read per-minute rollups for the minutes wholly inside the window and raw trades at its edges
(``storage.read_price_volumes``), so a 7-day window never decodes raw trades; the book-based tools read the
window's book seconds and trades. Not enough data raises ``errors.InsufficientData`` with what is required,
what is available, since when the symbol has been collected and the estimated wait at its observed trade rate.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import numpy as np

from tradeactors import analytics, parameters, storage
from tradeactors.analytics import TickVolumes
from tradeactors.errors import InsufficientData
from tradeactors.records import BookSecond, PriceVolumes, TradeColumns
from tradeactors.storage import Database

HOUR_MS = 3_600_000
MIN_TRADES = 1000


def tick_units(db: Database, symbol: str, p_decimals: int, prices: np.ndarray) -> int:
    """The exchange tick in units of 10**-p_decimals: PRICE_FILTER.tickSize from the cached exchangeInfo, else
    the finest decimal step seen in the data (docs/analytics.md's fallback)."""
    info = storage.load_symbol_info(db, symbol)
    if info:
        try:
            units = Decimal(info["tickSize"]) * 10**p_decimals
        except (InvalidOperation, KeyError):
            units = Decimal(0)
        if units >= 1 and units == units.to_integral_value() and not (prices % int(units)).any():
            return int(units)
    step = 1
    for k in range(p_decimals, 0, -1):
        if not (prices % 10**k).any():
            step = 10**k
            break
    return step


def to_tick_volumes(pv: PriceVolumes, tick: int) -> TickVolumes:
    """Per-price sums as per-tick sums: stored prices lie on the tick grid, so each price is one tick."""
    ticks = pv.price // tick
    sell = pv.volume - pv.buy
    quote = np.empty(len(ticks), dtype=object)
    quote[:] = [t * tick * v for t, v in zip(ticks.tolist(), pv.volume.tolist())]
    return TickVolumes(ticks=ticks.astype(np.int64), volume=pv.volume, buy_volume=pv.buy, sell_volume=sell,
                       trade_count=pv.count, quote_volume=quote, first_time=pv.first_time, last_time=pv.last_time,
                       trade_total=pv.trades)


def insufficient(db: Database, symbol: str, required: int, available: int, start_ms: int, now_ms: int,
                 what: str = "aggregate trades") -> InsufficientData:
    """The shortfall with since when the symbol is collected and the estimated wait at its observed rate over
    the part of the window it covers (the pure analytics cannot say: they do not see the store)."""
    since = storage.first_trade_time(db, symbol)
    wait = None
    if since is not None and available > 0:
        covered_s = max(1.0, (now_ms - max(start_ms, since)) / 1000)
        wait = round((required - available) / (available / covered_s))
    return InsufficientData(required, available, what, collecting_since=since, estimated_wait_seconds=wait)


def _profile_input(db: Database, symbol: str, start_ms: int, end_ms: int) -> tuple[PriceVolumes, int, TickVolumes]:
    pv = storage.read_price_volumes(db, symbol, start_ms, end_ms)
    if pv is None or pv.trades < MIN_TRADES:
        raise insufficient(db, symbol, MIN_TRADES, 0 if pv is None else pv.trades, start_ms, end_ms)
    tick = tick_units(db, symbol, pv.p_decimals, pv.price)
    return pv, tick, to_tick_volumes(pv, tick)


def volume_profile_from_store(db: Database, symbol: str, start_ms: int, end_ms: int,
                              tick_size: str | float | Decimal | None = None,
                              value_area_pct: float | str | Decimal | Fraction = parameters.VALUE_AREA_PCT.default,
                              ) -> dict[str, Any]:
    pv, tick, tv = _profile_input(db, symbol, start_ms, end_ms)
    return analytics.volume_profile(tv, symbol=symbol, tick=tick, p_decimals=pv.p_decimals,
                                    q_decimals=pv.q_decimals, tick_size=tick_size, value_area_pct=value_area_pct,
                                    min_trades=MIN_TRADES)


def volume_profile(db: Database, symbol: str, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    start = now_ms - params["duration_hours"] * HOUR_MS
    return volume_profile_from_store(db, symbol, start, now_ms, tick_size=params["tick_size"],
                                     value_area_pct=params["value_area_pct"])


def liquidity_vacuums(db: Database, symbol: str, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    start = now_ms - params["duration_hours"] * HOUR_MS
    pv, tick, tv = _profile_input(db, symbol, start, now_ms)
    return analytics.liquidity_vacuums(tv, symbol=symbol, tick=tick, p_decimals=pv.p_decimals,
                                       q_decimals=pv.q_decimals, detection_timestamp=now_ms,
                                       tick_size=params["tick_size"],
                                       threshold_ratio=params["threshold_ratio"], min_trades=MIN_TRADES)


def _window(db: Database, symbol: str, seconds: int, now_ms: int) -> tuple[int, list[BookSecond], TradeColumns]:
    """The book seconds and trades of the last ``seconds``; at least two book seconds or InsufficientData."""
    start = now_ms - seconds * 1000
    books = storage.read_book_seconds(db, symbol, start // 1000, now_ms // 1000)
    if len(books) < 2:
        raise insufficient(db, symbol, 2, len(books), start, now_ms, "book seconds")
    return start, books, storage.read_columns(db, symbol, start, now_ms)


def order_flow(db: Database, symbol: str, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    start, books, trades = _window(db, symbol, params["window_duration_secs"], now_ms)
    return analytics.order_flow(books, trades, symbol=symbol, window_start_ms=start, window_end_ms=now_ms,
                                depth_levels=params["depth_levels"])


def microstructure_health(db: Database, symbol: str, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The window against the ``baseline_minutes`` before it (the symbol's own normal)."""
    start, books, trades = _window(db, symbol, params["window_duration_secs"], now_ms)
    minutes = params["baseline_minutes"]
    baseline = storage.read_book_seconds(db, symbol, (start - minutes * 60_000) // 1000, start // 1000 - 1)
    info = storage.load_symbol_info(db, symbol) or {}
    return analytics.microstructure_health(books, baseline, trades, symbol=symbol, now_ms=now_ms,
                                           window_start_ms=start, window_end_ms=now_ms,
                                           tick_size=info.get("tickSize"))


def market_anomalies(db: Database, symbol: str, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Fewer than two book seconds is not an error here: the answer says ``insufficient_data: true``."""
    start = now_ms - params["window_duration_secs"] * 1000
    minutes = params["baseline_minutes"]
    books = storage.read_book_seconds(db, symbol, start // 1000, now_ms // 1000)
    baseline = storage.read_book_seconds(db, symbol, (start - minutes * 60_000) // 1000, start // 1000 - 1)
    trades = storage.read_columns(db, symbol, start, now_ms)
    info = storage.load_symbol_info(db, symbol) or {}
    return analytics.detect_market_anomalies(books, baseline, trades, symbol=symbol, now_ms=now_ms,
                                             window_start_ms=start, window_end_ms=now_ms, baseline_minutes=minutes,
                                             tick_size=info.get("tickSize"))


TOOLS = {
    "volume_profile": volume_profile,
    "liquidity_vacuums": liquidity_vacuums,
    "order_flow": order_flow,
    "microstructure_health": microstructure_health,
    "market_anomalies": market_anomalies,
}


def run(db: Database, tool: str, symbol: str, params: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """``params`` as the API takes them (``parameters.TOOLS``); those left out take the API's defaults."""
    try:
        handler = TOOLS[tool]
    except KeyError:
        raise ValueError(f"unknown analytics tool {tool!r}") from None
    return handler(db, symbol, {**parameters.defaults(parameters.TOOLS[tool]), **params}, now_ms)
