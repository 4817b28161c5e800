"""Chapter 03's widgets: the attention explorer, the teacher-forcing stepper, the model table and
the reliability diagram (the numbers behind them: tests/nn/test_attention_terms.py and
tests/test_calibration.py)."""

import numpy as np
import pytest

from gopherlite import PRESETS
from gopherlite.calibration import Calibration
from gopherlite.workbook.viz import transformer as tviz
from gopherlite.workbook.viz.common import static_html

L, H = 5, 2


def _weights(seed=0):
    """Two layers of causal rows that sum to one, [1, H, L, L]."""
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(2):
        w = np.tril(rng.random((1, H, L, L)) + 0.01)
        layers.append(w / w.sum(-1, keepdims=True))
    return layers


LABELS = [f"{i}:t{i}" for i in range(L)]


def test_attention_explorer_follows_layer_head_and_query():
    weights = _weights()
    explorer = tviz.AttentionExplorer(weights, LABELS)
    assert explorer.query.value == L - 1
    np.testing.assert_allclose(explorer.figure.data[0].y, weights[0][0, 0, L - 1])
    explorer.query.value = 2
    bars = np.asarray(explorer.figure.data[0].y)
    np.testing.assert_allclose(bars, weights[0][0, 0, 2])
    assert np.all(bars[3:] == 0) and "query 2:t2" in explorer.figure.layout.title.text
    top = int(np.argmax(weights[0][0, 0, 2]))
    assert f"<b>{LABELS[top]}</b>" in explorer.readout.value
    explorer.layer.value, explorer.head.value = 1, 1
    np.testing.assert_allclose(explorer.figure.data[0].y, weights[1][0, 1, 2])
    assert explorer.figure.layout.shapes[0].y0 == 2  # the highlighted row of the heatmap
    heat = explorer.figure.data[1].z
    assert heat[0][1] is None and heat[1][0] == pytest.approx(weights[1][0, 1, 1, 0])
    assert "Layer 1, head 1" in static_html(explorer.static())


def test_attention_explorer_needs_a_label_per_token():
    with pytest.raises(ValueError, match="labels"):
        tviz.AttentionExplorer(_weights(), LABELS[:-1])


def test_teacher_forcing_stepper_marks_the_chosen_position():
    nll = np.arange(L, dtype=float)
    stepper = tviz.TeacherForcingStepper(LABELS, [f"next{i}" for i in range(L)], nll)
    stepper.position.value = 3
    z = np.asarray(stepper.figure.data[0].z)
    assert list(z[3]) == [2, 2, 2, 2, 0] and list(z[2]) == [1, 1, 1, 0, 0]
    colors = list(stepper.figure.data[1].marker.color)
    assert colors.count(colors[3]) == 1  # only position 3 is highlighted
    assert "next3" in stepper.readout.value and "loss 3.00" in stepper.readout.value
    assert "0:t0 1:t1 2:t2 3:t3" in stepper.readout.value
    with pytest.raises(ValueError, match="one entry per position"):
        tviz.TeacherForcingStepper(LABELS, LABELS, nll[:-1])


def test_model_family_table_takes_gopher_from_the_presets():
    html = tviz.model_family_html()
    gopher = PRESETS["280b"]
    assert f"{gopher.d_model:,}" in html and "encoder–decoder" in html and "decoder-only" in html
    assert html.count("<tr>") == len(tviz.MODEL_FAMILY) + 1


def test_calibration_figure_draws_one_line_per_model():
    edges = np.linspace(0, 1, 3)
    cal = Calibration(edges, np.array([0.2, np.nan]), np.array([0.3, np.nan]), np.array([4, 0]),
                      0.1, 0.2, 0.3)  # fmt: skip
    fig = tviz.calibration_figure({"a": cal, "b": cal})
    assert len(fig.data) == 3 and "ECE 0.100" in fig.data[1].name
    assert list(fig.data[1].x) == [0.2]  # the empty bin is not drawn
