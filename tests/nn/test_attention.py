"""Relative attention against a naive reference that loops over every (query, key) pair.

The reference computes the four Transformer-XL terms (Dai et al. 2019, Sec. 3.3) directly in
float64, without the relative-shift trick or any vectorisation, so it shares no code with the
layer under test.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite.config import ModelConfig
from gopherlite.nn.attention import Attention
from tests.conftest import randomize_params


def _sinusoid(dist, d):
    inv_freq = 1.0 / 10000 ** (np.arange(0, d, 2) / d)
    return np.concatenate([np.sin(dist * inv_freq), np.cos(dist * inv_freq)])


def _params(attn):
    p = lambda v: np.asarray(v[...], np.float64)  # noqa: E731
    out = {
        "Wq": p(attn.query.kernel),
        "Wk": p(attn.key.kernel),
        "Wv": p(attn.value.kernel),
        "Wo": p(attn.out.kernel),
    }
    if attn.relative:
        out |= {"Wr": p(attn.pos_key.kernel), "u": p(attn.u), "v": p(attn.v)}
    return out


def naive_attention(x_BxLxD, P, *, relative, clamp_len):
    """Causal attention written as loops over batch, head, query i and key j ≤ i."""
    x = np.asarray(x_BxLxD, np.float64)
    B, L, D = x.shape
    _, H, K = P["Wq"].shape
    out = np.zeros((B, L, D))
    for b in range(B):
        for h in range(H):
            q = x[b] @ P["Wq"][:, h]
            k = x[b] @ P["Wk"][:, h]
            v = x[b] @ P["Wv"][:, h]
            for i in range(L):
                scores = []
                for j in range(i + 1):
                    s = q[i] @ k[j]  # (a) content-content
                    if relative:
                        dist = i - j if clamp_len is None else min(i - j, clamp_len)
                        r = _sinusoid(dist, D) @ P["Wr"][:, h]  # W_kR R_{i-j}
                        s += q[i] @ r  # (b) content-position
                        s += P["u"][h] @ k[j]  # (c) global content bias
                        s += P["v"][h] @ r  # (d) global position bias
                    scores.append(s / math.sqrt(K))
                w = np.exp(np.array(scores) - max(scores))
                w /= w.sum()
                out[b, i] += (w @ v[: i + 1]) @ P["Wo"][h]
    return out


def _layer(relative, clamp_len, D=16, H=2, K=8, seed=0):
    cfg = ModelConfig(
        n_layers=2,
        n_heads=H,
        d_head=K,
        d_model=D,
        vocab_size=64,
        max_seq_len=32,
        position="relative" if relative else "absolute",
        clamp_len=clamp_len,
    )
    attn = Attention(cfg, rngs=nnx.Rngs(seed))
    randomize_params(attn, seed)
    return attn


@pytest.mark.parametrize(
    ("B", "L", "clamp_len"),
    [(1, 1, None), (2, 7, None), (1, 13, None), (2, 16, None), (1, 13, 4), (2, 10, 1)],
)
def test_relative_attention_matches_naive_four_terms(rng, B, L, clamp_len):
    attn = _layer(relative=True, clamp_len=clamp_len)
    x = rng.normal(size=(B, L, 16)).astype(np.float32)
    got, _ = attn(jnp.asarray(x))
    want = naive_attention(x, _params(attn), relative=True, clamp_len=clamp_len)
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-4, atol=2e-5)


def test_absolute_attention_matches_naive(rng):
    attn = _layer(relative=False, clamp_len=None)
    x = rng.normal(size=(2, 11, 16)).astype(np.float32)
    got, _ = attn(jnp.asarray(x))
    want = naive_attention(x, _params(attn), relative=False, clamp_len=None)
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-4, atol=2e-5)


def test_every_relative_term_matters(rng):
    """Zeroing u, v or W_kR changes the output: none of the four terms is silently dropped."""
    x = jnp.asarray(rng.normal(size=(1, 9, 16)).astype(np.float32))
    attn = _layer(relative=True, clamp_len=None)
    base, _ = attn(x)
    for name in ("u", "v"):
        changed = _layer(relative=True, clamp_len=None)
        getattr(changed, name)[...] = jnp.zeros_like(getattr(changed, name)[...])
        assert np.abs(np.asarray(changed(x)[0] - base)).max() > 1e-3, name
    changed = _layer(relative=True, clamp_len=None)
    changed.pos_key.kernel[...] = jnp.zeros_like(changed.pos_key.kernel[...])
    assert np.abs(np.asarray(changed(x)[0] - base)).max() > 1e-3


def test_clamp_changes_only_long_distances(rng):
    """With clamp_len ≥ L−1 clamping is a no-op; with a small clamp it changes the output."""
    x = jnp.asarray(rng.normal(size=(1, 8, 16)).astype(np.float32))
    plain, _ = _layer(True, None)(x)
    np.testing.assert_allclose(_layer(True, 7)(x)[0], plain, rtol=1e-6, atol=1e-6)
    assert np.abs(np.asarray(_layer(True, 2)(x)[0] - plain)).max() > 1e-4
    # The first three queries only see distances ≤ 2, so they are unaffected by clamp_len=2.
    np.testing.assert_allclose(_layer(True, 2)(x)[0][:, :3], plain[:, :3], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("relative", [True, False])
def test_cached_chunks_match_full_pass(rng, relative):
    """Writing the sequence into the cache in uneven chunks gives the same outputs."""
    attn = _layer(relative=relative, clamp_len=None)
    x = jnp.asarray(rng.normal(size=(2, 12, 16)).astype(np.float32))
    full, _ = attn(x)
    cache = attn.init_cache(2, 16)
    outs = []
    for start, stop in [(0, 5), (5, 6), (6, 9), (9, 12)]:
        y, cache = attn(x[:, start:stop], cache)
        outs.append(y)
    assert int(cache.index) == 12
    np.testing.assert_allclose(jnp.concatenate(outs, axis=1), full, rtol=1e-5, atol=1e-5)


def _tiled_layer(relative, clamp_len=None, seed=0):
    """`_layer`'s shape with blockwise full passes from 8 positions on, in tiles of 4."""
    cfg = ModelConfig(
        n_layers=2, n_heads=2, d_head=8, d_model=16, vocab_size=64, max_seq_len=32,
        position="relative" if relative else "absolute", clamp_len=clamp_len,
        blockwise_from=8, attention_block=4,
    )  # fmt: skip
    attn = Attention(cfg, rngs=nnx.Rngs(seed))
    randomize_params(attn, seed)
    return attn


