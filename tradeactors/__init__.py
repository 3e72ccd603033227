"""tradeactors: records Binance spot market data into RocksDB and answers analytics over it.

The public API, for callers in the same process (notebooks, analytics code, tests)::

    import tradeactors

    config = tradeactors.load_config(overrides={"symbols": "BTCUSDT", "data_dir": "./data"})
    service = tradeactors.Service(config)
    service.start()
    page = service.ask("query", tradeactors.QueryTrades("BTCUSDT", start_ms, end_ms, limit=1000))
    columns = service.ask("query", tradeactors.QueryTradeColumns("BTCUSDT", start_ms, end_ms))
    profile = service.analyze("volume_profile", "BTCUSDT", {"duration_hours": 24})
    service.stop()

Everything else is internal and may change. Names are imported on first use, so that ``import tradeactors`` (and
every ``tradeactors`` command, the simulator's among them) does not load the service's dependencies it does not
need. The package logs through ``logging.getLogger("tradeactors")`` and adds no handler but a ``NullHandler``:
the application decides where log lines go (``tradeactors start`` logs to stdout).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from tradeactors._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS = {
    "Service": "tradeactors.service",
    "Config": "tradeactors.config",
    "ConfigError": "tradeactors.config",
    "load_config": ("tradeactors.config", "load"),
    "QueryTrades": "tradeactors.actors.messages",
    "QueryTradeColumns": "tradeactors.actors.messages",
    "QueryBookSeconds": "tradeactors.actors.messages",
    "Analyze": "tradeactors.actors.messages",
    "TradePage": "tradeactors.actors.query",
    "AggTrade": "tradeactors.protocol",
    "TradeColumns": "tradeactors.records",
    "BookSecond": "tradeactors.records",
    "InvalidParameter": "tradeactors.errors",
    "UnknownSymbol": "tradeactors.errors",
    "Unavailable": "tradeactors.errors",
    "InsufficientData": "tradeactors.errors",
}
"""Public name -> the module that defines it (or (module, name there))."""

__all__ = [
    "AggTrade", "Analyze", "BookSecond", "Config", "ConfigError", "InsufficientData", "InvalidParameter",
    "QueryBookSeconds", "QueryTradeColumns", "QueryTrades", "Service", "TradeColumns", "TradePage", "Unavailable",
    "UnknownSymbol", "__version__", "load_config",
]

if TYPE_CHECKING:
    from tradeactors.actors.messages import Analyze, QueryBookSeconds, QueryTradeColumns, QueryTrades
    from tradeactors.actors.query import TradePage
    from tradeactors.config import Config, ConfigError
    from tradeactors.config import load as load_config
    from tradeactors.errors import InsufficientData, InvalidParameter, Unavailable, UnknownSymbol
    from tradeactors.protocol import AggTrade
    from tradeactors.records import BookSecond, TradeColumns
    from tradeactors.service import Service


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'tradeactors' has no attribute {name!r}")
    module, attribute = target if isinstance(target, tuple) else (target, name)
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value
