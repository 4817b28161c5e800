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
