"""The measured experiments: data capping, equal targets at every length, tiny end-to-end runs."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from gopherlite.data import corpus
from gopherlite.data.batches import pack_documents, repack
from gopherlite.data.pipeline import TextData
from gopherlite.evaluate import evaluate_lengths
from gopherlite.nn import layer_norm, rms_norm
from gopherlite.train import TrainConfig
from gopherlite.workbook.experiments.variants import (
    _norm_fn,
    context_extrapolation,
    extrapolation_configs,
    load_experiment_data,
    norm_comparison,
    norm_speed,
    score_lengths,
    train_variants,
)
from tests.conftest import synthetic_windows

VOCAB, L = 64, 8
BASE = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=VOCAB, max_seq_len=L)
TRAIN = TrainConfig(steps=4, batch_size=4, log_every=2, learning_rate=1e-2)


def _windows(n_docs, seed, window=L):
    return synthetic_windows(n_docs, seed, window, VOCAB)


@pytest.fixture(scope="module")
def synthetic():
    """Synthetic token windows (no tokenizer needed) for fast end-to-end runs."""
    return TextData(tokenizer=None, train=_windows(40, 0), heldout=_windows(8, 1),
                          bytes_per_token=3.0)  # fmt: skip


def test_load_experiment_data_caps_both_splits():
    data = load_experiment_data(16, train_tokens=1000, heldout_tokens=200)
    assert data.train.window == data.heldout.window == 16
    assert data.train.num_tokens == 1000 and data.heldout.num_tokens == 200
    assert data.tokenizer.vocab_size == 4096 and 2.5 < data.bytes_per_token < 5.0
    # The capped split is the start of the full stream.
    full = pack_documents(data.tokenizer, corpus.default_documents("heldout"), 16)
    assert full.num_tokens > 20_000 and full.num_bytes > 0
    real = data.heldout.weights_NxL > 0
    n = len(data.heldout)
    np.testing.assert_array_equal(data.heldout.targets_NxL[real], full.targets_NxL[:n][real])


def test_extrapolation_configs_differ_only_in_positions():
    configs = extrapolation_configs(BASE, 8, 4, clamp=True)
    assert list(configs) == ["relative", "relative, clamp L−1", "absolute"]
    assert configs["absolute"].position == "absolute" and configs["absolute"].max_seq_len == 32
    assert configs["relative, clamp L−1"].clamp_len == 7 and configs["relative"].clamp_len is None
    for config in configs.values():
        assert (config.n_layers, config.d_model, config.norm) == (1, 16, "rms")
    assert list(extrapolation_configs(BASE, 8, 4)) == ["relative", "absolute"]


def test_score_lengths_agrees_with_evaluate_lengths():
    model = GopherLM(BASE.replace(max_seq_len=32), rngs=nnx.Rngs(0))
    heldout = _windows(6, 2)
    scores = score_lengths(model, heldout, [8, 16, 32], batch_size=4)
    expected = evaluate_lengths(model, heldout, [8, 16, 32], batch_size=4)
    for n in (8, 16, 32):
        assert scores.loss[n] == pytest.approx(expected[n].loss, rel=1e-5)
        assert scores.per_position[n].shape == (n,)
    # The same targets at every length: the first window of 8 is a prefix of the one of 32.
    assert repack(heldout, 32).targets_NxL[0, :8].tolist() == heldout.targets_NxL[0].tolist()


@pytest.mark.slow
def test_context_extrapolation_end_to_end(synthetic):
    seen = []
    result = context_extrapolation(
        synthetic,
        BASE,
        TRAIN,
        factors=(1, 2),
        clamp=True,
        callback=lambda name, record: seen.append((name, record["loss"])),
    )
    assert result.seq_len == L and result.lengths == [8, 16]
    assert list(result.scores) == ["relative", "relative, clamp L−1", "absolute"]
    assert result.runs["absolute"].config.max_seq_len == 16
    for run in result.runs.values():
        assert [r["step"] for r in run.history] == [2, 4] and run.tokens_per_second > 0
    for scores in result.scores.values():
        assert all(np.isfinite(v) for v in scores.loss.values())
        assert [len(scores.per_position[n]) for n in (8, 16)] == [8, 16]
    # Training never sees a distance beyond L − 1, so the clamp changes nothing there: the
    # two relative runs, fed identical batches, log identical losses and score alike at 1×.
    losses = {name: [loss for n, loss in seen if n == name] for name in result.runs}
    assert losses["relative"] == pytest.approx(losses["relative, clamp L−1"], rel=1e-6)
    assert losses["relative"] != pytest.approx(losses["absolute"], rel=1e-6)
    assert result.scores["relative"].loss[8] == pytest.approx(
        result.scores["relative, clamp L−1"].loss[8], rel=1e-6
    )
    assert [row["variant"] for row in result.table()] == list(result.scores)


def test_train_variants_checks_the_window(synthetic):
    with pytest.raises(ValueError, match="load_experiment_data"):
        train_variants({"x": BASE.replace(max_seq_len=16)}, TRAIN, synthetic)


@pytest.mark.slow
def test_norm_comparison_end_to_end(synthetic):
    comparison = norm_comparison(synthetic, BASE, TRAIN)
    assert list(comparison.runs) == ["RMSNorm", "LayerNorm"]
    assert comparison.runs["LayerNorm"].config.norm == "layer"
    assert all(np.isfinite(v) for v in comparison.heldout_loss.values())


def test_norm_speed_times_every_combination():
    timings = norm_speed([(64, 32), (32, 16)], repeats=2)
    assert len(timings) == 2 * 2 * 2
    assert {(t.kind, t.mode) for t in timings} == {
        (k, m) for k in ("rms", "layer") for m in ("forward", "forward+backward")
    }
    assert all(t.seconds > 0 for t in timings)


def test_norm_functions_compute_the_norms_and_their_gradients():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(4, 8)), jnp.float32)
    scale, bias = jnp.full((8,), 1.5), jnp.zeros((8,))
    np.testing.assert_allclose(
        _norm_fn("rms", "forward")(x, scale, bias), rms_norm(x, scale, 1e-5), rtol=1e-5
    )
    np.testing.assert_allclose(
        _norm_fn("layer", "forward")(x, scale, bias), layer_norm(x, scale, bias, 1e-5), rtol=1e-5
    )
    grad_x, grad_scale = _norm_fn("rms", "forward+backward")(x, scale, bias)
    assert grad_x.shape == x.shape and grad_scale.shape == scale.shape
    # d/dg of Σ g·x̂·x is Σ over rows of x̂·x.
    x_hat = rms_norm(x, jnp.ones((8,)), 1e-5)
    np.testing.assert_allclose(grad_scale, jnp.sum(x_hat * x, axis=0), rtol=1e-5)
