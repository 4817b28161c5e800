"""Chapter 04's figures: the four score terms per layer and head, the shift, the clamp, the
sinusoids and the extrapolation curves (the numbers are tested in tests/nn/test_attention_terms.py
and tests/experiments/test_relative_attention.py)."""

import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from gopherlite.nn.attention import Attention
from gopherlite.nn.attention_terms import TERM_NAMES, relative_score_terms
from gopherlite.workbook.experiments.curves import smooth
from gopherlite.workbook.experiments.variants import ExtrapolationResult, LengthScores
from gopherlite.workbook.viz import attention as viz
from gopherlite.workbook.viz import extrapolation, positions
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


@pytest.fixture(scope="module")
def model():
    model = GopherLM(_config(), rngs=nnx.Rngs(0))
    randomize_params(model, 0, scale=0.2)
    return model


def test_every_term_has_a_label():
    assert tuple(viz.TERM_LABELS) == tuple(viz.TERM_SHORT) == TERM_NAMES


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


def test_explorer_needs_one_label_per_token(model):
    with pytest.raises(ValueError, match="labels"):
        viz.ScoreTermsExplorer(model, list(range(L)), ["only one"])


def test_rel_shift_stepper_moves_through_the_steps():
    stepper = positions.RelShiftStepper(4)
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
    unclamped = np.array(positions.clamp_figure(10, None).data[0].z, np.float64)
    assert np.nanmax(unclamped) == 9
    explorer = positions.ClampExplorer(10, 3)
    z = np.array(explorer.figure.data[0].z, np.float64)
    assert np.nanmax(z) == 3 and np.isnan(z[0, 1])
    rows = np.array(explorer.figure.data[1].z)
    np.testing.assert_allclose(rows[3], rows[9])  # past the clamp the sinusoid rows repeat
    explorer.clamp.value = 6
    assert np.nanmax(np.array(explorer.figure.data[0].z, np.float64)) == 6
    assert "clamp_len = 6" in explorer.figure.layout.title.text


def test_sinusoid_dot_products_depend_on_the_offset_only():
    fig = positions.sinusoid_figure(max_distance=20, d=16, starts=(0, 5, 11))
    curves = [np.asarray(t.y) for t in fig.data if isinstance(t, go.Scatter)]
    assert len(curves) == 3
    for curve in curves[1:]:
        np.testing.assert_allclose(curve, curves[0], rtol=1e-4, atol=1e-4)
    assert curves[0][0] == pytest.approx(16 / 2 * 1.0, rel=1e-5)  # Σ_f cos(0) = d / 2


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
    explorer = extrapolation.ExtrapolationExplorer(result)
    fig = explorer.figure
    assert len(fig.data) == 2 * 3 + 2
    np.testing.assert_allclose(fig.data[2].y, result.scores["relative"].per_position[16])
    assert list(fig.data[6].y) == pytest.approx(list(result.scores["relative"].loss.values()))
    explorer.window.value = 2
    smoothed = np.asarray(fig.data[2].y)
    np.testing.assert_allclose(smoothed, smooth(result.scores["relative"].per_position[16], 2))
    explorer.lengths.value = (4,)
    assert [t.visible for t in fig.data[:3]] == [True, False, False]
    assert "absolute" in extrapolation.extrapolation_table_html(result)
    assert len(explorer.static()) == 2


def test_terms_table_lists_all_four_terms():
    terms = relative_score_terms(_layer(), _inputs(batch=1))
    table = viz.terms_table_html(terms, head=1)
    assert table.count("<tr>") == 5 and "u·k" in table
    magnitude = float(jnp.nanmean(jnp.abs(terms.c_BxHxQxC[0, 1])))
    assert f"{magnitude:.3f}" in table


def test_gaps_turn_nan_into_none():
    assert viz.gaps(np.array([[1.0, np.nan]])) == [[1.0, None]]
