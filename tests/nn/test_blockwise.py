"""Blockwise (tiled, online-softmax) attention equals the dense layer: outputs and gradients.

The core is checked in float64 against a dense reference written here with a distance gather
instead of the relative shift, so it shares no code with either path. The layer and the model
are then checked with blockwise attention switched on against the same layer switched off,
with clamping on and off, and against the naive (i, j) loop of ``test_attention``.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite.config import ModelConfig
from gopherlite.nn.attention import Attention
from gopherlite.nn.blockwise import blockwise_attention
from gopherlite.nn.transformer import GopherLM
from tests.conftest import randomize_params
from tests.nn.test_attention import _params, naive_attention


def dense_reference(qu, qv, k, v, r):
    """softmax((qu·k + qv·r[i−j]) / sqrt(K)) v over keys j ≤ i, with r gathered per (i, j)."""
    L, K = qu.shape[1], qu.shape[-1]
    i, j = jnp.arange(L)[:, None], jnp.arange(L)[None, :]
    s = jnp.einsum("BQHK,BCHK->BHQC", qu, k)
    if r is not None:
        r_QxCxHxK = r[jnp.clip(i - j, 0, r.shape[0] - 1)]
        s = s + jnp.einsum("BQHK,QCHK->BHQC", qv, r_QxCxHxK)
    s = jnp.where((j <= i)[None, None], s / math.sqrt(K), -jnp.inf)
    return jnp.einsum("BHQC,BCHK->BQHK", jax.nn.softmax(s, axis=-1), v)


@pytest.mark.parametrize("relative", [True, False])
@pytest.mark.parametrize(("L", "block"), [(12, 1), (12, 3), (12, 4), (12, 12), (16, 8)])
def test_core_equals_dense_reference_in_float64(relative, L, block):
    with jax.enable_x64(True):
        rng = np.random.default_rng(L * 10 + block)
        B, H, K = 2, 3, 4
        qu, qv, k, v = (jnp.asarray(rng.normal(size=(B, L, H, K))) for _ in range(4))
        r = jnp.asarray(rng.normal(size=(L + 3, H, K)))  # more distances than needed
        args = (qu, qv if relative else None, k, v, r if relative else None)
        weights = jnp.asarray(rng.normal(size=(B, L, H, K)))
        got = blockwise_attention(*args, block)
        assert got.dtype == jnp.float64
        np.testing.assert_allclose(got, dense_reference(*args), rtol=1e-12, atol=1e-13)
        which = (0, 1, 2, 3, 4) if relative else (0, 2, 3)
        loss = lambda fn: lambda *a: (fn(*a) * weights).sum()  # noqa: E731
        got_grads = jax.grad(loss(lambda *a: blockwise_attention(*a, block)), which)(*args)
        want_grads = jax.grad(loss(dense_reference), which)(*args)
        for g, w in zip(got_grads, want_grads, strict=True):
            assert np.abs(np.asarray(w)).max() > 1e-3  # every input gets a real gradient
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_clamped_rows_accumulate_their_gradient():
    """With a clamp, many distances share one row of r: its gradient is their sum."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(5)
        qu, qv, k, v = (jnp.asarray(rng.normal(size=(1, 8, 2, 4))) for _ in range(4))
        table = jnp.asarray(rng.normal(size=(3, 2, 4)))  # distances 0, 1, 2 (clamp 2)
        clamped = lambda t: t[jnp.clip(jnp.arange(8), 0, 2)]  # noqa: E731
        got = jax.grad(lambda t: blockwise_attention(qu, qv, k, v, clamped(t), 2).sum())(table)
        want = jax.grad(lambda t: dense_reference(qu, qv, k, v, clamped(t)).sum())(table)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_bad_block_is_a_clear_error():
    x = jnp.zeros((1, 10, 2, 4))
    with pytest.raises(ValueError, match="multiple of block"):
        blockwise_attention(x, None, x, x, None, 4)


