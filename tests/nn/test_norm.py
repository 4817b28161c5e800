"""RMSNorm against its formula, and its exact relation to LayerNorm (Zhang & Sennrich 2019)."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite.config import PRESETS
from gopherlite.nn.norm import Norm, layer_norm, rms_norm


def _rms_reference(x, g, eps):
    x = np.asarray(x, np.float64)
    return g * x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + eps)


def _layer_reference(x, g, b, eps):
    x = np.asarray(x, np.float64)
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return g * (x - mu) / np.sqrt(var + eps) + b


@pytest.mark.parametrize("shape", [(3, 5, 8), (1, 1, 2), (2, 7, 64)])
def test_rms_norm_matches_formula(rng, shape):
    x = rng.normal(1.5, 3.0, shape).astype(np.float32)
    g = rng.normal(1.0, 0.5, shape[-1:]).astype(np.float32)
    got = rms_norm(jnp.asarray(x), jnp.asarray(g), 1e-5)
    np.testing.assert_allclose(got, _rms_reference(x, g, 1e-5), rtol=2e-6, atol=2e-6)


def test_layer_norm_matches_formula(rng):
    x = rng.normal(-2.0, 4.0, (4, 6, 32)).astype(np.float32)
    g = rng.normal(1.0, 0.5, (32,)).astype(np.float32)
    b = rng.normal(0.0, 0.5, (32,)).astype(np.float32)
    got = layer_norm(jnp.asarray(x), jnp.asarray(g), jnp.asarray(b), 1e-5)
    np.testing.assert_allclose(got, _layer_reference(x, g, b, 1e-5), rtol=1e-5, atol=1e-5)


def test_rms_and_layer_norm_differ_exactly_by_the_mean(rng):
    x = rng.normal(3.0, 2.0, (2, 9, 16)).astype(np.float32)
    g = rng.normal(1.0, 0.5, (16,)).astype(np.float32)
    zeros = jnp.zeros((16,), jnp.float32)
    centred = x - x.mean(-1, keepdims=True)
    # LayerNorm without bias is RMSNorm of the centred input ...
    np.testing.assert_allclose(
        layer_norm(jnp.asarray(x), jnp.asarray(g), zeros, 1e-5),
        rms_norm(jnp.asarray(centred), jnp.asarray(g), 1e-5),
        rtol=1e-6,
        atol=1e-6,
    )
    # ... so on zero-mean input they agree, and on shifted input they do not.
    np.testing.assert_allclose(
        layer_norm(jnp.asarray(centred), jnp.asarray(g), zeros, 1e-5),
        rms_norm(jnp.asarray(centred), jnp.asarray(g), 1e-5),
        rtol=1e-6,
        atol=1e-6,
    )
    gap = np.abs(
        layer_norm(jnp.asarray(x), jnp.asarray(g), zeros, 1e-5)
        - rms_norm(jnp.asarray(x), jnp.asarray(g), 1e-5)
    ).max()
    assert gap > 0.1


def test_rms_norm_invariances(rng):
    """RMSNorm is invariant to re-scaling the input but not to re-centring it."""
    x = rng.normal(0.5, 1.0, (3, 16)).astype(np.float32)
    g = np.ones((16,), np.float32)
    base = rms_norm(jnp.asarray(x), jnp.asarray(g), 0.0 + 1e-12)
    np.testing.assert_allclose(rms_norm(jnp.asarray(7.0 * x), jnp.asarray(g), 1e-12), base, 1e-5)
    shifted = rms_norm(jnp.asarray(x + 5.0), jnp.asarray(g), 1e-12)
    assert np.abs(np.asarray(shifted) - np.asarray(base)).max() > 0.1


def test_statistics_are_float32_for_bfloat16_inputs(rng):
    # Values whose squares overflow float16 and lose precision in bf16 accumulation.
    x = rng.normal(0.0, 300.0, (2, 4, 512)).astype(np.float32)
    g = np.ones((512,), np.float32)
    got = rms_norm(jnp.asarray(x, jnp.bfloat16), jnp.asarray(g), 1e-5)
    assert got.dtype == jnp.bfloat16
    ref = _rms_reference(np.asarray(jnp.asarray(x, jnp.bfloat16), np.float32), g, 1e-5)
    np.testing.assert_allclose(np.asarray(got, np.float32), ref, rtol=1e-2, atol=1e-2)


def test_norm_module_selects_kind_and_has_learned_scale():
    rms = Norm(PRESETS["tiny"], rngs=nnx.Rngs(0))
    ln = Norm(PRESETS["tiny"].replace(norm="layer"), rngs=nnx.Rngs(0))
    assert not hasattr(rms, "bias") and hasattr(ln, "bias")
    np.testing.assert_array_equal(rms.scale[...], np.ones(PRESETS["tiny"].d_model))
    x = jnp.arange(2 * 128, dtype=jnp.float32).reshape(1, 2, 128)
    np.testing.assert_allclose(rms(x), rms_norm(x, jnp.ones(128), 1e-5), rtol=1e-6)
