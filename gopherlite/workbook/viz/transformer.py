"""Drawing the Transformer's pieces: attention weights, the causal mask, model families (ch. 03).

* :class:`AttentionExplorer`: pick a layer, a head and a query token of a real sentence and see
  how that query's attention weights spread over the keys it may see.
* :class:`TeacherForcingStepper`: step along a training window; each position sees the tokens up
  to itself, is trained to predict the next one, and all positions are scored in one pass.
* :data:`MODEL_FAMILY`, :func:`model_family_html`: the original encoder–decoder Transformer
  beside the decoder-only GPT-2, GPT-3 and Gopher, with their published sizes.
* :func:`calibration_figure`: reliability diagrams of `gopherlite.calibration.Calibration`.

Weights come from `gopherlite.nn.attention_terms.attention_weights`; nothing is recomputed here.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gopherlite.calibration import Calibration
from gopherlite.config import PRESETS
from gopherlite.workbook.viz.common import PALETTE, Explorer, format_count, html_table, style


class AttentionExplorer(Explorer):
    """One query's attention weights over the keys, for a chosen layer and head.

    CSS classes: ``gl-attn-explorer`` (the whole), ``gl-attn-layer``, ``gl-attn-head``,
    ``gl-attn-query`` (the query slider), ``gl-attn-figure`` and ``gl-attn-readout``.

    Attributes:
      layer, head: Dropdowns.
      query: Slider over query positions.
      figure: The ``FigureWidget``: bars of the selected row, and the head's whole weight matrix.
      readout: The key the query weights most.
      widget: The whole explorer.
    """

    def __init__(self, weights: Sequence[np.ndarray], labels: Sequence[str]) -> None:
        """Keep the weights of one sentence.

        Args:
          weights: Per layer, ``[B, H, Q, C]`` weights (the first sequence is drawn), e.g. from
            `gopherlite.nn.attention_terms.attention_weights`.
          labels: One label per token.
        """
        self.weights = [np.asarray(w)[0] for w in weights]  # per layer [H, Q, C]
        n_heads, length, _ = self.weights[0].shape
        if len(labels) != length:
            raise ValueError(f"{length} tokens but {len(labels)} labels.")
        self.labels = list(labels)
        self.layer = widgets.Dropdown(
            options=[(f"layer {i}", i) for i in range(len(self.weights))], description="layer"
        )
        self.layer.add_class("gl-attn-layer")
        self.head = widgets.Dropdown(
            options=[(f"head {h}", h) for h in range(n_heads)], description="head"
        )
        self.head.add_class("gl-attn-head")
        self.query = widgets.IntSlider(
            value=length - 1, min=0, max=length - 1, description="query", continuous_update=True
        )
        self.query.add_class("gl-attn-query")
        self.figure = go.FigureWidget(self._figure())
        self.figure.add_class("gl-attn-figure")
        self.readout = widgets.HTML(self._readout())
        self.readout.add_class("gl-attn-readout")
        self.widget = widgets.VBox(
            [widgets.HBox([self.layer, self.head, self.query]), self.readout, self.figure]
        )
        self.widget.add_class("gl-attn-explorer")
        for control in (self.layer, self.head, self.query):
            control.observe(lambda _: self.update(), names="value")

    def _row(self) -> np.ndarray:
        return self.weights[self.layer.value][self.head.value, self.query.value]

    def _readout(self) -> str:
        row, q = self._row(), self.query.value
        top = int(np.argmax(row[: q + 1]))
        return (
            f"query <b>{html.escape(self.labels[q])}</b> sees keys 0 … {q}; "
            f"its largest weight, {row[top]:.2f}, is on <b>{html.escape(self.labels[top])}</b>."
        )

    def _figure(self) -> go.Figure:
        q = self.query.value
        row = self._row()
        matrix = self.weights[self.layer.value][self.head.value]
        fig = make_subplots(
            rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.12,
            subplot_titles=("weights of the chosen query", "the head's weights (row = query)"),
        )  # fmt: skip
        colors = [PALETTE[1] if j <= q else "#dddddd" for j in range(len(row))]
        fig.add_trace(
            go.Bar(x=self.labels, y=row, marker_color=colors, name="weight"), row=1, col=1
        )
        visible = np.tril(np.ones_like(matrix)) > 0  # blank (None) above the diagonal
        masked = [
            [float(w) if seen else None for w, seen in zip(row_w, row_v, strict=True)]
            for row_w, row_v in zip(matrix, visible, strict=True)
        ]
        fig.add_trace(
            go.Heatmap(
                z=masked, x=self.labels, y=self.labels, colorscale="Viridis", zmin=0, zmax=1,
                colorbar={"title": "weight", "len": 0.9}, name="weights",
            ),
            row=1, col=2,
        )  # fmt: skip
        fig.add_hline(y=q, line_color=PALETTE[5], line_width=2, row=1, col=2)
        fig.update_yaxes(range=[0, 1], title_text="attention weight", row=1, col=1)
        fig.update_yaxes(autorange="reversed", row=1, col=2)
        fig.update_xaxes(tickangle=-60, row=1, col=1)
        fig.update_xaxes(tickangle=-60, row=1, col=2)
        return style(
            fig,
            title=f"Layer {self.layer.value}, head {self.head.value}, query {self.labels[q]}",
            height=500,
            showlegend=False,
            margin={"t": 100},
        )

    def update(self) -> None:
        """Redraw the bars, the highlighted row and the readout for the current controls."""
        new = self._figure()
        with self.figure.batch_update():
            for trace, fresh in zip(self.figure.data, new.data, strict=True):
                trace.update(fresh.to_plotly_json())
            self.figure.layout.shapes = new.layout.shapes
            self.figure.layout.title.text = new.layout.title.text
        self.readout.value = self._readout()

    def static(self) -> list[go.Figure | str]:
        """The figure and readout for the current selection."""
        return [self._readout(), self._figure()]


class TeacherForcingStepper(Explorer):
    """Step along one window: what position t sees, what it must predict, and its loss.

    CSS classes: ``gl-tf-stepper`` (the whole), ``gl-tf-position`` (the slider),
    ``gl-tf-figure`` and ``gl-tf-readout``.

    Attributes:
      position: Slider over the window's positions.
      figure: Left, the causal mask with row t marked; right, every position's loss.
      readout: The visible context, the target and its loss.
      widget: The whole stepper.
    """

    def __init__(
        self, input_labels: Sequence[str], target_labels: Sequence[str], nll_L: Sequence[float]
    ) -> None:
        """Keep one window's tokens and per-position losses.

        Args:
          input_labels: The window's input tokens.
          target_labels: The tokens each position is trained to predict (inputs shifted by one).
          nll_L: Each position's loss in nats, from one forward pass.
        """
        if not len(input_labels) == len(target_labels) == len(nll_L):
            raise ValueError("inputs, targets and losses must have one entry per position.")
        self.inputs, self.targets = list(input_labels), list(target_labels)
        self.nll_L = np.asarray(nll_L, np.float64)
        self.position = widgets.IntSlider(
            value=0, min=0, max=len(self.inputs) - 1, description="position t"
        )
        self.position.add_class("gl-tf-position")
        self.figure = go.FigureWidget(self._figure())
        self.figure.add_class("gl-tf-figure")
        self.readout = widgets.HTML(self._readout())
        self.readout.add_class("gl-tf-readout")
        self.widget = widgets.VBox([self.position, self.readout, self.figure])
        self.widget.add_class("gl-tf-stepper")
        self.position.observe(lambda _: self.update(), names="value")

    def _readout(self) -> str:
        t = self.position.value
        seen = html.escape(" ".join(self.inputs[: t + 1]))
        return (
            f"position {t} sees <code>{seen}</code> and is trained to predict "
            f"<b>{html.escape(self.targets[t])}</b> (loss {self.nll_L[t]:.2f} nats). "
            f"All {len(self.inputs)} rows come from one forward pass; the mask, not a loop, "
            "keeps each row from seeing its future."
        )

    def _figure(self) -> go.Figure:
        t, n = self.position.value, len(self.inputs)
        visible = np.tril(np.ones((n, n)))
        shade = np.where(np.arange(n)[:, None] == t, 2 * visible, visible)
        fig = make_subplots(
            rows=1, cols=2, horizontal_spacing=0.14,
            subplot_titles=("causal mask (row = query, column = key)", "loss at every position"),
        )  # fmt: skip
        fig.add_trace(
            go.Heatmap(
                z=shade, x=self.inputs, y=self.inputs, showscale=False, zmin=0, zmax=2,
                colorscale=[[0, "#f4f4f4"], [0.5, "#9ecae1"], [1, PALETTE[5]]],
            ),
            row=1, col=1,
        )  # fmt: skip
        colors = [PALETTE[5] if i == t else PALETTE[0] for i in range(n)]
        fig.add_trace(
            go.Bar(x=list(range(n)), y=self.nll_L, marker_color=colors, name="loss"), row=1, col=2
        )
        fig.update_yaxes(autorange="reversed", row=1, col=1)
        fig.update_xaxes(tickangle=-60, row=1, col=1)
        fig.update_xaxes(title_text="position", row=1, col=2)
        fig.update_yaxes(title_text="nats", row=1, col=2)
        return style(
            fig,
            title=f"Position {t} predicts {self.targets[t]!r}",
            height=460,
            showlegend=False,
            margin={"t": 100},
        )

    def update(self) -> None:
        """Redraw for the current position."""
        new = self._figure()
        with self.figure.batch_update():
            self.figure.data[0].z = new.data[0].z
            self.figure.data[1].marker.color = new.data[1].marker.color
            self.figure.layout.title.text = new.layout.title.text
        self.readout.value = self._readout()

    def static(self) -> list[go.Figure | str]:
        """The readout and figure for the current position."""
        return [self._readout(), self._figure()]


@dataclasses.dataclass(frozen=True)
class PublishedModel:
    """A published Transformer's shape.

    Attributes:
      name: The model.
      kind: ``encoder–decoder`` or ``decoder-only``.
      layers: Layers (encoder + decoder for the original).
      d_model: Width.
      heads: Attention heads.
      context: Tokens of context.
      params: Parameters as reported.
      source: Where the numbers come from.
    """

    name: str
    kind: str
    layers: str
    d_model: int
    heads: int
    context: int
    params: float
    source: str


_GOPHER = PRESETS["280b"]
MODEL_FAMILY: tuple[PublishedModel, ...] = (
    PublishedModel("Transformer base", "encoder–decoder", "6 + 6", 512, 8, 0, 65e6,
                   "Vaswani et al. 2017, Table 3"),
    PublishedModel("Transformer big", "encoder–decoder", "6 + 6", 1024, 16, 0, 213e6,
                   "Vaswani et al. 2017, Table 3"),
    PublishedModel("GPT-2 (largest)", "decoder-only", "48", 1600, 25, 1024, 1.5e9,
                   "Radford et al. 2019, Table 2; 25 heads from the released code"),
    PublishedModel("GPT-3", "decoder-only", "96", 12288, 96, 2048, 175e9,
                   "Brown et al. 2020, Table 2.1"),
    PublishedModel("Gopher", "decoder-only", str(_GOPHER.n_layers), _GOPHER.d_model,
                   _GOPHER.n_heads, 2048, 280e9, "Rae et al. 2021, Table 1"),
)  # fmt: skip


def model_family_html(models: Sequence[PublishedModel] = MODEL_FAMILY) -> str:
    """The published models as an HTML table (context 0 shows as "—": no fixed window).

    Args:
      models: Rows to show.

    Returns:
      The ``<table>``.
    """
    rows = [
        [m.name, m.kind, m.layers, f"{m.d_model:,}", m.heads,
         f"{m.context:,}" if m.context else "—", format_count(m.params), m.source]
        for m in models
    ]  # fmt: skip
    header = ["model", "kind", "layers", "d_model", "heads", "context", "params", "source"]
    return html_table(header, rows)


def calibration_figure(results: Mapping[str, Calibration]) -> go.Figure:
    """Reliability diagram: accuracy against confidence per bin, one line per model.

    Args:
      results: Name → `gopherlite.calibration.calibration` result.

    Returns:
      The figure; the diagonal is perfect calibration, and each legend entry carries its ECE.
    """
    fig = go.Figure(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999999"},
                   name="perfectly calibrated")
    )  # fmt: skip
    for color, (name, cal) in zip(PALETTE, results.items(), strict=False):
        keep = cal.counts > 0
        fig.add_trace(
            go.Scatter(
                x=cal.confidence[keep], y=cal.accuracy[keep], mode="lines+markers",
                marker={"size": 4 + 10 * np.sqrt(cal.counts[keep] / cal.counts.sum())},
                line={"color": color}, name=f"{name} (ECE {cal.ece:.3f})",
            )
        )  # fmt: skip
    return style(
        fig,
        title="Calibration on held-out text (marker size: share of predictions)",
        xaxis_title="confidence: probability of the top token",
        yaxis_title="accuracy: top token was the target",
        height=420,
        xaxis={"range": [0, 1]},
        yaxis={"range": [0, 1]},
    )
