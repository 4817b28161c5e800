"""Calibration of top-token predictions against a plain NumPy count of the same quantities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from gopherlite.calibration import calibration
from gopherlite.data.batches import PackedWindows
from tests.conftest import randomize_params

V, L = 40, 12


@pytest.fixture(scope="module")
def model_and_windows():
    config = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=V, max_seq_len=L)
    model = GopherLM(config, rngs=nnx.Rngs(0))
    randomize_params(model, 3, scale=0.5)  # confident, varied predictions across the bins
    rng = np.random.default_rng(1)
    inputs = rng.integers(0, V, size=(5, L)).astype(np.int32)
    targets = rng.integers(0, V, size=(5, L)).astype(np.int32)
    weights = np.ones((5, L), np.float32)
    weights[-1, 7:] = 0.0  # the padded tail of a last window
    return model, PackedWindows(inputs, targets, weights)


def _naive(model, windows, n_bins):
    probs = np.asarray(jax.nn.softmax(model(jnp.asarray(windows.inputs_NxL)), axis=-1), np.float64)
    keep = windows.weights_NxL.reshape(-1) > 0
    top = probs.reshape(-1, V).max(axis=1)[keep]
    right = (probs.reshape(-1, V).argmax(axis=1) == windows.targets_NxL.reshape(-1))[keep]
    bins = np.minimum((top * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        if np.any(bins == b):
            ece += np.mean(bins == b) * abs(right[bins == b].mean() - top[bins == b].mean())
    return top, right, bins, ece


@pytest.mark.parametrize("n_bins", [1, 5, 10])
def test_calibration_matches_a_naive_count(model_and_windows, n_bins):
    model, windows = model_and_windows
    result = calibration(model, windows, n_bins=n_bins, batch_size=2)
    top, right, bins, ece = _naive(model, windows, n_bins)
    assert result.counts.sum() == len(top) == 5 * L - 5  # the padding is left out
    np.testing.assert_array_equal(result.counts, np.bincount(bins, minlength=n_bins))
    for b in range(n_bins):
        if result.counts[b]:
            assert result.confidence[b] == pytest.approx(top[bins == b].mean(), abs=1e-5)
            assert result.accuracy[b] == pytest.approx(right[bins == b].mean(), abs=1e-9)
        else:
            assert np.isnan(result.confidence[b]) and np.isnan(result.accuracy[b])
    assert result.ece == pytest.approx(ece, abs=1e-5)
    assert result.mean_confidence == pytest.approx(top.mean(), abs=1e-5)
    assert result.top1_accuracy == pytest.approx(right.mean(), abs=1e-9)
    np.testing.assert_allclose(result.edges, np.linspace(0, 1, n_bins + 1))


def test_calibration_spreads_over_several_bins(model_and_windows):
    """The fixture is not degenerate: predictions land in more than one bin."""
    result = calibration(*model_and_windows, n_bins=10)
    assert (result.counts > 0).sum() >= 3


def test_calibration_rejects_no_bins(model_and_windows):
    with pytest.raises(ValueError, match="n_bins"):
        calibration(*model_and_windows, n_bins=0)
