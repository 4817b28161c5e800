"""Chapter 05's figures: norm invariances, speed bars, training curves (the numbers:
tests/experiments/test_norms.py)."""

import numpy as np
import plotly.graph_objects as go
import pytest

from gopherlite.workbook.experiments.norms import invariance_case, sample_features
from gopherlite.workbook.experiments.variants import NormComparison, NormTiming, TrainedVariant
from gopherlite.workbook.viz import norms


def test_invariance_figure_traces():
    fig = norms.invariance_figure(invariance_case(sample_features(), 1.0, 2.0))
    assert [type(t) for t in fig.data] == [go.Bar, go.Bar, go.Scatter, go.Bar, go.Scatter]
    assert "Largest output change" in fig.layout.title.text


def test_invariance_explorer_responds_to_each_control():
    explorer = norms.InvarianceExplorer(d=16)
    fig = explorer.figure
    y = lambda i: np.array(fig.data[i].y, np.float64)  # noqa: E731
    layer_before, rms_before, input_before = y(1), y(3), y(0)
    stats_before = explorer.stats.value
    explorer.shift.value = 2.0
    np.testing.assert_allclose(y(1), layer_before, atol=1e-4)  # LayerNorm: unchanged
    assert np.abs(y(3) - rms_before).max() > 0.3  # RMSNorm: moved
    np.testing.assert_allclose(y(0), input_before + 2.0, rtol=1e-6)
    assert explorer.stats.value != stats_before
    assert f"{input_before.mean() + 2.0:+.3f}" in explorer.stats.value
    explorer.scale.value = 10.0
    np.testing.assert_allclose(y(0), 10 * input_before + 2.0, rtol=1e-5)
    explorer.distribution.value = "outlier"
    assert y(0)[0] == pytest.approx(10 * 8.0 + 2.0)
    assert fig.layout.yaxis2.range[1] > 0
    assert len(explorer.static()) == 5


def _timings():
    out = []
    for mode in ("forward", "forward+backward"):
        for tokens, d in ((128, 64), (256, 512)):
            out.append(NormTiming("rms", mode, tokens, d, 1e-5 * d / 64))
            out.append(NormTiming("layer", mode, tokens, d, 2e-5 * d / 64))
    return out


def test_speed_figure_and_table():
    fig = norms.speed_figure(_timings())
    assert len(fig.data) == 4 and [t.name for t in fig.data[:2]] == ["RMSNorm", "LayerNorm"]
    np.testing.assert_allclose(fig.data[0].y, [10.0, 80.0])  # microseconds
    table = norms.speed_table_html(_timings())
    assert table.count("2.00×") == 4 and "256 × 512" in table


def _history(offset, n=10):
    return [{"step": 10 * (i + 1), "loss": 6.0 - 0.1 * i + offset, "tokens_per_second": 100.0}
            for i in range(n)]  # fmt: skip


def _comparison():
    runs = {
        name: TrainedVariant(config=None, model=None, history=_history(offset), seconds=1.0)
        for name, offset in (("RMSNorm", 0.0), ("LayerNorm", 0.05))
    }
    return NormComparison(runs, {"RMSNorm": 5.1, "LayerNorm": 5.2})


def test_training_figure_difference_view():
    histories = {name: run.history for name, run in _comparison().runs.items()}
    fig = norms.training_figure(histories, difference=True)
    np.testing.assert_allclose(fig.data[0].y, 0.0)
    np.testing.assert_allclose(fig.data[1].y, 0.05, atol=1e-9)


def test_training_curves_explorer_toggles_and_smooths():
    explorer = norms.TrainingCurvesExplorer(_comparison())
    fig = explorer.figure
    np.testing.assert_allclose(fig.data[1].y[0], 6.05)
    explorer.view.value = "difference"
    np.testing.assert_allclose(fig.data[1].y, 0.05, atol=1e-9)
    assert "difference" in fig.layout.yaxis.title.text
    explorer.view.value = "loss"
    explorer.window.value = 3
    assert fig.data[0].y[0] == pytest.approx((6.0 + 5.9) / 2)  # edge: two points in the window
    assert "5.2000" in explorer.summary.value and "100" in explorer.summary.value
    assert len(explorer.static()) == 2
