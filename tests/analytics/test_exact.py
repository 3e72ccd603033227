from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from tradeactors.analytics.exact import (
    exact_fraction,
    exact_sum,
    fmt_half,
    fmt_ratio,
    fmt_signed,
    sums_at,
)


def test_sums_past_int64_do_not_wrap():
    values = np.array([2**62, 2**62, 2**62, -5], dtype=np.int64)
    assert exact_sum(values) == 3 * 2**62 - 5
    out = sums_at(2, np.array([0, 0, 0, 1]), values)
    assert out.dtype == object and [int(v) for v in out] == [3 * 2**62, -5]


def test_sums_that_fit_stay_int64():
    out = sums_at(3, np.array([2, 0, 2]), np.array([1, 2, 3], dtype=np.int64))
    assert out.dtype == np.int64 and out.tolist() == [2, 0, 4]


def test_object_sums_by_index():
    values = np.array([10**30, 1, 2, 10**30], dtype=object)
    assert [int(v) for v in sums_at(3, np.array([2, 0, 0, 2]), values)] == [3, 0, 2 * 10**30]


@pytest.mark.parametrize("value, decimals, text", [(-5, 2, "-0.05"), (5, 2, "0.05"), (0, 3, "0.000"),
                                                   (-123, 0, "-123")])
def test_signed_formatting(value, decimals, text):
    assert fmt_signed(value, decimals) == text


def test_halves_get_one_more_digit_only_when_needed():
    assert fmt_half(20, 2) == "0.10"
    assert fmt_half(21, 2) == "0.105"


def test_ratios_round_half_even_to_the_given_decimals():
    assert fmt_ratio(Fraction(10001 * 2 + 1, 2), 2) == "100.02"
    assert fmt_ratio(Fraction(2001, 2), 2) == "10.00"
    assert fmt_ratio(1234.4, 1) == "123.4"


def test_float_parameters_mean_the_decimal_that_was_written():
    assert exact_fraction(0.7) == Fraction(7, 10)
    assert exact_fraction("0.2") == Fraction(1, 5)
