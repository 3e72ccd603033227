"""tradeactors: records Binance spot market data into RocksDB and answers analytics over it."""

__version__ = "0.1.0"
