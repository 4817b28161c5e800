"""Sampling: logit processors, KV-cached generation against the uncached reference, errors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from gopherlite.sample import (
    _decode_with_cache,
    apply_temperature,
    generate,
    generate_uncached,
    sample_token,
    top_k_filter,
    top_p_filter,
)
from tests.conftest import randomize_params

SMALL = ModelConfig(n_layers=2, n_heads=2, d_head=8, d_model=16, vocab_size=64, max_seq_len=64)
VARIANTS = {
    "relative": SMALL,
    "clamped": SMALL.replace(clamp_len=3),
    "absolute": SMALL.replace(position="absolute", norm="layer"),
    "scanned": SMALL.replace(scan_layers=True),
}
N_DRAWS = 40_000


@functools.cache
def _model(variant: str, scale: float = 1.0) -> GopherLM:
    """A small model; scale 1.0 makes next-token distributions peaked (top-2 gaps ≫ 1e-5)."""
    model = GopherLM(VARIANTS[variant], rngs=nnx.Rngs(0))
    randomize_params(model, seed=1, scale=scale)
    return model


def _prompt(length: int, seed: int = 0) -> list[int]:
    return np.random.default_rng(seed).integers(0, SMALL.vocab_size, length).tolist()


def _draws(logits_V, **settings) -> np.ndarray:
    """N_DRAWS independent tokens from one distribution (one row per draw)."""
    logits_NxV = jnp.tile(jnp.asarray(logits_V, jnp.float32)[None], (N_DRAWS, 1))
    return np.asarray(sample_token(logits_NxV, jax.random.key(0), **settings))


# --- logit processors ---------------------------------------------------------------------


def test_apply_temperature_divides_and_rejects_zero():
    logits_BxV = jnp.asarray([[1.0, -2.0, 4.0]])
    np.testing.assert_allclose(apply_temperature(logits_BxV, 0.5), [[2.0, -4.0, 8.0]])
    with pytest.raises(ValueError, match="temperature > 0"):
        apply_temperature(logits_BxV, 0.0)


def test_top_k_filter_keeps_k_largest_and_breaks_ties_by_lower_id():
    logits_BxV = jnp.asarray([[1.0, 3.0, 3.0, 0.0, 3.0], [5.0, 4.0, 3.0, 2.0, 1.0]])
    kept = np.isfinite(np.asarray(jax.jit(top_k_filter, static_argnums=1)(logits_BxV, 2)))
    np.testing.assert_array_equal(kept, [[0, 1, 1, 0, 0], [1, 1, 0, 0, 0]])
    np.testing.assert_array_equal(top_k_filter(logits_BxV, 5), logits_BxV)


def test_top_k_sampling_only_draws_the_k_most_likely(rng):
    logits_V = rng.normal(0.0, 1.0, 64)
    top5 = set(np.argsort(-logits_V)[:5].tolist())
    assert not set(_draws(logits_V).tolist()) <= top5  # without the filter others do appear
    assert set(_draws(logits_V, top_k=5).tolist()) == top5


PROBS = [0.5, 0.3, 0.15, 0.05]


@pytest.mark.parametrize(("p", "n_kept"), [(0.8, 2), (0.81, 3), (1.0, 4), (0.3, 1), (1e-9, 1)])
def test_top_p_filter_keeps_the_smallest_nucleus(p, n_kept):
    order = np.asarray([2, 0, 3, 1])  # shuffled, so the filter must map its ranking back
    logits_BxV = jnp.log(jnp.asarray(PROBS))[order][None]
    kept = np.isfinite(np.asarray(top_p_filter(logits_BxV, p)))[0]
    np.testing.assert_array_equal(kept, order < n_kept)
    traced = jax.jit(top_p_filter)(logits_BxV, jnp.float32(p))  # p may also be traced
    np.testing.assert_array_equal(np.isfinite(np.asarray(traced))[0], order < n_kept)


def test_top_p_sampling_frequencies_match_renormalised_probabilities():
    """p = 0.81 keeps [0.5, 0.3, 0.15]; frequencies agree within 4 standard errors."""
    counts = np.bincount(_draws(np.log(PROBS), top_p=0.81), minlength=4)
    expected = np.asarray([*PROBS[:3], 0.0]) / 0.95
    stderr = np.sqrt(expected * (1 - expected) / N_DRAWS)
    assert counts[3] == 0
    np.testing.assert_array_less(np.abs(counts / N_DRAWS - expected), 4 * stderr + 1e-12)


def test_small_temperature_approaches_greedy_and_zero_is_argmax(rng):
    logits_BxV = jnp.asarray(rng.normal(0.0, 1.0, (256, 64)), jnp.float32)
    greedy_B = np.asarray(jnp.argmax(logits_BxV, axis=-1))
    cold_B = sample_token(logits_BxV, jax.random.key(3), temperature=1e-3)
    np.testing.assert_array_equal(cold_B, greedy_B)
    zero_B = sample_token(logits_BxV, jax.random.key(4), temperature=0, top_k=3, top_p=0.5)
    np.testing.assert_array_equal(zero_B, greedy_B)
    assert zero_B.dtype == jnp.int32 and zero_B.shape == (256,)


# --- generation ---------------------------------------------------------------------------
# Prompt + new tokens = TOTAL everywhere, so the uncached reference (one compiled forward pass
# per total length) and the cached loop (one per prompt shape and cache size) compile rarely.
TOTAL = 24


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("prompt_len", [1, 5, 17])
def test_greedy_cached_generation_equals_full_forward_passes(variant, prompt_len):
    model, prompt, n_new = _model(variant), _prompt(prompt_len), TOTAL - prompt_len
    cached = generate(model, prompt, n_new, temperature=0)
    assert cached == generate_uncached(model, prompt, n_new, temperature=0)
    assert len(cached) == n_new and all(0 <= t < SMALL.vocab_size for t in cached)


@pytest.mark.parametrize(
    ("variant", "settings"),
    [
        ("relative", {}),
        ("clamped", {"top_k": 8}),
        ("absolute", {"temperature": 1.5, "top_k": 20, "top_p": 0.9}),
    ],
)
def test_sampled_cached_generation_equals_uncached_with_the_same_seed(variant, settings):
    model, prompt = _model(variant), _prompt(5)
    cached = generate(model, prompt, TOTAL - 5, seed=7, **settings)
    assert cached == generate_uncached(model, prompt, TOTAL - 5, seed=7, **settings)


def test_batched_prompts_give_one_list_per_row_and_cut_each_at_eos():
    model = _model("relative")
    prompts = [_prompt(5, seed) for seed in range(3)]
    batch = generate(model, np.asarray(prompts), TOTAL - 5, temperature=0)
    assert batch == [generate(model, p, TOTAL - 5, temperature=0) for p in prompts]

    eos = batch[0][3]
    cut = generate(model, prompts, TOTAL - 5, temperature=0, eos_id=eos)
    for row, row_cut in zip(batch, cut, strict=True):
        assert row_cut == (row[: row.index(eos) + 1] if eos in row else row)
    assert cut[0][-1] == eos and len(cut[0]) <= 4
    unused = next(t for t in range(SMALL.vocab_size) if t not in batch[0])
    assert generate(model, prompts[0], TOTAL - 5, temperature=0, eos_id=unused) == batch[0]


def test_same_seed_same_tokens_and_different_seeds_differ():
    model, prompt = _model("relative", scale=0.3), _prompt(5)  # flatter distributions
    first = generate(model, prompt, TOTAL - 5, seed=11)
    assert first == generate(model, prompt, TOTAL - 5, seed=11)
    assert first != generate(model, prompt, TOTAL - 5, seed=12)


def test_compiles_once_per_prompt_length_and_cache_size():
    model, prompt = _model("relative"), _prompt(5)
    generate(model, prompt, 3, max_len=40)
    compiled = _decode_with_cache._cache_size()
    for n, seed in [(1, 0), (7, 1), (35, 2)]:
        assert len(generate(model, prompt, n, seed=seed, max_len=40)) == n
    assert _decode_with_cache._cache_size() == compiled
    # A roomier cache gives the same tokens as a tight one.
    roomy = generate(model, prompt, TOTAL - 5, seed=4, max_len=40)
    assert roomy == generate(model, prompt, TOTAL - 5, seed=4)


# --- errors -------------------------------------------------------------------------------

ERRORS = [
    ({"prompt_ids": []}, "prompt_ids is empty"),
    ({"prompt_ids": [[]]}, "prompt_ids is empty"),
    ({"prompt_ids": [[1, 2], [3]]}, "different lengths"),
    ({"prompt_ids": [1.0, 2.0]}, "integer token ids"),
    ({"prompt_ids": [1, -1]}, r"token id -1 outside \[0, 64\)"),
    ({"prompt_ids": [1, 64]}, r"token id 64 outside \[0, 64\)"),
    ({"max_new_tokens": 0}, "max_new_tokens must be >= 1"),
    ({"temperature": -0.5}, "temperature must be a finite number >= 0"),
    ({"top_k": 0}, "top_k must be an integer between 1 and vocab_size=64"),
    ({"top_k": 65}, "top_k must be an integer between 1 and vocab_size=64"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
    ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
    ({"eos_id": 64}, r"eos_id must be a token id in \[0, 64\)"),
]


@pytest.mark.parametrize("fn", [generate, generate_uncached])
@pytest.mark.parametrize(("override", "message"), ERRORS)
def test_bad_requests_raise_clear_errors(fn, override, message):
    kwargs = {"prompt_ids": [1, 2, 3], "max_new_tokens": 4} | override
    with pytest.raises(ValueError, match=message):
        fn(_model("relative"), **kwargs)


@pytest.mark.parametrize("fn", [generate, generate_uncached])
def test_absolute_model_refuses_to_generate_past_max_seq_len(fn):
    with pytest.raises(ValueError, match=r"needs 70 positions.*max_seq_len=64"):
        fn(_model("absolute"), _prompt(60), 10)


def test_max_len_must_hold_prompt_and_new_tokens():
    with pytest.raises(ValueError, match=r"max_len=12 cannot hold.*max_len >= 13"):
        generate(_model("relative"), _prompt(5), 8, max_len=12)
    with pytest.raises(ValueError, match=r"max_len=65 exceeds.*max_seq_len=64"):
        generate(_model("absolute"), _prompt(5), 8, max_len=65)
    # Relative attention has no table to run out of: longer than max_seq_len is fine.
    assert len(generate(_model("relative"), _prompt(60), 10, temperature=0)) == 10


# --- prefill ------------------------------------------------------------------------------
# Blockwise full passes from 8 positions on, in tiles of 4: prompts of 13 and 15 tokens prefill
# 12 positions tile by tile (and 2 more through decode for 15).
TILED = {"blockwise_from": 8, "attention_block": 4}


@functools.cache
def _tiled_model(variant: str) -> GopherLM:
    model = GopherLM(VARIANTS[variant].replace(**TILED), rngs=nnx.Rngs(0))
    randomize_params(model, seed=1)
    return model


@pytest.mark.parametrize("variant", ["relative", "absolute", "scanned"])
@pytest.mark.parametrize("prompt_len", [13, 15])
def test_tiled_prefill_generates_the_uncached_tokens(variant, prompt_len):
    model, prompt, n_new = _tiled_model(variant), _prompt(prompt_len), TOTAL - prompt_len
    cached = generate(model, prompt, n_new, temperature=0)
    assert cached == generate_uncached(model, prompt, n_new, temperature=0)
    # The same weights with dense prefill (blockwise off) give the same tokens.
    dense = GopherLM(VARIANTS[variant].replace(blockwise_from=None), rngs=nnx.Rngs(0))
    nnx.update(dense, nnx.state(model, nnx.Param))
    assert cached == generate(dense, prompt, n_new, temperature=0)
