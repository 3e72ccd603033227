"""The five analytics tools of docs/analytics.md as pure functions over numpy columns and book seconds.

No I/O, no actors, no Flask, no clocks: the handlers fetch the window (trades as ``records.TradeColumns``, book
seconds as ``records.BookSecond``), pass the current time in, and turn the returned JSON-ready dicts into responses.

The volume profile is split in two stages so that per-minute rollups give identical results:
``tick_volumes`` (trades → per-tick sums) and ``merge_tick_volumes`` feed ``volume_profile`` and
``liquidity_vacuums``.

Too little data raises ``errors.InsufficientData``, re-exported here because callers have always imported it from
this package; bad arguments raise ``errors.InvalidParameter``.
"""

from __future__ import annotations

from tradeactors.analytics.anomalies import detect_market_anomalies
from tradeactors.analytics.health import microstructure_health
from tradeactors.analytics.orderflow import order_flow
from tradeactors.analytics.profile import (
    TickVolumes,
    bin_size_ticks,
    merge_tick_volumes,
    tick_volumes,
    volume_profile,
)
from tradeactors.analytics.vacuums import liquidity_vacuums
from tradeactors.errors import InsufficientData

__all__ = [
    "InsufficientData", "TickVolumes", "bin_size_ticks", "detect_market_anomalies", "liquidity_vacuums",
    "merge_tick_volumes", "microstructure_health", "order_flow", "tick_volumes", "volume_profile",
]
