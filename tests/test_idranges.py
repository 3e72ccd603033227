import itertools

from hypothesis import given
from hypothesis import strategies as st

from tradeactors.idranges import IdRanges


def test_adjacent_and_overlapping_ranges_merge():
    r = IdRanges([(1, 3), (7, 9)])
    r.add_range(4, 6)
    assert list(r) == [(1, 9)]
    r.add_range(20, 25)
    r.add_range(22, 30)
    assert list(r) == [(1, 9), (20, 30)]


def test_holes_between_first_and_last():
    r = IdRanges([(1, 3), (7, 9), (12, 12)])
    assert r.holes() == [(4, 6), (10, 11)]
    assert r.holes(0, 14) == [(0, 0), (4, 6), (10, 11), (13, 14)]


def test_discard_below_trims():
    r = IdRanges([(1, 3), (7, 9)])
    r.discard_below(8)
    assert list(r) == [(8, 9)]


@given(st.lists(st.integers(0, 200), max_size=300))
def test_behaves_like_a_set(values):
    r = IdRanges()
    for v in values:
        r.add(v)
    expected = set(values)
    assert r.count == len(expected)
    assert all((v in r) == (v in expected) for v in range(-1, 202))
    ranges = list(r)
    assert all(lo <= hi for lo, hi in ranges)
    assert all(a[1] + 1 < b[0] for a, b in itertools.pairwise(ranges))  # disjoint and not adjacent
    if expected:
        holes = {v for lo, hi in r.holes() for v in range(lo, hi + 1)}
        assert holes == set(range(min(expected), max(expected) + 1)) - expected
