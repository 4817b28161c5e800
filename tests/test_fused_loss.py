"""The fused, chunked training loss equals the plain one: loss and gradients.

Reference: `gopherlite.evaluate.cross_entropy` of the full ``[B, L, V]`` logits (optax's
softmax cross-entropy), differentiated by JAX; the fused loss forms its gradient by hand
(`nll_and_logit_grad`, also checked alone against JAX's gradient of `token_nll`).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite.config import PRESETS
from gopherlite.evaluate import cross_entropy, token_nll
from gopherlite.nn import GopherLM
from gopherlite.train.loss import fused_cross_entropy, nll_and_logit_grad


def _plain(h, table, targets, weights, smoothing):
    logits = jnp.einsum("BLD,VD->BLV", h, table, preferred_element_type=jnp.float32)
    return cross_entropy(logits, targets, weights, smoothing)


def _naive64(h, table, targets, weights, smoothing):
    """Smoothed NLL written out in the inputs' dtype (float64 here): no optax, no chunks."""
    logits = jnp.einsum("BLD,VD->BLV", h, table)
    logp = logits - jax.scipy.special.logsumexp(logits, axis=-1, keepdims=True)
    V = logits.shape[-1]
    target = (1 - smoothing) * jax.nn.one_hot(targets, V, dtype=logits.dtype) + smoothing / V
    nll = -(target * logp).sum(axis=-1)
    return (nll * weights).sum(), weights.sum()


def _inputs(dtype, seed=0, B=3, L=8, D=6, V=11):
    rng = np.random.default_rng(seed)
    h = jnp.asarray(rng.normal(size=(B, L, D)), dtype)
    table = jnp.asarray(rng.normal(size=(V, D)), dtype)
    targets = jnp.asarray(rng.integers(0, V, (B, L)))
    weights = jnp.asarray(rng.random((B, L)) > 0.2, jnp.float32)  # some padding
    return h, table, targets, weights


@pytest.mark.parametrize("chunk", [None, 1, 2, 4, 8, 3])  # 3 does not divide 8: one chunk
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_loss_and_gradients_equal_the_plain_loss_in_float64(chunk, smoothing):
    with jax.enable_x64(True):
        h, table, targets, weights = _inputs(jnp.float64)

        def mean(fn):
            def loss(h, table):
                total, weight = fn(h, table)
                return total / weight

            return loss

        fused = mean(lambda h, t: fused_cross_entropy(h, t, targets, weights, smoothing, chunk))
        plain = mean(lambda h, t: _naive64(h, t, targets, weights, smoothing))
        np.testing.assert_allclose(fused(h, table), plain(h, table), rtol=1e-12)
        got = jax.grad(fused, argnums=(0, 1))(h, table)
        want = jax.grad(plain, argnums=(0, 1))(h, table)
        for g, w in zip(got, want, strict=True):
            assert np.abs(np.asarray(w)).max() > 1e-3
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-13)
        # Padded positions get no gradient.
        padded = ~np.asarray(weights, bool)
        assert np.all(np.asarray(got[0])[padded] == 0)


def test_bfloat16_inputs_keep_a_float32_loss():
    h, table, targets, weights = _inputs(jnp.bfloat16, seed=1)
    total, weight = fused_cross_entropy(h, table, targets, weights, 0.0, 4)
    want_total, want_weight = _plain(h, table, targets, weights, 0.0)
    assert total.dtype == jnp.float32
    np.testing.assert_allclose(total, want_total, rtol=1e-6)
    assert float(weight) == float(want_weight)
    g_h, g_t = jax.grad(lambda h, t: fused_cross_entropy(h, t, targets, weights)[0], (0, 1))(
        h, table
    )
    assert g_h.dtype == g_t.dtype == jnp.bfloat16


def test_model_gradients_equal_the_plain_path():
    """Through a whole model: final_hidden + unembedding + fused loss vs model() + loss."""
    config = PRESETS["tiny"].replace(n_layers=2, vocab_size=64, max_seq_len=16)
    model = GopherLM(config, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(3)
    tokens = jnp.asarray(rng.integers(0, 64, (2, 17)))
    weights = jnp.ones((2, 16), jnp.float32)

    def fused(model):
        total, weight = fused_cross_entropy(
            model.final_hidden(tokens[:, :-1]), model.unembedding(), tokens[:, 1:], weights, 0.0, 4
        )
        return total / weight

    def plain(model):
        total, weight = cross_entropy(model(tokens[:, :-1]), tokens[:, 1:], weights)
        return total / weight

    np.testing.assert_allclose(fused(model), plain(model), rtol=1e-6)
    got = jax.tree.leaves(nnx.grad(fused)(model))
    want = jax.tree.leaves(nnx.grad(plain)(model))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=1e-6 * float(jnp.abs(w).max()) + 1e-9)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("scale", [1.0, 300.0])  # 300: exp overflows unless the max is taken out
def test_written_out_logit_gradient_equals_jax_grad_of_token_nll(smoothing, scale):
    with jax.enable_x64(True):
        rng = np.random.default_rng(3)
        z = jnp.asarray(scale * rng.normal(size=(2, 5, 13)))
        t = jnp.asarray(rng.integers(0, 13, (2, 5)))
        w = jnp.asarray(rng.random((2, 5)) > 0.3, jnp.float64)
        total, dz = nll_and_logit_grad(z, t, w, smoothing)
        reference = lambda z: jnp.sum(token_nll(z, t, smoothing) * w)  # noqa: E731
        np.testing.assert_allclose(total, reference(z), rtol=1e-12)
        np.testing.assert_allclose(dz, jax.grad(reference)(z), rtol=1e-10, atol=1e-14)
        assert np.all(np.isfinite(np.asarray(dz)))
