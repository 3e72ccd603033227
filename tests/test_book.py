"""The local order book (``tradeactors.book.OrderBook``): exact integer levels, best-first views, rescaling to more
decimals and the snapshot's unknown boundary; rules on tiny hand-made books, and properties against a naive
Decimal reference."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeactors.book import OrderBook

# --- OrderBook ------------------------------------------------------------------------------------------------


def test_quantity_zero_removes_a_level_and_any_other_quantity_sets_it():
    book = OrderBook.from_snapshot(1, [["10.00", "1.00"], ["9.00", "2.00"]], [["11.00", "3.00"]])
    book.apply([["10.00", "0.00"], ["9.50", "4.00"]], [["11.00", "5.00"], ["12.00", "0.00"]], 2)
    assert book.top(10) == ([("9.50", "4.00"), ("9.00", "2.00")], [("11.00", "5.00")])
    assert book.update_id == 2 and len(book) == 3


def test_best_bid_and_ask_come_back_exactly_as_binance_formats_them():
    book = OrderBook.from_snapshot(1, [["61234.56000000", "0.01230000"]], [["61234.57000000", "1.00000000"]])
    assert book.best_bid() == ("61234.56000000", "0.01230000")
    assert book.best_ask() == ("61234.57000000", "1.00000000")


def test_an_empty_side_has_no_best_level():
    book = OrderBook.from_snapshot(1, [], [["1.0", "1.0"]])
    assert book.best_bid() is None and book.best_ask() == ("1.0", "1.0") and not book.is_crossed()


def test_top_lists_bids_descending_and_asks_ascending_best_first():
    bids = [[f"{p}.00", "1.00"] for p in (5, 9, 7, 8, 6)]
    asks = [[f"{p}.00", "1.00"] for p in (14, 10, 12, 11, 13)]
    top_bids, top_asks = OrderBook.from_snapshot(1, bids, asks).top(3)
    assert [p for p, _ in top_bids] == ["9.00", "8.00", "7.00"]
    assert [p for p, _ in top_asks] == ["10.00", "11.00", "12.00"]


def test_top_scaled_gives_int64_price_qty_rows_and_their_decimals():
    book = OrderBook.from_snapshot(1, [["10.50", "1.250"], ["10.25", "2.000"]], [["11.00", "0.001"]])
    bids, asks, price_decimals, qty_decimals = book.top_scaled(5)
    assert (price_decimals, qty_decimals) == (2, 3)
    assert bids.dtype == np.int64 and bids.tolist() == [[1050, 1250], [1025, 2000]]
    assert asks.tolist() == [[1100, 1]]
    empty = OrderBook.from_snapshot(1, [], []).top_scaled(5)
    assert empty[0].shape == (0, 2) and empty[1].shape == (0, 2)


def test_a_string_with_more_decimals_rescales_the_whole_book_exactly():
    book = OrderBook.from_snapshot(1, [["10.5", "1.5"]], [["11.5", "2"]])
    book.apply([["10.25", "0.125"]], [], 2)
    assert (book.price_decimals, book.qty_decimals) == (2, 3)
    assert book.top(5) == ([("10.50", "1.500"), ("10.25", "0.125")], [("11.50", "2.000")])
    book.apply([], [["11.50", "0"]], 3)  # the same level written with other decimals still removes it
    assert book.best_ask() is None


def test_strings_with_fewer_decimals_come_back_at_the_books_scale():
    book = OrderBook.from_snapshot(1, [["10.00000000", "1.00000000"]], [])
    book.apply([["9.5", "2"], ["10", "0.0"]], [], 2)
    assert book.top(5) == ([("9.50000000", "2.00000000")], [])


def test_an_unusually_written_zero_quantity_still_removes_the_level():
    book = OrderBook.from_snapshot(1, [["10.00", "1.00"]], [])
    book.apply([["10.00", "00.00"]], [], 2)
    assert len(book) == 0


def test_removing_a_level_that_is_not_there_changes_nothing():
    book = OrderBook.from_snapshot(1, [["10.00", "1.00"]], [])
    book.apply([["9.00", "0.00"]], [["12.00", "0.00"]], 2)
    assert book.top(5) == ([("10.00", "1.00")], [])


def test_the_book_is_crossed_when_the_best_bid_reaches_the_best_ask():
    book = OrderBook.from_snapshot(1, [["10.00", "1.00"]], [["11.00", "1.00"]])
    assert not book.is_crossed()
    book.apply([["11.00", "1.00"]], [], 2)
    assert book.is_crossed()


def test_a_full_snapshot_side_bounds_the_known_levels_and_prune_drops_levels_beyond():
    bids = [[f"{p}.00", "1.00"] for p in (10, 9, 8)]
    asks = [[f"{p}.00", "1.00"] for p in (11, 12)]
    book = OrderBook.from_snapshot(1, bids, asks, depth_limit=3)
    assert book.is_bounded("bids") and not book.is_bounded("asks")
    assert (book.known_levels("bids"), book.known_levels("asks")) == (3, 2)
    book.apply([["7.00", "1.00"], ["10.00", "0.00"], ["9.50", "2.00"]], [["20.00", "1.00"]], 2)
    assert (book.known_levels("bids"), book.known_levels("asks")) == (3, 3)
    assert book.prune_unknown() == 1
    assert book.top(10)[0] == [("9.50", "2.00"), ("9.00", "1.00"), ("8.00", "1.00")]
    assert book.prune_unknown() == 0


def test_from_snapshot_rejects_a_level_that_is_not_two_decimal_strings():
    for bad in ([["10.00"]], [[10.0, "1.00"]], [["1e5", "1.00"]], [["10.00", " 1"]]):
        with pytest.raises(ValueError):
            OrderBook.from_snapshot(1, bad, [])


def test_the_lazy_heap_stays_bounded_when_levels_come_and_go():
    book = OrderBook.from_snapshot(1, [["1.00", "1.00"]], [["1000.00", "1.00"]])
    for n in range(5000):
        price = f"{2 + n % 500}.00"
        book.apply([[price, "1.00"]], [], n)
        book.apply([[price, "0.00"]], [], n)
    assert len(book._heaps[0]) <= 2 * len(book) + 64
    assert book.best_bid() == ("1.00", "1.00")


# --- properties -----------------------------------------------------------------------------------------------

PRICES = [Decimal(n) / 4 for n in range(1, 41)]  # 0.25 .. 10.00


def _text(value: Decimal, decimals: int) -> str:
    return f"{value:.{decimals}f}"


level_changes = st.lists(st.tuples(
    st.sampled_from(PRICES), st.integers(0, 3).map(lambda n: Decimal(n) / 2), st.integers(2, 4),
    st.integers(1, 3)), max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(level_changes, level_changes), min_size=1, max_size=25), st.integers(1, 6))
def test_random_diffs_leave_the_same_levels_as_a_decimal_reference(diffs, n):
    book = OrderBook.from_snapshot(0, [], [])
    reference: list[dict[Decimal, Decimal]] = [{}, {}]
    price_decimals = qty_decimals = 0
    for update_id, sides in enumerate(diffs, 1):
        wire = []
        for index, changes in enumerate(sides):
            levels = []
            for price, qty, pd, qd in changes:
                levels.append([_text(price, pd), _text(qty, qd)])
                price_decimals, qty_decimals = max(price_decimals, pd), max(qty_decimals, qd)
                if qty:
                    reference[index][price] = qty
                else:
                    reference[index].pop(price, None)
            wire.append(levels)
        book.apply(wire[0], wire[1], update_id)

        def expected(index: int, count: int, pd: int = price_decimals, qd: int = qty_decimals) -> list[tuple[str, str]]:
            prices = sorted(reference[index], reverse=index == 0)[:count]
            return [(_text(p, pd), _text(reference[index][p], qd)) for p in prices]

        assert book.top(n) == (expected(0, n), expected(1, n))
        assert book.best_bid() == (expected(0, 1) or [None])[0]
        assert book.best_ask() == (expected(1, 1) or [None])[0]
        assert len(book) == len(reference[0]) + len(reference[1])
        bids, _asks, pd, qd = book.top_scaled(n)
        assert [[Decimal(int(p)).scaleb(-pd), Decimal(int(q)).scaleb(-qd)] for p, q in bids] == \
            [[Decimal(p), Decimal(q)] for p, q in expected(0, n)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**12), st.integers(0, 12), st.integers(1, 10**9), st.integers(0, 12)),
                min_size=1, max_size=20))
def test_rescaling_to_more_decimals_is_exact(levels):
    book = OrderBook.from_snapshot(0, [], [])
    reference: dict[Decimal, Decimal] = {}
    for update_id, (price, pd, qty, qd) in enumerate(levels, 1):
        p, q = Decimal(price).scaleb(-pd), Decimal(qty).scaleb(-qd)
        book.apply([[_text(p, pd), _text(q, qd)]], [], update_id)
        reference[p] = q
    got = {Decimal(p): Decimal(q) for p, q in book.top(len(levels))[0]}
    assert got == reference
    assert book.price_decimals == max(pd for _, pd, _, _ in levels)
    assert book.qty_decimals == max(qd for _, _, _, qd in levels)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 3)), max_size=8),
                          st.lists(st.tuples(st.integers(61, 120), st.integers(0, 3)), max_size=8),
                          st.sampled_from([1, 3, 20])), min_size=1, max_size=40))
def test_the_top_levels_read_every_second_stay_right_as_diffs_come_and_go(diffs):
    """The fast path keeps the last top-n read until a level at or above its n-th appears or goes: read after each
    diff, with n changing now and then, it equals a reference."""
    book = OrderBook.from_snapshot(0, [["0.50", "1.000"]], [["130.00", "1.000"]])
    reference: list[dict[int, int]] = [{50: 1000}, {13000: 1000}]
    for update_id, (bids, asks, n) in enumerate(diffs, 1):
        wire = []
        for index, changes in enumerate((bids, asks)):
            levels = []
            for price, qty in changes:
                levels.append([f"{price}.00", f"{qty}.000"])
                if qty:
                    reference[index][price * 100] = qty * 1000
                else:
                    reference[index].pop(price * 100, None)
            wire.append(levels)
        book.apply(wire[0], wire[1], update_id)
        got_bids, got_asks, pd, qd = book.top_scaled(n)
        assert (pd, qd) == (2, 3)
        want_bids = [[p, reference[0][p]] for p in sorted(reference[0], reverse=True)[:n]]
        want_asks = [[p, reference[1][p]] for p in sorted(reference[1])[:n]]
        assert got_bids.tolist() == want_bids and got_asks.tolist() == want_asks
