"""`projection.matmul` against numpy: the forward and both gradients, in float64.

The reference gradients are written out by hand (``dx = dy Wᵀ``, ``dW = Σ_tokens xᵀ dy``) in
numpy, sharing nothing with JAX's autodiff; both branches of the weight gradient's operand
order (widening and narrowing projections) are checked, with one and two leading axes.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite.config import get_preset
from gopherlite.nn.projection import matmul
from gopherlite.nn.transformer import FeedForward


@pytest.mark.parametrize("lead", [(6,), (2, 5)])
@pytest.mark.parametrize("D,F", [(4, 12), (12, 4), (8, 8)])
def test_matmul_and_gradients_equal_numpy(lead, D, F):
    rng = np.random.default_rng(D * 100 + F + len(lead))
    x = rng.standard_normal((*lead, D))
    w = rng.standard_normal((D, F))
    c = rng.standard_normal((*lead, F))  # loss = Σ c · y, so dy = c
    with jax.enable_x64():
        y = matmul(jnp.asarray(x), jnp.asarray(w))
        dx, dw = jax.grad(lambda a, b: jnp.sum(matmul(a, b) * c), argnums=(0, 1))(
            jnp.asarray(x), jnp.asarray(w)
        )
    x2, c2 = x.reshape(-1, D), c.reshape(-1, F)
    np.testing.assert_allclose(np.asarray(y).reshape(-1, F), x2 @ w, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(dx).reshape(-1, D), c2 @ w.T, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(dw), x2.T @ c2, rtol=1e-12)
    assert dw.shape == (D, F)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_feed_forward_gradients_equal_plain_linear_layers(dtype):
    """The MLP's gradients equal those of ``down(gelu(up(x)))`` through ``nnx.Linear`` itself."""
    config = get_preset("tiny").replace(d_model=16, d_ff=48, n_layers=2, dtype=dtype)
    ffn = FeedForward(config, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (2, 5, 16))

    def plain(ffn, x):
        return jnp.sum(ffn.down(jax.nn.gelu(ffn.up(x), approximate=True)).astype(jnp.float32) ** 2)

    def ours(ffn, x):
        return jnp.sum(ffn(x).astype(jnp.float32) ** 2)

    g_plain = nnx.grad(plain, argnums=(0, 1))(ffn, x)
    g_ours = nnx.grad(ours, argnums=(0, 1))(ffn, x)
    tol = 1e-6 if dtype == "float32" else 2e-2
    for a, b in zip(jax.tree.leaves(g_ours), jax.tree.leaves(g_plain), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(
            np.asarray(a, np.float32), np.asarray(b, np.float32), rtol=tol, atol=tol
        )
