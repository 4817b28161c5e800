"""`workbook.viz`: shared display rules, the architecture figures and explorers (chapter 00),
and the tokenization views (chapter 02)."""

import html
import math

import plotly.graph_objects as go
import pytest

from gopherlite import PRESETS, ModelConfig, Tokenizer
from gopherlite.config import TABLE1_LABELS
from gopherlite.workbook.viz import architecture, common, tokenization

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
SMALL_PRESETS = [name for name in PRESETS if name != "280b"]  # 280B takes seconds to build


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


# --- architecture: closed forms against the real model --------------------------------------


@pytest.mark.parametrize("name", SMALL_PRESETS)
def test_param_breakdown_matches_the_model(name):
    config = PRESETS[name]
    assert architecture.total_params(config) == config.num_params()


@pytest.mark.parametrize(
    "config",
    [
        PRESETS["280b"].replace(n_layers=1),  # 280B's widths; the count is linear in layers
        PRESETS["tiny"].replace(position="absolute", norm="layer"),
        ModelConfig(n_layers=3, n_heads=5, d_head=24, d_model=96, vocab_size=777, d_ff=200),
        ModelConfig(
            n_layers=2,
            n_heads=3,
            d_head=16,
            d_model=64,
            vocab_size=300,
            position="absolute",
            max_seq_len=40,
        ),
    ],
    ids=["280b-widths", "gpt2-style", "odd-shapes", "absolute"],
)
def test_param_breakdown_matches_the_model_for_other_shapes(config):
    assert architecture.total_params(config) == config.num_params()


def test_param_breakdown_parts():
    parts = {p.label: p.value for p in architecture.param_breakdown(PRESETS["44m"])}
    assert parts["token embedding (tied with output)"] == 32_000 * 512
    assert parts["feed-forward"] == 8 * 2 * 512 * 2048
    assert "position table (absolute)" not in parts  # relative attention has none


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("seq_len", [None, 128, 8192])
@pytest.mark.parametrize("training", [True, False])
def test_flops_breakdown_sums_to_flops_per_token(name, seq_len, training):
    config = PRESETS[name]
    parts = architecture.flops_breakdown(config, seq_len, training=training)
    expected = config.flops_per_token(seq_len, training=training)
    assert math.isclose(sum(p.value for p in parts), expected, rel_tol=1e-12)


def test_gopher_memory_is_two_and_a_half_tebibytes():
    rows = architecture.memory_breakdown(architecture.total_params(PRESETS["280b"]))
    gopher = next(p for p in rows if p.label.startswith("Gopher"))
    assert 2.5 <= gopher.value / 2**40 < 2.6  # Gopher Sec. 3.3: "2.5 TiB"


def test_family_rows_match_table_1():
    rows = {row["preset"]: row for row in architecture.family_rows()}
    for name, label in TABLE1_LABELS.items():
        assert rows[name]["label"] == label
    assert rows["tiny"]["table1"] == "—"
    table = architecture.family_table_figure()
    assert sum("✓" in cell for cell in table.data[0].cells.values[7]) == len(TABLE1_LABELS)


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
    expected = architecture.total_params(PRESETS["44m"].replace(n_layers=12))
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


def test_sweep_measures_each_size(tokenizer_training_text):
    text, heldout = tokenizer_training_text[:100_000], tokenizer_training_text[-20_000:]
    measurements, tokenizers = tokenization.sweep_vocab_sizes(text, heldout, [400, 800])
    assert [m.vocab_size for m in measurements] == [400, 800]
    assert all(isinstance(t, Tokenizer) for t in tokenizers.values())
    assert measurements[1].bytes_per_token > measurements[0].bytes_per_token
    assert all(m.train_seconds > 0 for m in measurements)
    fig = tokenization.vocab_sweep_figure(measurements)
    assert list(fig.data[0].x) == [400, 800]


@pytest.mark.parametrize("name", list(tokenization.NORMALIZATIONS))
@pytest.mark.parametrize("text", ["ﬁne  x²\n\tＡ①", "  lead and trail  ", "", "   ", "Cafe\u0301"])
def test_normalize_segments_align_both_texts(name, text):
    normalized, segments = tokenization.normalize(text, name)
    assert "".join(old for old, _ in segments) == text
    assert "".join(new for _, new in segments) == normalized


def test_normalization_rules():
    text = "x²  ﬁ\nA"
    assert tokenization.normalize(text, "identity (gopherlite: text kept as is)")[0] == text
    assert tokenization.normalize(text, "nfkc (Gopher's tokenizer)")[0] == "x2 fi\nA"
    assert tokenization.normalize(text, "nmt_nfkc (SentencePiece's default)")[0] == "x2 fi A"
    assert tokenization.normalize(text, "nmt_nfkc_cf (default + case folding)")[0] == "x2 fi a"


def test_normalization_explorer(shown):
    explorer = tokenization.NormalizationExplorer("x²")
    assert "U+00B2" in explorer.output.value and "<mark" in explorer.output.value
    explorer.rule.value = "identity (gopherlite: text kept as is)"
    assert "No change" in explorer.output.value
    explorer.show()
    fallback = shown[0]._repr_mimebundle_()["text/html"]
    assert all(html.escape(name) in fallback for name in tokenization.NORMALIZATIONS)