@pytest.mark.parametrize(("relative", "clamp_len"), [(True, None), (True, 3), (False, None)])
@pytest.mark.parametrize("prompt_len", [1, 4])
def test_one_token_steps_after_prefill_match_full_pass(rng, relative, clamp_len, prompt_len):
    """The single-token path (`_attend_one`) at every position, in a cache with spare slots."""
    attn = _layer(relative=relative, clamp_len=clamp_len)
    x = jnp.asarray(rng.normal(size=(2, 11, 16)).astype(np.float32))
    full, _ = attn(x)
    first, cache = attn.prefill(x[:, :prompt_len], attn.init_cache(2, 16))
    outs = [first]
    for i in range(prompt_len, 11):
        y, cache = attn(x[:, i : i + 1], cache)
        outs.append(y)
    assert int(cache.index) == 11
    np.testing.assert_allclose(jnp.concatenate(outs, axis=1), full, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("relative", "clamp_len"), [(True, None), (True, 2), (False, None)])
def test_tiled_prefill_writes_the_cache_the_dense_chunk_writes(rng, relative, clamp_len):
    """prefill over 12 positions (tiles of 4) = the dense cached chunk: outputs and cache."""
    attn = _tiled_layer(relative, clamp_len)
    assert attn.uses_blockwise(12)
    x = jnp.asarray(rng.normal(size=(2, 12, 16)).astype(np.float32))
    tiled, cache = attn.prefill(x, attn.init_cache(2, 20))
    dense, want = attn(x, attn.init_cache(2, 20))  # scores against all 20 slots
    np.testing.assert_allclose(tiled, dense, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tiled, attn(x)[0], rtol=1e-5, atol=1e-5)
    assert int(cache.index) == int(want.index) == 12
    for got_array, want_array in [(cache.k_NxCxK, want.k_NxCxK), (cache.v_NxCxK, want.v_NxCxK)]:
        np.testing.assert_allclose(got_array, want_array, rtol=1e-6, atol=1e-6)
    step, _ = attn(x[:, -1:] * 0.5, cache)  # a step after the tiled prefill
    np.testing.assert_allclose(step, attn(x[:, -1:] * 0.5, want)[0], rtol=1e-5, atol=1e-5)


def test_cache_rows_are_sequence_major_and_read_back_position_major(rng):
    """Row b·H + h holds sequence b's head h; k_BxCxHxK gives the keys back as [B, C, H, K]."""
    attn = _layer(relative=True, clamp_len=None)
    x = jnp.asarray(rng.normal(size=(3, 5, 16)).astype(np.float32))
    _, cache = attn.prefill(x, attn.init_cache(3, 7))
    assert cache.k_NxCxK.shape == (3 * 2, 7, 8) and cache.r_HxCxK.shape == (2, 7, 8)
    keys_BxLxHxK = np.asarray(attn.key(x))
    np.testing.assert_allclose(cache.k_BxCxHxK[:, :5], keys_BxLxHxK, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cache.k_NxCxK[2 * 2 + 1, :5], keys_BxLxHxK[2, :, 1], rtol=1e-6)
    assert not np.any(np.asarray(cache.v_BxCxHxK[:, 5:]))  # unwritten slots stay zero
