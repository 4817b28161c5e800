"""Whole-model properties of GopherLM: causality, jit agreement, caching, long contexts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from tests.conftest import randomize_params

SMALL = ModelConfig(n_layers=2, n_heads=2, d_head=8, d_model=16, vocab_size=50, max_seq_len=24)
VARIANTS = {
    "gopher": SMALL,
    "gpt2": SMALL.replace(position="absolute", norm="layer"),
    "clamped": SMALL.replace(clamp_len=3),
    "scanned": SMALL.replace(scan_layers=True),
}


def _model(cfg, seed=0):
    model = GopherLM(cfg, rngs=nnx.Rngs(seed))
    randomize_params(model, seed, scale=0.2)
    return model


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("t", [0, 5, 11])
def test_causality_by_gradients(rng, variant, t):
    """d logits[t] / d input[s] is exactly zero for s > t and nonzero for every s ≤ t."""
    model = _model(VARIANTS[variant])
    tokens = jnp.asarray(rng.integers(0, 50, (2, 12)), jnp.int32)
    x_BxLxD = model.embed_tokens(tokens)

    def logits_at_t(x):
        return model.unembed(model.apply_blocks(x)[0])[:, t].sum()

    grad_per_pos = np.abs(np.asarray(jax.grad(logits_at_t)(x_BxLxD))).sum(axis=(0, 2))
    assert np.all(grad_per_pos[t + 1 :] == 0.0), grad_per_pos
    assert np.all(grad_per_pos[: t + 1] > 0.0), grad_per_pos


@pytest.mark.parametrize("variant", VARIANTS)
def test_jit_and_eager_agree(rng, variant):
    model = _model(VARIANTS[variant])
    tokens = jnp.asarray(rng.integers(0, 50, (3, 17)), jnp.int32)
    eager = model(tokens)
    jitted = nnx.jit(lambda m, t: m(t))(model, tokens)
    assert eager.shape == (3, 17, 50) and eager.dtype == jnp.float32
    np.testing.assert_allclose(jitted, eager, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_cached_decoding_gives_full_pass_logits(rng, variant):
    model = _model(VARIANTS[variant])
    tokens = jnp.asarray(rng.integers(0, 50, (2, 15)), jnp.int32)
    full = model(tokens)
    caches = model.init_cache(2, 20)
    logits, caches = model.decode(tokens[:, :6], caches)  # prefill
    steps = [logits]
    step = nnx.jit(lambda m, t, c: m.decode(t, c))
    for i in range(6, 15):
        logits, caches = step(model, tokens[:, i : i + 1], caches)
        steps.append(logits)
    np.testing.assert_allclose(jnp.concatenate(steps, 1), full, rtol=1e-5, atol=1e-5)


def test_relative_model_runs_past_its_training_length(rng):
    model = _model(SMALL)
    long = jnp.asarray(rng.integers(0, 50, (1, 3 * SMALL.max_seq_len)), jnp.int32)
    logits = model(long)
    assert logits.shape == (1, 72, 50) and bool(jnp.all(jnp.isfinite(logits)))
    # The prefix's logits do not depend on what comes after (causality at any length).
    np.testing.assert_allclose(logits[:, :24], model(long[:, :24]), rtol=1e-5, atol=1e-5)


def test_absolute_model_refuses_sequences_longer_than_its_table(rng):
    model = _model(VARIANTS["gpt2"])
    with pytest.raises(ValueError, match=r"max_seq_len=24.*position='relative'"):
        model(jnp.zeros((1, 25), jnp.int32))
    with pytest.raises(ValueError, match="max_seq_len=24"):
        model.init_cache(1, 30)


@pytest.mark.parametrize(
    "tokens", [jnp.zeros((2, 4), jnp.float32), jnp.zeros((4,), jnp.int32)], ids=["float", "1d"]
)
def test_bad_token_input_explains_itself(tokens):
    with pytest.raises(TypeError, match=r"integer token ids of shape \[batch, length\]"):
        GopherLM(SMALL, rngs=nnx.Rngs(0))(tokens)


def test_bfloat16_activations_keep_float32_logits_and_stay_close(rng):
    tokens = jnp.asarray(rng.integers(0, 50, (2, 10)), jnp.int32)
    ref = _model(SMALL)(tokens)
    bf16 = _model(SMALL.replace(dtype="bfloat16"))(tokens)
    assert bf16.dtype == jnp.float32
    np.testing.assert_allclose(bf16, ref, rtol=0.05, atol=0.05)


def test_tied_embedding_is_the_output_matrix(rng):
    """Changing the embedding row of a token absent from the input changes only its logit."""
    model = _model(SMALL)
    tokens = jnp.asarray(rng.integers(0, 7, (1, 6)), jnp.int32)  # token 7 never appears
    before = model(tokens)
    model.embed.embedding[...] = model.embed.embedding[...].at[7].add(1.0)
    changed = np.abs(np.asarray(model(tokens) - before)).max(axis=(0, 1))
    assert changed[7] > 1e-3
    assert np.all(np.delete(changed, 7) == 0.0)


def test_initialisation_is_reproducible_and_seed_dependent():
    a = nnx.state(GopherLM(SMALL, rngs=nnx.Rngs(3)), nnx.Param)
    b = nnx.state(GopherLM(SMALL, rngs=nnx.Rngs(3)), nnx.Param)
    c = nnx.state(GopherLM(SMALL, rngs=nnx.Rngs(4)), nnx.Param)
    assert all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(jnp.all(x == y)), a, b)))
    assert not all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(jnp.all(x == y)), a, c)))


def test_rematerialised_blocks_give_the_same_gradients(rng):
    tokens = jnp.asarray(rng.integers(0, 50, (2, 12)), jnp.int32)

    def grads(cfg):
        return nnx.grad(lambda m: m(tokens).mean())(_model(cfg))

    plain, remat = grads(SMALL), grads(SMALL.replace(remat=True))
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(remat), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)


def _stacked_copy(unrolled, cfg):
    """A ``scan_layers`` model holding ``unrolled``'s weights, layer i at index i."""
    scanned = GopherLM(cfg.replace(scan_layers=True), rngs=nnx.Rngs(99))
    flat = dict(nnx.to_flat_state(nnx.state(unrolled, nnx.Param)))
    stacked = []
    for path, var in nnx.to_flat_state(nnx.state(scanned, nnx.Param)):
        if path[0] == "blocks":
            per_layer = [flat[("blocks", i, *path[1:])][...] for i in range(cfg.n_layers)]
            value = jnp.stack(per_layer)
        else:
            value = flat[path][...]
        assert value.shape == var.shape, path
        stacked.append((path, var.replace(value)))
    nnx.update(scanned, nnx.from_flat_state(stacked))
    return scanned


