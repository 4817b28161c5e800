"""Chapter 08's pieces: the scaling figure, the live loss plot and the sampling playground (the
fit itself: tests/experiments/test_scaling.py)."""

import plotly.graph_objects as go
from flax import nnx

from gopherlite.config import ModelConfig
from gopherlite.nn import GopherLM
from gopherlite.workbook.experiments.scaling import fit_power_law
from gopherlite.workbook.viz import training
from gopherlite.workbook.viz.common import WithFallback, static_html


def test_scaling_figure_draws_points_and_fit():
    n_N, loss_N = [1e3, 1e4, 1e5], [5.0, 4.0, 3.2]
    fit = fit_power_law(n_N, loss_N, offset=False)
    fig = training.scaling_figure(n_N, loss_N, ["a", "b", "c"], fit)
    assert len(fig.data) == 2 and fig.layout.xaxis.type == "log" == fig.layout.yaxis.type
    assert list(fig.data[0].text) == ["a", "b", "c"]


def test_live_plot_appends_a_point_per_callback():
    plot = training.LiveLossPlot(total_steps=20)
    assert len(plot.figure.data[0].x) == 0
    plot.callback({"step": 10, "loss": 5.0, "bits_per_byte": 2.0})
    plot.callback({"step": 20, "loss": 4.5, "bits_per_byte": 1.8, "eval_loss": 4.7})
    assert list(plot.figure.data[0].x) == [10, 20]
    assert list(plot.figure.data[0].y) == [5.0, 4.5]
    assert list(plot.figure.data[1].y) == [4.7]
    assert plot.progress.value == 20 and "step 20 of 20" in plot.status.value
    static = plot.static()
    assert isinstance(static[1], go.Figure) and list(static[1].data[0].y) == [5.0, 4.5]


def test_live_plot_fallback_holds_the_curve():
    plot = training.LiveLossPlot(total_steps=20)
    plot.callback({"step": 1, "loss": 3.25})
    bundle = WithFallback(plot.widget, "")._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "step 1" in static_html(plot.static())


class _CharTokenizer:
    """Letters a–z as ids 1–26 (0 is BOS): enough to decode a random model's samples."""

    bos_id = 0

    def encode(self, text):
        return [ord(ch) - 96 for ch in text.lower() if "a" <= ch <= "z"]

    def decode(self, ids):
        return "".join(chr(96 + i) if 1 <= i <= 26 else "·" for i in ids)


def test_sampling_output_changes_with_temperature():
    config = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=32, max_seq_len=32)
    model = GopherLM(config, rngs=nnx.Rngs(0))
    playground = training.SamplingPlayground(
        model, _CharTokenizer(), "abc", temperature=0.0, top_p=1.0, max_new_tokens=16
    )
    greedy = playground.output.value
    assert greedy.startswith('<pre style="white-space: pre-wrap"><b>abc</b>')
    assert playground.continuation() in greedy  # greedy decoding is deterministic
    playground.temperature.value = 2.0
    assert playground.output.value != greedy
    assert "temperature 2.0" in playground.static()[0]
