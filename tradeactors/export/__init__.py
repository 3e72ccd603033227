"""Export of the stored history to files for notebooks and other tools: ``tradeactors export`` and the service's
``GET /api/trades.parquet``.

- ``arrow``: the Arrow schemas (decimal128 prices and quantities at the range's scale, UTC timestamps, int64 ids)
  and the conversion of stored trades and book seconds into record batches; pure code;
- ``parquet``: Parquet written row group by row group, to a file or as a stream of bytes (HTTP);
- ``csvfile``: the two CSV layouts, ours and Binance's public aggTrades files';
- ``sources``: where the rows come from: a data directory (a RocksDB secondary beside the running service) or a
  running service's HTTP API;
- ``cli``: ``tradeactors export``.

The file formats are documented in ``docs/export.md``.
"""