@pytest.mark.parametrize("remat", [False, True])
def test_scan_over_layers_computes_the_unrolled_model(rng, remat):
    """Same weights, stacked: same logits, same gradients, same cached decoding."""
    cfg = SMALL.replace(n_layers=3, remat=remat)
    unrolled = _model(cfg)
    scanned = _stacked_copy(unrolled, cfg)
    tokens = jnp.asarray(rng.integers(0, 50, (2, 11)), jnp.int32)
    np.testing.assert_allclose(scanned(tokens), unrolled(tokens), rtol=1e-5, atol=1e-5)

    def loss(model):
        return jnp.mean(model(tokens) ** 2)

    g_unrolled = nnx.state(nnx.grad(loss)(unrolled), nnx.Param)
    g_scanned = nnx.state(nnx.grad(loss)(scanned), nnx.Param)
    np.testing.assert_allclose(
        g_scanned["blocks"]["ffn"]["down"]["kernel"][...][2],
        g_unrolled["blocks"][2]["ffn"]["down"]["kernel"][...],
        rtol=1e-4, atol=1e-7,
    )  # fmt: skip
    np.testing.assert_allclose(
        g_scanned["embed"]["embedding"][...], g_unrolled["embed"]["embedding"][...],
        rtol=1e-4, atol=1e-7,
    )  # fmt: skip

    cache = scanned.init_cache(2, 12)
    assert cache.k_BxCxHxK.shape[0] == cfg.n_layers  # one stacked cache, not a list
    logits, cache = scanned.decode(tokens[:, :10], cache)
    last, _ = scanned.decode(tokens[:, 10:], cache)
    np.testing.assert_allclose(
        jnp.concatenate([logits, last], 1), unrolled(tokens), rtol=1e-5, atol=1e-5
    )


def test_scanned_parameters_carry_a_layers_axis():
    model = GopherLM(SMALL.replace(n_layers=3, scan_layers=True), rngs=nnx.Rngs(0))
    kernel = nnx.state(model, nnx.Param)["blocks"]["attn"]["query"]["kernel"]
    assert kernel.shape == (3, 16, 2, 8)
    assert kernel.get_metadata()["out_sharding"] == ("layers", "embed", "heads", "kv")
    assert SMALL.replace(scan_layers=True).num_params() == SMALL.num_params()
    # Layers draw different initial weights.
    assert not np.allclose(kernel[...][0], kernel[...][1])


TILED = {"dense prefill": {}, "tiled prefill": {"blockwise_from": 8, "attention_block": 4}}


@pytest.mark.parametrize("tiling", TILED)
@pytest.mark.parametrize("variant", VARIANTS)
def test_prefill_gives_the_logits_and_caches_of_decode(rng, variant, tiling):
    """GopherLM.prefill = decode on an empty cache; the steps after it = the full pass.

    With tiles of 4 from 8 positions on, the 14-token prompt is split: 12 positions through
    the blockwise full pass, the last 2 through `decode`.
    """
    model = _model(VARIANTS[variant].replace(**TILED[tiling]))
    tokens = jnp.asarray(rng.integers(0, 50, (2, 17)), jnp.int32)
    logits, caches = jax.jit(model.prefill)(tokens[:, :14], model.init_cache(2, 20))
    want, want_caches = model.decode(tokens[:, :14], model.init_cache(2, 20))
    np.testing.assert_allclose(logits, want, rtol=1e-5, atol=1e-5)
    for got, expected in zip(jax.tree.leaves(caches), jax.tree.leaves(want_caches), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)

    steps = [logits]
    step = jax.jit(model.decode)
    for i in range(14, 17):
        logits, caches = step(tokens[:, i : i + 1], caches)
        steps.append(logits)
    np.testing.assert_allclose(jnp.concatenate(steps, 1), model(tokens), rtol=1e-5, atol=1e-5)


def test_short_prompts_skip_the_split(rng):
    """Below blockwise_from (or without it) the whole prompt goes through one full pass."""
    model = _model(SMALL.replace(blockwise_from=None))
    tokens = jnp.asarray(rng.integers(0, 50, (1, 9)), jnp.int32)
    logits, caches = model.prefill(tokens, model.init_cache(1, 12))
    assert [int(c.index) for c in caches] == [9, 9]
    np.testing.assert_allclose(logits, model(tokens), rtol=1e-5, atol=1e-5)
