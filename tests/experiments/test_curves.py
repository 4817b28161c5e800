"""`workbook.experiments.curves`: the NaN-aware moving average and side-by-side loss curves."""

import numpy as np
import pytest

from gopherlite.workbook.experiments.curves import loss_curves, smooth


def test_smooth():
    y = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    np.testing.assert_array_equal(smooth(y, 1), y)
    np.testing.assert_allclose(smooth(np.full(6, 3.0), 3), 3.0)
    smoothed = smooth(y, 3)
    assert smoothed[2] == pytest.approx(3.0)  # the NaN is skipped, its neighbours averaged
    assert smoothed[0] == pytest.approx(1.5)


def test_smooth_keeps_nan_where_a_whole_window_is_missing():
    smoothed = smooth(np.array([1.0, np.nan, np.nan, np.nan, 5.0]), 3)
    assert np.isnan(smoothed[2]) and smoothed[1] == pytest.approx(1.0)


def _history(offset, n=10):
    return [{"step": 10 * (i + 1), "loss": 6.0 - 0.1 * i + offset} for i in range(n)]


def test_loss_curves_and_their_difference_to_the_first_run():
    histories = {"first": _history(0.0), "second": _history(0.05)}
    curves = loss_curves(histories)
    assert list(curves) == ["first", "second"]
    steps, loss = curves["second"]
    assert steps[:2] == [10, 20] and loss[0] == pytest.approx(6.05)
    difference = loss_curves(histories, difference=True)
    np.testing.assert_allclose(difference["first"][1], 0.0)
    np.testing.assert_allclose(difference["second"][1], 0.05, atol=1e-9)
    smoothed = loss_curves(histories, window=3)["first"][1]
    assert smoothed[0] == pytest.approx((6.0 + 5.9) / 2)  # edge: two points in the window
