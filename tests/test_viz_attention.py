"""Chapter 04's figures: the four score terms against the real layer, the shift, the clamp."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from gopherlite.nn.attention import Attention
from gopherlite.nn.positions import rel_shift, sinusoids
from gopherlite.workbook.experiments.variants import ExtrapolationResult, LengthScores
from gopherlite.workbook.viz import attention as viz
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
    terms = viz.relative_score_terms(attn, x)
    # The layer's own fused path: (q + u)·k plus the shifted (q + v)·W_kR R.
    r_CxHxK = attn.relative_keys(L - 1 - jnp.arange(L))
    fused = attn._relative_scores(attn.query(x), attn.key(x), r_CxHxK)
    np.testing.assert_allclose(_lower(terms.total()), _lower(fused), rtol=1e-4, atol=1e-4)
    assert np.isnan(np.asarray(terms.total())[..., 0, 1:]).all(), "future keys are masked"


def test_terms_reproduce_the_layers_output():
    attn, x = _layer(clamp_len=None, seed=3), _inputs(seed=4)
    terms = viz.relative_score_terms(attn, x)
    weights = jnp.nan_to_num(terms.weights())
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, rtol=1e-5)
    out = attn.out(jnp.einsum("BHQC,BCHK->BQHK", weights, attn.value(x)))
    expected, _ = attn(x)
    np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-4, atol=1e-5)


def test_each_term_has_the_structure_of_its_formula():
    attn, x = _layer(seed=5), _inputs(seed=6, batch=1)
    terms = viz.relative_score_terms(attn, x)
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
    terms = viz.relative_score_terms(_layer(clamp_len=2, seed=7), _inputs(seed=8, batch=1))
    d = np.asarray(terms.d_BxHxQxC[0, 0])
    assert d[6, 0] == pytest.approx(d[6, 4])  # distances 6 and 2 both read as 2
    assert d[6, 5] != pytest.approx(d[6, 4])  # distance 1 is still its own


def test_absolute_layers_have_no_relative_terms():
    attn = Attention(_config(position="absolute"), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="absolute"):
        viz.relative_score_terms(attn, _inputs())
    with pytest.raises(ValueError, match="Unknown term"):
        viz.relative_score_terms(_layer(), _inputs()).term("e")


@pytest.fixture(scope="module")
def model():
    model = GopherLM(_config(), rngs=nnx.Rngs(0))
    randomize_params(model, 0, scale=0.2)
    return model


def test_attention_inputs_are_what_each_attention_layer_reads(model):
    tokens = jnp.arange(L, dtype=jnp.int32)[None]
    inputs = viz.attention_inputs(model, tokens)
    assert len(inputs) == 2
    x = model.embed_tokens(tokens)
    np.testing.assert_allclose(inputs[0], model.blocks[0].attn_norm(x), rtol=1e-6)
    x, _ = model.blocks[0](x)
    np.testing.assert_allclose(inputs[1], model.blocks[1].attn_norm(x), rtol=1e-5, atol=1e-6)


def test_attention_inputs_explain_that_stacked_layers_cannot_be_walked():
    scanned = GopherLM(_config().replace(scan_layers=True), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="scan_layers=False"):
        viz.attention_inputs(scanned, jnp.arange(L, dtype=jnp.int32)[None])


def test_score_terms_explorer_redraws_on_every_control(model):
    labels = viz.token_labels([f"t{i}" for i in range(L)])
    explorer = viz.ScoreTermsExplorer(model, list(range(L)), labels)
    fig = explorer.figure
    assert len(fig.data) == 5 + H and all(isinstance(t, go.Heatmap) for t in fig.data)
    snapshot = lambda: [np.array(t.z, np.float64) for t in fig.data]  # noqa: E731

    before = snapshot()
    explorer.head.value = 2
    after = snapshot()
    assert not np.allclose(before[0], after[0], equal_nan=True), "top row follows the head"
    np.testing.assert_allclose(before[5], after[5], equal_nan=True)  # bottom row: same term
    expected = np.asarray(explorer.terms[0].a_BxHxQxC[0, 2])
    np.testing.assert_allclose(after[0], expected, rtol=1e-6, equal_nan=True)

    explorer.term.value = "d"
    bottom = snapshot()[5:]
    np.testing.assert_allclose(bottom[1], np.asarray(explorer.terms[0].d_BxHxQxC[0, 1]), rtol=1e-6)
    assert "v·W_kR R" in fig.layout.annotations[5].text

    explorer.layer.value = 1
    np.testing.assert_allclose(
        snapshot()[5], np.asarray(explorer.terms[1].d_BxHxQxC[0, 0]), rtol=1e-6
    )
    assert "Layer 1" in fig.layout.title.text
    assert len(explorer.static()) == 2


def test_weights_rows_of_the_bottom_row_sum_to_one(model):
    explorer = viz.ScoreTermsExplorer(model, list(range(L)), [str(i) for i in range(L)])
    for trace in explorer.figure.data[5:]:
        np.testing.assert_allclose(np.nansum(np.array(trace.z, np.float64), axis=1), 1.0, 1e-5)


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (1, 6)])
def test_shift_steps_end_where_rel_shift_does(shape):
    x = np.random.default_rng(0).normal(size=shape)
    steps = viz.rel_shift_steps(x)
    Q, C = shape
    assert [s.values.shape for s in steps] == [(Q, C), (Q, C + 1), (C + 1, Q), (C, Q), (Q, C)]
    np.testing.assert_allclose(steps[-1].values, np.asarray(rel_shift(jnp.asarray(x))), rtol=1e-6)
    assert all(s.labels.shape == s.values.shape for s in steps)


def test_shifted_distance_table_holds_i_minus_j_on_and_below_the_diagonal():
    n = 6
    distance, labels = viz.distance_indexed(n)
    final = viz.rel_shift_steps(distance, labels)[-1]
    i, j = np.tril_indices(n)
    np.testing.assert_array_equal(final.values[i, j], i - j)
    assert final.labels[4, 1] == "q4·r3"


def test_rel_shift_stepper_moves_through_the_steps():
    stepper = viz.RelShiftStepper(4)
    first = np.array(stepper.figure.data[0].z, np.float64)
    stepper.step.value = 1
    assert np.array(stepper.figure.data[0].z).shape == (4, 5)
    stepper.step.value = 4
    last = np.array(stepper.figure.data[0].z, np.float64)
    assert last.shape == first.shape and not np.allclose(last, first, equal_nan=True)
    assert "5." in stepper.figure.layout.annotations[0].text and "causal" in stepper.note.value
    stepper.size.value = 6
    assert np.array(stepper.figure.data[0].z).shape == (6, 6)
    assert len(stepper.static()[0].data) == 5


def test_clamp_figure_and_explorer():
    unclamped = np.array(viz.clamp_figure(10, None).data[0].z, np.float64)
    assert np.nanmax(unclamped) == 9
    explorer = viz.ClampExplorer(10, 3)
    z = np.array(explorer.figure.data[0].z, np.float64)
    assert np.nanmax(z) == 3 and np.isnan(z[0, 1])
    rows = np.array(explorer.figure.data[1].z)
    np.testing.assert_allclose(rows[3], rows[9])  # past the clamp the sinusoid rows repeat
    explorer.clamp.value = 6
    assert np.nanmax(np.array(explorer.figure.data[0].z, np.float64)) == 6
    assert "clamp_len = 6" in explorer.figure.layout.title.text


def test_sinusoid_dot_products_depend_on_the_offset_only():
    fig = viz.sinusoid_figure(max_distance=20, d=16, starts=(0, 5, 11))
    curves = [np.asarray(t.y) for t in fig.data if isinstance(t, go.Scatter)]
    assert len(curves) == 3
    for curve in curves[1:]:
        np.testing.assert_allclose(curve, curves[0], rtol=1e-4, atol=1e-4)
    assert curves[0][0] == pytest.approx(16 / 2 * 1.0, rel=1e-5)  # Σ_f cos(0) = d / 2


def test_smooth():
    y = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    np.testing.assert_array_equal(viz.smooth(y, 1), y)
    np.testing.assert_allclose(viz.smooth(np.full(6, 3.0), 3), 3.0)
    smoothed = viz.smooth(y, 3)
    assert smoothed[2] == pytest.approx(3.0)  # the NaN is skipped, its neighbours averaged
    assert smoothed[0] == pytest.approx(1.5)


def _fake_result():
    rng = np.random.default_rng(0)
    scores = {
        name: LengthScores(
            loss={n: 5.0 + 0.1 * k + rng.uniform() for k, n in enumerate((4, 8, 16))},
            per_position={n: rng.normal(5.0, 0.3, n) for n in (4, 8, 16)},
        )
        for name in ("relative", "absolute")
    }
    return ExtrapolationResult(seq_len=4, lengths=[4, 8, 16], runs={}, scores=scores)


def test_extrapolation_explorer_smooths_and_selects_lengths():
    result = _fake_result()
    explorer = viz.ExtrapolationExplorer(result)
    fig = explorer.figure
    assert len(fig.data) == 2 * 3 + 2
    np.testing.assert_allclose(fig.data[2].y, result.scores["relative"].per_position[16])
    assert list(fig.data[6].y) == pytest.approx(list(result.scores["relative"].loss.values()))
    explorer.window.value = 2
    smoothed = np.asarray(fig.data[2].y)
    np.testing.assert_allclose(smoothed, viz.smooth(result.scores["relative"].per_position[16], 2))
    explorer.lengths.value = (4,)
    assert [t.visible for t in fig.data[:3]] == [True, False, False]
    assert "absolute" in viz.extrapolation_table_html(result)
    assert len(explorer.static()) == 2


def test_terms_table_lists_all_four_terms():
    terms = viz.relative_score_terms(_layer(), _inputs(batch=1))
    table = viz.terms_table_html(terms, head=1)
    assert table.count("<tr>") == 5 and "u·k" in table
    magnitude = float(jnp.nanmean(jnp.abs(terms.c_BxHxQxC[0, 1])))
    assert f"{magnitude:.3f}" in table


def test_weights_scale_by_sqrt_d_head():
    terms = viz.relative_score_terms(_layer(), _inputs(batch=1))
    row = np.asarray(terms.total())[0, 0, 3, :4]
    expected = np.asarray(jax.nn.softmax(row / math.sqrt(K)))
    np.testing.assert_allclose(np.asarray(terms.weights())[0, 0, 3, :4], expected, rtol=1e-5)
