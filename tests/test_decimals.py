"""Decimal strings <-> scaled integers: exact, or refused."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeactors import decimals


@pytest.mark.parametrize("texts, exact", [
    (["1.5", "1.50"], False), (["100", "1.5"], False), (["1.5", "100"], False), (["1", "2."], False),
    (["99999999999999999999"], False), (["1.5", "12.5", "0.0"], True), (["7", "8", "9"], True),
    (["0.00000001", "92233720.36854775"], True), (["9223372036854775807"], True), (["9223372036854775808"], False),
])
def test_scaling_is_exact_or_refused(texts, exact):
    scaled = decimals.scale_exact(texts)
    assert (scaled is not None) == exact
    if exact:
        values, places = scaled
        assert values.dtype == np.int64 and [decimals.format_scaled(v, places) for v in values.tolist()] == texts



@pytest.mark.parametrize("texts, places, values", [
    (["1.5", "1.50", "100"], 2, [150, 150, 10000]), (["7"], 0, [7]), ([], 0, []),
    (["99999999999999999999.5"], 1, [-1]),  # beyond int64: flagged, the strings must be kept
])
def test_scale_any_brings_every_string_to_the_largest_decimals(texts, places, values):
    scaled, got = decimals.scale_any(texts)
    assert got == places and scaled.tolist() == values


def test_rescale_only_ever_adds_decimals():
    assert decimals.rescale(np.array([15], dtype=np.int64), 1, 3).tolist() == [1500]
    assert decimals.factor(2, 2) == 1 and decimals.to_scaled("1.5", 3) == 1500 and decimals.to_scaled("2", 2) == 200
    with pytest.raises(ValueError):
        decimals.factor(3, 1)


def test_negative_values_format_like_their_positive_with_a_sign():
    assert decimals.format_scaled(-5, 2) == "-0.05" and decimals.format_scaled(-12345, 2) == "-123.45"


@given(st.integers(0, 10**15), st.integers(0, 12))
def test_format_scaled_inverts_scaling(value, places):
    text = decimals.format_scaled(value, places)
    assert int(text.replace(".", "")) == value and decimals.decimals_of(text) == places
    assert decimals.to_scaled(text, places) == value
