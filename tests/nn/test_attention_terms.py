"""`nn.attention_terms`: the four Transformer-XL terms, computed one by one, against the layer."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from gopherlite.nn import attention_terms
from gopherlite.nn.attention import Attention
from gopherlite.nn.positions import sinusoids
from tests.conftest import randomize_params

D, H, K, L = 16, 3, 8, 7


def _config(**changes):
    base = ModelConfig(n_layers=2, n_heads=H, d_head=K, d_model=D, vocab_size=50, max_seq_len=16)
    return base.replace(**changes)


def _layer(clamp_len=None, seed=0):
    attn = Attention(_config(clamp_len=clamp_len), rngs=nnx.Rngs(seed))
    randomize_params(attn, seed)  # u and v start at zero; random values make (c), (d) show
    return attn


def _inputs(seed=1, batch=2):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(batch, L, D)), jnp.float32)


def _lower(x_BxHxQxC):
    return np.asarray(x_BxHxQxC)[..., np.tril_indices(L)[0], np.tril_indices(L)[1]]


@pytest.mark.parametrize("clamp_len", [None, 3])
def test_terms_sum_to_the_layers_unscaled_scores(clamp_len):
    attn, x = _layer(clamp_len), _inputs()
    terms = attention_terms.relative_score_terms(attn, x)
    # The layer's own fused path: (q + u)·k plus the shifted (q + v)·W_kR R.
    r_CxHxK = attn.relative_keys(L - 1 - jnp.arange(L))
    fused = attn._relative_scores(attn.query(x), attn.key(x), r_CxHxK)
    np.testing.assert_allclose(_lower(terms.total()), _lower(fused), rtol=1e-4, atol=1e-4)
    assert np.isnan(np.asarray(terms.total())[..., 0, 1:]).all(), "future keys are masked"


def test_terms_reproduce_the_layers_output():
    attn, x = _layer(clamp_len=None, seed=3), _inputs(seed=4)
    terms = attention_terms.relative_score_terms(attn, x)
    weights = jnp.nan_to_num(terms.weights())
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, rtol=1e-5)
    out = attn.out(jnp.einsum("BHQC,BCHK->BQHK", weights, attn.value(x)))
    expected, _ = attn(x)
    np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-4, atol=1e-5)


def test_each_term_has_the_structure_of_its_formula():
    attn, x = _layer(seed=5), _inputs(seed=6, batch=1)
    terms = attention_terms.relative_score_terms(attn, x)
    q, k = np.asarray(attn.query(x))[0], np.asarray(attn.key(x))[0]
    i, j, h = 5, 2, 1
    np.testing.assert_allclose(terms.a_BxHxQxC[0, h, i, j], q[i, h] @ k[j, h], rtol=1e-5)
    # (b) by hand: the sinusoid of distance i − j through W_kR.
    r = np.asarray(sinusoids(jnp.array([i - j]), D))[0] @ np.asarray(attn.pos_key.kernel[...])[:, h]
    np.testing.assert_allclose(terms.b_BxHxQxC[0, h, i, j], q[i, h] @ r, rtol=1e-4)
    # (c) depends on the key only: equal down each visible column.
    c = np.asarray(terms.c_BxHxQxC[0, h])
    np.testing.assert_allclose(c[L - 1, 0], c[3, 0], rtol=1e-6)
    np.testing.assert_allclose(c[4, 2], np.asarray(attn.u[...])[h] @ k[2, h], rtol=1e-5)
    # (d) depends on the distance only: constant along each diagonal.
    d = np.asarray(terms.d_BxHxQxC[0, h])
    for offset in range(L):
        diagonal = np.diagonal(d, -offset)
        np.testing.assert_allclose(diagonal, diagonal[0], rtol=1e-5)


def test_clamped_terms_see_no_difference_beyond_the_clamp():
    terms = attention_terms.relative_score_terms(
        _layer(clamp_len=2, seed=7), _inputs(seed=8, batch=1)
    )
    d = np.asarray(terms.d_BxHxQxC[0, 0])
    assert d[6, 0] == pytest.approx(d[6, 4])  # distances 6 and 2 both read as 2
    assert d[6, 5] != pytest.approx(d[6, 4])  # distance 1 is still its own


def test_absolute_layers_have_no_relative_terms():
    attn = Attention(_config(position="absolute"), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="absolute"):
        attention_terms.relative_score_terms(attn, _inputs())
    with pytest.raises(ValueError, match="Unknown term"):
        attention_terms.relative_score_terms(_layer(), _inputs()).term("e")


def test_term_names_select_each_term_the_sum_and_the_weights():
    terms = attention_terms.relative_score_terms(_layer(), _inputs(batch=1))
    assert attention_terms.TERM_NAMES == ("a", "b", "c", "d", "total", "weights")
    for name in attention_terms.TERMS:
        assert terms.term(name) is getattr(terms, f"{name}_BxHxQxC")
    np.testing.assert_array_equal(terms.term("total"), terms.total())
    np.testing.assert_array_equal(terms.term("weights"), terms.weights())


def test_weights_scale_by_sqrt_d_head():
    terms = attention_terms.relative_score_terms(_layer(), _inputs(batch=1))
    row = np.asarray(terms.total())[0, 0, 3, :4]
    expected = np.asarray(jax.nn.softmax(row / math.sqrt(K)))
    np.testing.assert_allclose(np.asarray(terms.weights())[0, 0, 3, :4], expected, rtol=1e-5)


def test_mean_magnitudes_average_the_visible_entries_only():
    terms = attention_terms.relative_score_terms(_layer(), _inputs(batch=2))
    magnitudes = terms.mean_magnitudes(head=1, sequence=1)
    assert list(magnitudes) == ["a", "b", "c", "d"]
    for name, value in magnitudes.items():
        visible = _lower(terms.term(name))[1, 1]
        assert value == pytest.approx(float(np.abs(visible).mean()), rel=1e-6)
    assert magnitudes != terms.mean_magnitudes(head=0, sequence=1)


@pytest.fixture(scope="module")
def model():
    model = GopherLM(_config(), rngs=nnx.Rngs(0))
    randomize_params(model, 0, scale=0.2)
    return model


def test_attention_inputs_are_what_each_attention_layer_reads(model):
    tokens = jnp.arange(L, dtype=jnp.int32)[None]
    inputs = attention_terms.attention_inputs(model, tokens)
    assert len(inputs) == 2
    x = model.embed_tokens(tokens)
    np.testing.assert_allclose(inputs[0], model.blocks[0].attn_norm(x), rtol=1e-6)
    x, _ = model.blocks[0](x)
    np.testing.assert_allclose(inputs[1], model.blocks[1].attn_norm(x), rtol=1e-5, atol=1e-6)


def test_attention_inputs_explain_that_stacked_layers_cannot_be_walked():
    scanned = GopherLM(_config().replace(scan_layers=True), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="scan_layers=False"):
        attention_terms.attention_inputs(scanned, jnp.arange(L, dtype=jnp.int32)[None])


def test_model_score_terms_are_each_layers_terms(model):
    tokens = jnp.arange(L, dtype=jnp.int32)[None]
    every = attention_terms.model_score_terms(model, tokens)
    assert len(every) == 2
    x1 = attention_terms.attention_inputs(model, tokens)[1]
    one = attention_terms.relative_score_terms(model.blocks[1].attn, x1)
    np.testing.assert_array_equal(every[1].b_BxHxQxC, one.b_BxHxQxC)
    assert not np.allclose(_lower(every[0].a_BxHxQxC), _lower(every[1].a_BxHxQxC))


@pytest.mark.parametrize("position", ["absolute", "relative"])
def test_attention_weights_rebuild_each_layer_output(position):
    """weights · values, then W_o, gives each layer's own output; rows sum to 1; no future."""
    config = ModelConfig(
        n_layers=2, n_heads=3, d_head=8, d_model=16, vocab_size=50, max_seq_len=9, position=position
    )
    model = GopherLM(config, rngs=nnx.Rngs(0))
    randomize_params(model, 5)
    tokens = jnp.asarray(np.random.default_rng(2).integers(0, 50, size=(2, 9)), jnp.int32)
    weights = attention_terms.attention_weights(model, tokens)
    inputs = attention_terms.attention_inputs(model, tokens)
    assert len(weights) == 2
    for block, w_BxHxQxC, x_BxLxD in zip(model.blocks, weights, inputs, strict=True):
        np.testing.assert_allclose(np.asarray(w_BxHxQxC.sum(-1)), 1.0, atol=1e-5)
        future = np.triu(np.ones((9, 9), bool), k=1)
        assert np.all(np.asarray(w_BxHxQxC)[:, :, future] == 0.0)
        values = block.attn.value(x_BxLxD)
        rebuilt = block.attn.out(jnp.einsum("BHQC,BCHK->BQHK", w_BxHxQxC, values))
        np.testing.assert_allclose(rebuilt, block.attn(x_BxLxD)[0], atol=1e-5)
