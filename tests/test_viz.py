"""`workbook.viz`: shared display rules, the architecture figures and explorers (chapter 00),
and the tokenization views (chapter 02). Their numbers are tested in tests/test_counts.py and
tests/experiments/."""

import html
import math

import plotly.graph_objects as go
import pytest

from gopherlite import PRESETS
from gopherlite.config import TABLE1_LABELS
from gopherlite.counts import flops_breakdown, param_breakdown, total_params
from gopherlite.workbook.experiments.tokenization import NORMALIZATIONS, VocabMeasurement
from gopherlite.workbook.viz import architecture, common, tokenization

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shown(monkeypatch):
    """Everything passed to IPython's display by `viz.common.show`."""
    displayed = []
    monkeypatch.setattr(common, "display", displayed.append)
    return displayed


# --- common ---------------------------------------------------------------------------------


def test_formatting():
    assert common.format_count(43_663_872) == "43.7M"
    assert common.format_count(279_702_421_504) == "280B"
    assert common.format_count(512) == "512"
    assert common.format_bytes(2**30 * 1.5) == "1.5 GiB"
    assert common.format_bytes(100) == "100 B"
    assert common.format_flops(4.1287e8) == "4.13e+08 FLOPs"


def test_html_table_escapes_cells():
    table = common.html_table(["a<b"], [["x & y"]])
    assert "<th>a&lt;b</th>" in table and "<td>x &amp; y</td>" in table


def test_style_applies_the_workbook_template():
    fig = common.style(go.Figure(), title="t")
    assert fig.layout.template.layout.colorway == common.PALETTE
    assert fig.layout.title.text == "t"


def test_show_pairs_a_widget_with_static_html(shown):
    import ipywidgets

    figure = go.Figure(go.Bar(x=[1], y=["a"]))
    common.show(ipywidgets.Label("live"), figure, "<p>note</p>")
    bundle = shown[0]._repr_mimebundle_()
    assert WIDGET_MIME in bundle
    assert "<p>note</p>" in bundle["text/html"] and "plotly" in bundle["text/html"]


# --- architecture figures (the numbers: tests/test_counts.py, tests/experiments/) ----------


def test_family_table_marks_every_table_1_match():
    table = architecture.family_table_figure()
    assert sum("✓" in cell for cell in table.data[0].cells.values[7]) == len(TABLE1_LABELS)


def test_breakdown_figure_draws_the_library_counts():
    config = PRESETS["tiny"]
    fig = architecture.breakdown_figure(config, 512)
    assert list(fig.data[0].x) == [p.value for p in param_breakdown(config)]
    assert list(fig.data[1].x) == [p.value for p in flops_breakdown(config, 512)]
    assert "1.38M parameters" in fig.layout.title.text


def test_family_and_share_figures():
    fig = architecture.family_figure()
    assert len(fig.data[1].x) == len(PRESETS)
    share = architecture.flops_share_figure(2048)
    for i in range(len(PRESETS)):
        assert math.isclose(sum(trace.y[i] for trace in share.data), 100.0)


# --- architecture explorer ------------------------------------------------------------------


def test_layer_slider_updates_the_readout_and_the_figure():
    explorer = architecture.ArchitectureExplorer("44m")
    before_x = explorer.figure.data[0].x
    assert "43,663,872" in explorer.param_readout.value
    explorer.sliders["n_layers"].value = 12
    expected = total_params(PRESETS["44m"].replace(n_layers=12))
    assert f"{expected:,}" in explorer.param_readout.value
    assert explorer.figure.data[0].x != before_x
    assert "57.3M parameters" in explorer.figure.layout.title.text


def test_context_changes_flops_but_not_parameters():
    explorer = architecture.ArchitectureExplorer("44m")
    params, flops = explorer.param_readout.value, explorer.figure.data[1].x
    explorer.sliders["max_seq_len"].value = 8192
    assert explorer.param_readout.value == params
    assert explorer.figure.data[1].x != flops


def test_preset_dropdown_loads_every_slider():
    explorer = architecture.ArchitectureExplorer("44m")
    explorer.preset.value = "280b"
    assert explorer.config == PRESETS["280b"]
    assert "279,702,421,504" in explorer.param_readout.value
    assert "2.54 TiB" in explorer.cost_readout.value


def test_explorer_css_classes_and_fallback(shown):
    explorer = architecture.ArchitectureExplorer("tiny")
    assert "gl-layers-slider" in explorer.sliders["n_layers"]._dom_classes
    assert "gl-param-count" in explorer.param_readout._dom_classes
    assert "gl-breakdown" in explorer.figure._dom_classes
    explorer.show()
    bundle = shown[0]._repr_mimebundle_()
    assert WIDGET_MIME in bundle and "1,378,432" in bundle["text/html"]


def test_flops_share_explorer_redraws():
    explorer = architecture.FlopsShareExplorer(2048)
    scores = next(t for t in explorer.figure.data if t.name == "attention scores and values")
    before = scores.y
    explorer.context.value = 32768
    assert all(after > b for after, b in zip(scores.y, before, strict=True))
    assert "32,768" in explorer.figure.layout.title.text


# --- tokenization ---------------------------------------------------------------------------


def test_pieces_html_shows_ids_and_marks_byte_fallback(small_tokenizer):
    rendered = tokenization.pieces_html(small_tokenizer, "a <b>\n🦫")
    ids = small_tokenizer.encode("a <b>\n🦫")
    for token_id in ids:
        assert f">{token_id}</sub>" in rendered
    assert rendered.count("dashed") == sum(small_tokenizer.is_byte(i) for i in ids) == 4
    assert "&lt;" in rendered and "<b>" not in rendered.replace("<br>", "")
    assert "↵" in rendered and "<br>" in rendered


def test_pieces_html_truncates(small_tokenizer):
    rendered = tokenization.pieces_html(small_tokenizer, "word " * 100, max_tokens=10)
    assert rendered.count("<sub") == 10 and "more tokens" in rendered


def test_playground_redraws_on_typing(small_tokenizer, shown):
    playground = tokenization.TokenizerPlayground({"small": small_tokenizer}, "hello")
    before = playground.pieces.value
    playground.text.value = "goodbye 🦫"
    assert playground.pieces.value != before
    assert "byte-fallback tokens" in playground.stats.value
    assert "Round trip exact: True" in playground.stats.value
    playground.show()
    assert WIDGET_MIME in shown[0]._repr_mimebundle_()


def test_vocab_sweep_figure_draws_each_size():
    measurements = [VocabMeasurement(400, 0.5, 2.5, 0.1), VocabMeasurement(800, 0.9, 2.9, 0.05)]
    fig = tokenization.vocab_sweep_figure(measurements)
    assert list(fig.data[0].x) == [400, 800]
    assert list(fig.data[0].y) == [2.5, 2.9] and list(fig.data[1].y) == [0.5, 0.9]


def test_normalization_explorer(shown):
    explorer = tokenization.NormalizationExplorer("x²")
    assert "U+00B2" in explorer.output.value and "<mark" in explorer.output.value
    explorer.rule.value = "identity (gopherlite: text kept as is)"
    assert "No change" in explorer.output.value
    explorer.show()
    fallback = shown[0]._repr_mimebundle_()["text/html"]
    assert all(html.escape(name) in fallback for name in NORMALIZATIONS)
