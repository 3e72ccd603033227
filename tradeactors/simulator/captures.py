"""Where the recorded Binance captures live: ``capture_data/`` inside this package, shipped as package data, so
a fresh clone and an installed package both have them and nothing outside the package is read. Used by the
replay tests, ``tradeactors simulate --replay`` users and the book benchmark. Sources, licenses and contents:
``capture_data/README.md``."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "capture_data"
"""The captures shipped with the package."""

CAPTURE_2024 = "binance-spot-capture-2024-08-08"
"""BTCUSDT and ETHUSDT, ~651 s: depth@100ms, trade and bookTicker frames plus one REST snapshot per symbol."""
CAPTURE_2021 = "binance-spot-capture-2021-10-12"
"""30 s of four small symbols (cryptofeed's sample data)."""


def data_dir() -> Path:
    """The folder that holds the capture folders (the package's own)."""
    return PACKAGE_DATA


def capture_2024_files(symbol: str) -> list[Path]:
    """A symbol's 2024 capture files in replay order (the 0808 file, then 0809 which continues it)."""
    folder = data_dir() / CAPTURE_2024
    return [folder / f"spot_{symbol.lower()}_20240808.gz", folder / f"spot_{symbol.lower()}_20240809.gz"]
