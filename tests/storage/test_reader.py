"""Range reads against a real RocksDB in a temp dir: seek and stop, exact ranges, paging that never skips a
trade (also through a running service), columns at one scale."""

import contextlib
import tempfile
import time

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import BASE_T, storage_status, trades
from tradeactors import storage
from tradeactors.protocol import AggTrade
from tradeactors.storage import Database, keys


def test_range_reads_are_inclusive_and_exact(db):
    writer = storage.TradeWriter(db, ["BTCUSDT", "ETHUSDT"])
    writer.write("BTCUSDT", trades(1, 100))  # T = BASE_T + (a-1)*100
    writer.write("ETHUSDT", trades(1, 100))
    start, end = BASE_T + 1050, BASE_T + 3000
    got, _ = storage.read_trades(db, "BTCUSDT", start, end)
    assert [t.a for t in got] == [a for a in range(1, 101) if start <= BASE_T + (a - 1) * 100 <= end]


def scanned_keys(db, monkeypatch) -> list[bytes]:
    """Every key the database's scans yield from now on, in order."""
    seen = []
    real_scan = db.scan

    def counting_scan(cf, start, stop):
        for item in real_scan(cf, start, stop):
            seen.append(item[0])
            yield item

    monkeypatch.setattr(db, "scan", counting_scan)
    return seen


def test_reads_seek_instead_of_scanning_from_the_start(db, monkeypatch):
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", trades(1, 1000))  # 100 s of trades, 100 chunks
    seen = scanned_keys(db, monkeypatch)
    storage.read_trades(db, "BTCUSDT", BASE_T + 50_000, BASE_T + 52_999)
    assert len(seen) == 3
    assert keys.trade_key_time(seen[0]) == BASE_T + 50_000


def test_paging_with_a_cursor_returns_every_trade_once(db):
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", trades(1, 95, step_ms=7))
    got, cursor = [], None
    while True:
        page, cursor = storage.read_trades(db, "BTCUSDT", 0, 10**13 - 1, limit=10, after=cursor)
        got.extend(page)
        if cursor is None:
            break
    assert [t.a for t in got] == list(range(1, 96))


def test_a_page_reads_on_through_its_last_second_and_stops_at_the_next(db, monkeypatch):
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", trades(1, 1000))  # 100 s of trades, 100 chunks of 10
    seen = scanned_keys(db, monkeypatch)
    page, cursor = storage.read_trades(db, "BTCUSDT", BASE_T + 50_000, 10**13 - 1, limit=5)
    assert [t.a for t in page] == [501, 502, 503, 504, 505] and cursor == (BASE_T + 50_400, 505)
    # The limit is reached in the 50th second; its last chunk may be followed by another of the same second, so
    # the next key is looked at (not decoded) and, being a later second, ends the read.
    assert [keys.trade_key_time(key) for key in seen] == [BASE_T + 50_000, BASE_T + 51_000]


# --- paging: a page is exactly the ``limit`` smallest ids above the cursor -----------------------------------
# Ids are assigned in trade-time order, but a backfilled chunk is written after, and keyed after, a live chunk
# of the same second that already holds higher ids. Paging must not step over it.

def trade(a: int, t: int) -> AggTrade:
    return AggTrade(a, f"{60000 + a % 7}.01000000", "0.00100000", a, a, t, a % 2 == 0)


def one_second_scenario(t0: int = BASE_T) -> tuple[list[list[AggTrade]], list[int]]:
    """Live 100-110 and 115-120 in one flush (one chunk), then 111-114 backfilled into the same second."""
    at = {a: trade(a, t0 + (a - 100) * 10) for a in range(100, 121)}
    live = [at[a] for a in [*range(100, 111), *range(115, 121)]]
    return [live, [at[a] for a in range(111, 115)]], list(range(100, 121))


