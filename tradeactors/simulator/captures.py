"""Where the recorded Binance captures live: ``$TRADEACTORS_CAPTURES`` if set, else ``shared/data`` beside the
checkout (as on the project's machines and in CI). Used by replay tests, the demo's ``--replay`` users and the
book benchmark."""

from __future__ import annotations

import os
from pathlib import Path

CAPTURE_2024 = "binance-spot-capture-2024-08-08"
"""BTCUSDT and ETHUSDT, ~651 s: depth@100ms, trade and bookTicker frames plus one REST snapshot per symbol."""
CAPTURE_2021 = "binance-spot-capture-2021-10-12"
"""30 s of four small symbols (cryptofeed's sample data)."""


def data_dir() -> Path:
    override = os.environ.get("TRADEACTORS_CAPTURES")
    return Path(override) if override else Path(__file__).resolve().parents[3] / "shared" / "data"


def capture_2024_files(symbol: str) -> list[Path]:
    """A symbol's 2024 capture files in replay order (the 0808 file, then 0809 which continues it)."""
    folder = data_dir() / CAPTURE_2024
    return [folder / f"spot_{symbol.lower()}_20240808.gz", folder / f"spot_{symbol.lower()}_20240809.gz"]