def _layer_pair(clamp_len, position="relative", L=32, block=8):
    cfg = ModelConfig(
        n_layers=2, n_heads=2, d_head=8, d_model=16, vocab_size=64, max_seq_len=L,
        position=position, clamp_len=clamp_len,
    )  # fmt: skip
    dense = Attention(cfg, rngs=nnx.Rngs(0))
    randomize_params(dense, 0)
    tiled = Attention(cfg.replace(blockwise_from=block, attention_block=block), rngs=nnx.Rngs(0))
    nnx.update(tiled, nnx.state(dense, nnx.Param))
    return dense, tiled


@pytest.mark.parametrize(
    ("position", "clamp_len"), [("relative", None), ("relative", 5), ("absolute", None)]
)
def test_layer_outputs_and_gradients_equal_the_dense_layer(rng, position, clamp_len):
    dense, tiled = _layer_pair(clamp_len, position)
    assert (
        tiled.uses_blockwise(32) and not tiled.uses_blockwise(30) and not dense.uses_blockwise(32)
    )
    x = jnp.asarray(rng.normal(size=(2, 32, 16)).astype(np.float32))
    w = jnp.asarray(rng.normal(size=(2, 32, 16)).astype(np.float32))

    def loss(layer, x):
        return (layer(x)[0] * w).sum()

    np.testing.assert_allclose(tiled(x)[0], dense(x)[0], rtol=1e-5, atol=1e-5)
    g_dense = nnx.grad(loss, argnums=(0, 1))(dense, x)
    g_tiled = nnx.grad(loss, argnums=(0, 1))(tiled, x)
    leaves_d, leaves_t = jax.tree.leaves(g_dense), jax.tree.leaves(g_tiled)
    assert len(leaves_d) == len(leaves_t) == (8 if position == "relative" else 5)
    for gd, gt in zip(leaves_d, leaves_t, strict=True):
        scale = float(jnp.abs(gd).max())
        assert scale > 1e-3
        np.testing.assert_allclose(gt, gd, rtol=1e-4, atol=1e-5 * scale)


def test_blockwise_layer_matches_the_naive_loop(rng):
    _, tiled = _layer_pair(clamp_len=3, L=12, block=4)
    x = rng.normal(size=(1, 12, 16)).astype(np.float32)
    want = naive_attention(x, _params(tiled), relative=True, clamp_len=3)
    np.testing.assert_allclose(tiled(jnp.asarray(x))[0], want, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("scan_layers", [False, True])
def test_model_loss_and_gradients_equal_dense(scan_layers):
    cfg = ModelConfig(
        n_layers=2, n_heads=2, d_head=8, d_model=16, vocab_size=64, max_seq_len=32,
        scan_layers=scan_layers, remat=scan_layers,
    )  # fmt: skip
    dense = GopherLM(cfg, rngs=nnx.Rngs(1))
    randomize_params(dense, 1, scale=0.2)
    tiled = GopherLM(cfg.replace(blockwise_from=16, attention_block=16), rngs=nnx.Rngs(1))
    nnx.update(tiled, nnx.state(dense, nnx.Param))
    tokens = jnp.asarray(np.random.default_rng(2).integers(0, 64, (2, 32)))

    def full_loss(model):  # 32 positions: a multiple of the 16-token tile
        logits = model(tokens).astype(jnp.float32)
        logp = jax.nn.log_softmax(logits[:, :-1])
        return -jnp.take_along_axis(logp, tokens[:, 1:, None], axis=-1).mean()

    traced = lambda model: str(jax.make_jaxpr(lambda t: model(t))(tokens))  # noqa: E731
    # The tiled kernel (a custom VJP named after its function) runs only in the tiled model.
    assert "name=blockwise_attention" in traced(tiled)
    assert "name=blockwise_attention" not in traced(dense)
    np.testing.assert_allclose(full_loss(tiled), full_loss(dense), rtol=1e-6)
    g_d, g_t = (
        jax.tree.leaves(nnx.grad(full_loss)(dense)),
        jax.tree.leaves(nnx.grad(full_loss)(tiled)),
    )
    for gd, gt in zip(g_d, g_t, strict=True):
        np.testing.assert_allclose(gt, gd, rtol=1e-4, atol=1e-5 * float(jnp.abs(gd).max()))
    # 31 positions are not a multiple of the tile: the dense path runs and still agrees.
    short = tokens[:, :-1]
    np.testing.assert_allclose(tiled(short), dense(short), rtol=1e-5, atol=1e-6)