def several_seconds_scenario(t0: int = BASE_T) -> tuple[list[list[AggTrade]], list[int]]:
    """100-106, 107-113 and 114-120 in three seconds; live in one flush without 109-111, which are backfilled
    into the middle second later (their chunk is keyed after the live chunk 107, 108, 112, 113 of that second)."""
    at = {a: trade(a, t0 + (a - 100) // 7 * 1000 + (a - 100) % 7 * 100) for a in range(100, 121)}
    live = [at[a] for a in range(100, 121) if not 109 <= a <= 111]
    return [live, [at[a] for a in range(109, 112)]], list(range(100, 121))


SCENARIOS = {"one_second": one_second_scenario, "several_seconds": several_seconds_scenario}


def page_through(read_page, limit: int) -> list[list[int]]:
    """Every page's ids, following the cursor until it is None. ``read_page(limit, after)`` -> (ids, cursor)."""
    pages, cursor = [], None
    while True:
        ids, cursor = read_page(limit, cursor)
        pages.append(ids)
        if cursor is None:
            return pages
        assert len(pages) <= 200, "paging does not end"


def assert_pages_exact(pages: list[list[int]], expected: list[int], limit: int) -> None:
    assert [a for page in pages for a in page] == expected, f"limit {limit}"
    assert all(len(page) == limit for page in pages[:-1]) and len(pages[-1]) <= limit, f"limit {limit}: {pages}"


def db_pages(db, symbol, start, end):
    def read_page(limit, after):
        page, cursor = storage.read_trades(db, symbol, start, end, limit=limit, after=after)
        return [t.a for t in page], cursor
    return read_page


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_paging_never_skips_a_trade_backfilled_behind_a_live_chunk_of_its_second(db, scenario):
    writes, expected = SCENARIOS[scenario]()
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    for batch in writes:
        assert writer.write("BTCUSDT", batch)[0] == len(batch)
    everything, cursor = storage.read_trades(db, "BTCUSDT", 0, 10**13 - 1)
    assert [t.a for t in everything] == expected and cursor is None
    for limit in range(1, 26):
        assert_pages_exact(page_through(db_pages(db, "BTCUSDT", 0, 10**13 - 1), limit), expected, limit)


@st.composite
def live_and_backfilled(draw):
    """(writes in order, [(id, T)] of all trades): ids (with holes) in trade-time order over a few seconds,
    several trades a second; live flushes in id order, then backfills of random subsets into those seconds, in
    any order."""
    seconds = draw(st.lists(st.lists(st.integers(0, 999), min_size=1, max_size=10), min_size=1, max_size=4))
    times, second = [], BASE_T
    for offsets in seconds:
        times += [second + ms for ms in sorted(offsets)]
        second += 1000 * draw(st.integers(1, 3))
    a, ids = 1_000, []
    for _ in times:
        a += draw(st.sampled_from([1, 1, 1, 2, 5]))
        ids.append(a)
    all_trades = [trade(a, t) for a, t in zip(ids, times)]
    backfilled = draw(st.lists(st.sampled_from([False, False, True]), min_size=len(ids), max_size=len(ids)))
    live = [x for x, b in zip(all_trades, backfilled) if not b]
    late = [x for x, b in zip(all_trades, backfilled) if b]
    writes = []
    for part in (live, late):
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(part) - 1)), max_size=2))) if len(part) > 1 else []
        groups = [part[lo:hi] for lo, hi in zip([0, *cuts], [*cuts, len(part)]) if part[lo:hi]]
        if part is late:
            groups = draw(st.permutations(groups))
        writes += groups
    return writes, [(x.a, x.T) for x in all_trades]


@contextlib.contextmanager
def written(writes):
    """A fresh database in a temp dir holding ``writes`` (batches of BTCUSDT trades, in order), closed after."""
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"{folder}/analytics")
        try:
            writer = storage.TradeWriter(db, ["BTCUSDT"])
            for batch in writes:
                writer.write("BTCUSDT", batch)
            yield db
        finally:
            db.close()


@settings(max_examples=100, deadline=None)
@given(case=live_and_backfilled(), window=st.tuples(st.integers(0, 100), st.integers(0, 100)),
       pad=st.tuples(st.integers(-1, 1), st.integers(-1, 1)))
