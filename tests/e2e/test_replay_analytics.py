"""The real 2024 capture replayed live and looped through the real service: nothing lost or duplicated across the
seam, times of now, and ``order_flow`` on the stored book seconds equal to an independent OFI oracle."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal

import numpy as np
import pytest

from tests.analytics import oracle
from tests.conftest import service_config
from tests.e2e.test_completeness import FAST, assert_complete
from tests.helpers import wait_for
from tradeactors import storage, tools
from tradeactors.service import Service
from tradeactors.simulator import Simulator, captures

SYMBOLS = ("BTCUSDT", "ETHUSDT")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """A looped live replay of both symbols' first capture file at 30x, recorded until well into its second
    pass, then paused: (simulator, service, wall-clock ms when the replay started)."""
    files = [str(captures.capture_2024_files(s)[0]) for s in SYMBOLS]
    sim = Simulator(replay=files, replay_speed=30.0, replay_live=True, replay_loop=True).start()
    service = Service(service_config(tmp_path_factory.mktemp("replay"), sim, **FAST))
    began = time.time() * 1000
    service.start()
    try:
        def into_second_pass():
            replay = sim.state()["replay"]
            return all(replay[s]["loop"] >= 1 and replay[s]["position"] > replay[s]["events"] // 3 for s in SYMBOLS)

        wait_for(into_second_pass, timeout=60, interval=0.2, message="the replay 1/3 into its second pass")
        for symbol in SYMBOLS:  # the seam's gap was handled as a re-sync and the book is synced again
            wait_for(lambda s=symbol: service.status()["symbols"][s]["book"]["resyncs"] >= 1
                     and service.status()["symbols"][s]["book"]["state"] == "synced", timeout=20,
                     message=f"{symbol} re-synced after the seam")
        # receiving, then the market paused and every published id stored exactly once (the completeness
        # tests' own check)
        assert_complete(service, sim, symbols=SYMBOLS)
        yield sim, service, began
    finally:
        service.stop()
        sim.stop()


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_a_looped_live_replay_is_recorded_without_loss_or_duplicate_at_times_of_now(replayed, symbol):
    sim, service, began = replayed
    published = np.asarray(sim.published_ids(symbol))
    stored = storage.trade_ids(service.db, symbol)
    assert stored.tolist() == published[published >= stored[0]].tolist()
    span = sim.state()["replay"][symbol]["id_steps"]["aggregate"]
    assert stored[-1] - stored[0] > span  # the seam is inside what was stored
    columns = storage.read_columns(service.db, symbol, 0, 10**13 - 1)
    now = time.time() * 1000
    assert began - 5_000 <= columns.T.min() and columns.T.max() <= now + 5_000
    books = storage.read_book_seconds(service.db, symbol, 0, 9_999_999_998)
    assert all(b.update_id > a.update_id and b.second > a.second for a, b in itertools.pairwise(books))
    assert began // 1000 - 5 <= books[0].second and books[-1].second <= now // 1000 + 5


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_order_flow_equals_the_cont_kukanov_stoikov_oracle_on_the_stored_book_seconds(replayed, symbol):
    _sim, service, _began = replayed
    body = service.analyze("order_flow", symbol, {"window_duration_secs": 300, "depth_levels": 20})
    ends = [body["time_window_end"]]
    seconds = [b.second for b in storage.read_book_seconds(service.db, symbol, 0, 9_999_999_998)]
    assert len(seconds) >= 12
    # and windows ending all along the recording (the seam's included), in-process
    ends += [seconds[i] * 1000 + 999 for i in np.linspace(2, len(seconds) - 1, 5).astype(int).tolist()]
    checked = 0
    for end in ends:
        for window, levels in ((300, 20), (30, 5), (10, 1)):
            result = body if (end, window, levels) == (ends[0], 300, 20) else tools.run(
                service.db, "order_flow", symbol, {"window_duration_secs": window, "depth_levels": levels}, end)
            start = result["time_window_start"]
            books = storage.read_book_seconds(service.db, symbol, start // 1000, end // 1000)
            assert result["snapshot_count"] == len(books) >= 2
            assert Decimal(result["ofi"]) == oracle.ofi(books)
            assert result["depth_imbalance"] == pytest.approx(oracle.depth_imbalance(books[-1], levels), abs=1e-12)
            assert result["depth_imbalance_avg"] == pytest.approx(
                oracle.depth_imbalance_time_weighted(books, levels), abs=1e-12)
            checked += 1
    assert checked == 18
    assert Decimal(body["ofi"]) != 0  # a real, moving book: the comparison is not 0 == 0
