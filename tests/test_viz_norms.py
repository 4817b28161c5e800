"""Chapter 05's figures: norm invariances against the formulas, speed bars, training curves."""

import numpy as np
import plotly.graph_objects as go
import pytest

from gopherlite.workbook.experiments.variants import NormComparison, NormTiming, TrainedVariant
from gopherlite.workbook.viz import norms


def test_sample_features():
    for kind in norms.DISTRIBUTIONS:
        x = norms.sample_features(kind, 64, seed=1)
        assert x.shape == (64,) and x.dtype == np.float32
    assert norms.sample_features("outlier", 16)[0] == 8.0
    assert np.abs(norms.sample_features("uniform", 1000)).max() <= np.sqrt(3)
    with pytest.raises(ValueError, match="Unknown distribution"):
        norms.sample_features("cauchy")


def test_normalise_matches_the_formulas():
    x = norms.sample_features("normal", 32, seed=2) + 0.7
    out = norms.normalise(x, eps=1e-5)
    x64 = x.astype(np.float64)
    rms = x64 / np.sqrt(np.mean(x64**2) + 1e-5)
    centred = x64 - x64.mean()
    layer = centred / np.sqrt(np.mean(centred**2) + 1e-5)
    np.testing.assert_allclose(out["RMSNorm"], rms, rtol=1e-5)
    np.testing.assert_allclose(out["LayerNorm"], layer, rtol=1e-5, atol=1e-6)


def test_norm_stats():
    s = norms.norm_stats(np.array([1.0, 3.0]))
    assert (s.mean, s.std) == (2.0, 1.0)
    assert s.rms == pytest.approx(np.sqrt(s.mean**2 + s.std**2))


def test_both_norms_ignore_scale_only_layer_norm_ignores_shift():
    x = norms.sample_features("normal", 32)
    scaled = norms.invariance_case(x, shift=0.0, scale=7.0)
    # Not exactly 0: eps = 1e-5 inside the square root weighs slightly less after scaling.
    assert scaled.change("LayerNorm") < 1e-4 and scaled.change("RMSNorm") < 1e-4
    shifted = norms.invariance_case(x, shift=3.0, scale=1.0)
    assert shifted.change("LayerNorm") < 1e-4
    assert shifted.change("RMSNorm") > 0.5
    # A large shift drives RMSNorm's output towards the constant vector of ones.
    far = norms.invariance_case(x, shift=1000.0, scale=1.0)
    np.testing.assert_allclose(far.outputs["RMSNorm"], 1.0, atol=5e-3)  # 1 + x/1000
    # With a tiny scale, eps (inside the square root) dominates and invariance breaks.
    tiny = norms.invariance_case(x, shift=0.0, scale=1e-3)
    assert tiny.change("RMSNorm") > 0.5 and tiny.change("LayerNorm") > 0.5


def test_invariance_figure_traces():
    fig = norms.invariance_figure(norms.invariance_case(norms.sample_features(), 1.0, 2.0))
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