def test_property_pages_hold_every_id_in_range_exactly_once_in_id_order(case, window, pad):
    writes, id_times = case
    lo, hi = sorted(i * (len(id_times) - 1) // 100 for i in window)
    start, end = id_times[lo][1] + pad[0], id_times[hi][1] + pad[1]
    expected = [a for a, t in id_times if start <= t <= end]
    with written(writes) as db:
        for limit in range(1, len(expected) + 2):
            assert_pages_exact(page_through(db_pages(db, "BTCUSDT", start, end), limit), expected, limit)


@settings(max_examples=40, deadline=None)
@given(case=live_and_backfilled(), window=st.tuples(st.integers(0, 100), st.integers(0, 100)))
def test_property_trade_batches_cut_between_seconds_hold_every_id_once_in_id_order(case, window):
    """``read_trade_batch`` (exports): consecutive batches of whole seconds, backfilled chunks included, give
    the range's ids in order, whatever the batch size."""
    writes, id_times = case
    lo, hi = sorted(i * (len(id_times) - 1) // 100 for i in window)
    start, end = id_times[lo][1], id_times[hi][1]
    expected = [a for a, t in id_times if start <= t <= end]
    with written(writes) as db:
        for min_rows in range(1, len(expected) + 2):
            got, begin = [], start
            while begin is not None:
                columns, begin = storage.read_trade_batch(db, "BTCUSDT", begin, end, min_rows)
                assert begin is None or len(columns) >= min_rows
                got += columns.a.tolist()
            assert got == expected, min_rows
        assert storage.trade_decimals(db, "BTCUSDT", start, end) == (8, 8)


def test_a_batch_of_chunks_with_different_decimals_keeps_the_strings_as_stored(db):
    writer = storage.TradeWriter(db, ["BTCUSDT", "ETHUSDT"])
    writer.write("BTCUSDT", [AggTrade(1, "100.5", "2", 1, 1, BASE_T, True)])
    writer.write("BTCUSDT", [AggTrade(2, "100.25000000", "0.10000000", 2, 2, BASE_T + 1000, False)])
    columns, cursor = storage.read_trade_batch(db, "BTCUSDT", 0, 10**13 - 1, 10)
    assert cursor is None and not columns.exact
    assert (columns.prices(), columns.quantities()) == (["100.5", "100.25000000"], ["2", "0.10000000"])
    assert columns.p.tolist() == [10050000000, 10025000000] and columns.p_decimals == 8
    assert storage.trade_decimals(db, "BTCUSDT", 0, 10**13 - 1) == (8, 8)
    assert storage.trade_decimals(db, "BTCUSDT", 0, BASE_T) == (1, 0)
    assert storage.trade_decimals(db, "BTCUSDT", 0, BASE_T - 1000) is None
    assert storage.stored_symbols(db) == ["BTCUSDT"]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_paging_the_running_service_never_skips_a_trade_over_http_or_the_python_api(tmp_path, sim, service_factory,
                                                                                   scenario):
    from tests.conftest import service_config
    from tests.helpers import wait_for
    from tradeactors.actors.messages import QueryTrades

    # The scenario's seconds an hour ago: within retention, and before any trade of the simulator, whose live
    # trades (ids from 100,000,000) the service records beside them in the same database while it is paged.
    t0 = (int(time.time()) - 3600) * 1000
    writes, expected = SCENARIOS[scenario](t0)
    db = Database(service_config(tmp_path, sim).db_path)
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    for batch in writes:
        writer.write("BTCUSDT", batch)
    db.close()
    service = service_factory()
    wait_for(lambda: storage_status(service)["stored_ids"]["BTCUSDT"][-1][1] >= 100_000_000, timeout=20,
             message="live BTCUSDT trades stored")
    start, end = t0 - 10_000, t0 + 10_000

    def ask_pages(limit, after):
        page = service.ask("query", QueryTrades("BTCUSDT", start, end, limit=limit, after=after))
        return [t.a for t in page.trades], page.next_cursor

    def api_pages(limit, after):
        page = service.query_trades("BTCUSDT", start, end, limit=limit, after=after)
        return [t.a for t in page.trades], page.next_cursor

    http = requests.Session()

    def http_pages(limit, cursor):
        params = {"symbol": "BTCUSDT", "start": start, "end": end, "limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = http.get(f"{service.http.url}/api/trades", params=params, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        trades_ = body["trades"]
        assert body["count"] == len(trades_)
        if body["next_cursor"] is not None:  # the cursor stays "T:a" of the page's last trade
            assert body["next_cursor"] == f"{trades_[-1]['T']}:{trades_[-1]['a']}"
        return [t["a"] for t in trades_], body["next_cursor"]

    try:
        for limit in range(1, 26):
            for read_page in (ask_pages, api_pages, http_pages):
                assert_pages_exact(page_through(read_page, limit), expected, limit)
    finally:
        http.close()


def test_columns_concatenate_chunks_with_one_scale(db):
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", [AggTrade(1, "1.5", "2", 1, 1, BASE_T, True)])
    writer.write("BTCUSDT", [AggTrade(2, "1.25", "0.001", 2, 2, BASE_T + 1000, False),
                             AggTrade(3, "1.250", "0.0010", 3, 3, BASE_T + 1001, False)])  # mixed: rows format
    cols = storage.read_columns(db, "BTCUSDT", 0, 10**13 - 1)
    assert cols.a.tolist() == [1, 2, 3]
    assert cols.p_decimals == 3 and cols.p.tolist() == [1500, 1250, 1250]
    assert cols.q_decimals == 4 and cols.q.tolist() == [20000, 10, 10]
    assert cols.m.tolist() == [True, False, False]


def test_query_actor_answers_columns_and_validates(service_factory):
    import numpy as np

    from tests.helpers import wait_for
    from tradeactors.actors.messages import QueryTradeColumns
    from tradeactors.errors import InvalidParameter, UnknownSymbol

    service = service_factory()
    wait_for(lambda: len(storage.trade_ids(service.db, "BTCUSDT")) > 10, timeout=20, message="trades")
    now = int(time.time() * 1000)
    cols = service.ask("query", QueryTradeColumns("BTCUSDT", now - 3_600_000, now + 60_000))
    assert len(cols) > 10 and (np.diff(cols.a) == 1).all() and cols.p.dtype == np.int64
    with pytest.raises(UnknownSymbol):
        service.ask("query", QueryTradeColumns("DOGEUSDT", 0, 1))
    with pytest.raises(InvalidParameter):
        service.ask("query", QueryTradeColumns("BTCUSDT", 0, 604_800_001))



def test_recent_trades_are_the_id_span_from_the_first_chunk_since_then_to_the_last_stored(db):
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", trades(1000, 600, t0=BASE_T, step_ms=1000))  # one trade a second for 10 minutes
    assert storage.recent_trade_count(db, "BTCUSDT", BASE_T + 300_000) == 300
    assert storage.recent_trade_count(db, "BTCUSDT", BASE_T - 60_000) == 600
    assert storage.recent_trade_count(db, "BTCUSDT", BASE_T + 700_000) == 0  # nothing since
    assert storage.recent_trade_count(db, "ETHUSDT", BASE_T) == 0  # never stored
