"""`workbook.experiments.norms`: both norms against their formulas, their invariances, timings."""

import numpy as np
import pytest

from gopherlite import ModelConfig
from gopherlite.workbook.experiments import norms
from gopherlite.workbook.experiments.variants import NormTiming


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


def test_eps_is_the_models_default():
    assert ModelConfig(n_layers=1, n_heads=1, d_head=2, d_model=2).norm_eps == norms.EPS


def test_speed_pairs_put_both_norms_of_a_size_side_by_side():
    timings = [
        NormTiming("rms", "forward", 128, 64, 1e-5),
        NormTiming("layer", "forward", 128, 64, 3e-5),
        NormTiming("layer", "forward+backward", 128, 64, 8e-5),
        NormTiming("rms", "forward+backward", 128, 64, 4e-5),
    ]
    pairs = norms.speed_pairs(timings)
    assert [(p.mode, p.tokens, p.d_model) for p in pairs] == [
        ("forward", 128, 64),
        ("forward+backward", 128, 64),
    ]
    assert (pairs[1].rms_seconds, pairs[1].layer_seconds) == (4e-5, 8e-5)
    assert pairs[0].ratio == pytest.approx(3.0) and pairs[1].ratio == pytest.approx(2.0)
