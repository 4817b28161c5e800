"""Drawing context extrapolation: loss per position at 1×, 2× and 4× the trained context.

Relative positions (Transformer-XL, Dai et al. 2019) let a model read longer windows than it
was trained on (Gopher Sec. 3.1); learned absolute positions run out. The runs and their
scores come from `gopherlite.workbook.experiments.variants.context_extrapolation`, the
smoothing from `gopherlite.workbook.experiments.curves.smooth`; this module draws them.

* :func:`extrapolation_figure`, :class:`ExtrapolationExplorer`: curves per position and the
  mean loss per length; :func:`extrapolation_table_html`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gopherlite.workbook.experiments.curves import smooth
from gopherlite.workbook.experiments.variants import ExtrapolationResult
from gopherlite.workbook.viz.attention import gaps
from gopherlite.workbook.viz.common import PALETTE, Explorer, html_table, style

_DASHES = ("solid", "dash", "dot", "dashdot")


def extrapolation_figure(
    result: ExtrapolationResult, *, window: int = 1, lengths: Sequence[int] | None = None
) -> go.Figure:
    """Loss per position at each evaluation length, and the mean loss per length.

    Left: one curve per (variant, length); colour is the variant, dash the length; the grey
    line marks the training context L. Right: the mean held-out loss per length, grouped by
    variant (the same targets at every length).

    Args:
      result: From `gopherlite.workbook.experiments.variants.context_extrapolation`.
      window: Moving-average width for the curves (1: raw).
      lengths: Evaluation lengths to draw (default: all).

    Returns:
      The figure: the curve traces first (variant-major), then one bar trace per variant.
    """
    lengths = list(result.lengths if lengths is None else lengths)
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.68, 0.32],
        subplot_titles=("loss at each position", "mean held-out loss"),
    )
    for v, (name, scores) in enumerate(result.scores.items()):
        color = PALETTE[v % len(PALETTE)]
        for k, length in enumerate(result.lengths):
            curve = gaps(smooth(scores.per_position[length], window))
            fig.add_trace(
                go.Scatter(
                    x=np.arange(length),
                    y=curve,
                    mode="lines",
                    name=f"{name}, {length // result.seq_len}L",
                    legendgroup=name,
                    visible=length in lengths,
                    line={"color": color, "dash": _DASHES[k % len(_DASHES)]},
                    hovertemplate="position %{x}: %{y:.3f} nats<extra>%{fullData.name}</extra>",
                ),
                1,
                1,
            )
    for v, (name, scores) in enumerate(result.scores.items()):
        fig.add_trace(
            go.Bar(
                x=[f"{n // result.seq_len}L = {n}" for n in result.lengths],
                y=[scores.loss[n] for n in result.lengths],
                name=name,
                legendgroup=name,
                showlegend=False,
                marker={"color": PALETTE[v % len(PALETTE)]},
                hovertemplate="%{x}: %{y:.4f} nats<extra>" + html.escape(name) + "</extra>",
            ),
            1,
            2,
        )
    fig.add_vline(x=result.seq_len - 0.5, line={"color": "#777", "dash": "dot"}, row=1, col=1)
    fig.add_annotation(
        x=result.seq_len, y=1.0, yref="y domain", text=f"trained context L = {result.seq_len}",
        showarrow=False, xanchor="left", yanchor="top", row=1, col=1,
    )  # fmt: skip
    fig.update_xaxes(title="position in the window", row=1, col=1)
    fig.update_yaxes(title="loss (nats per token)", row=1, col=1)
    all_losses = [loss for s in result.scores.values() for loss in s.loss.values()]
    spread = max(all_losses) - min(all_losses)
    fig.update_yaxes(
        range=[min(all_losses) - spread - 0.05, max(all_losses) + spread + 0.05], row=1, col=2
    )
    fig.update_layout(barmode="group")
    return style(fig, height=460, title="Trained on L tokens, read with L, 2L and 4L")


class ExtrapolationExplorer(Explorer):
    """Smooth the loss-per-position curves and choose which evaluation lengths to show.

    CSS classes: the smoothing slider ``gl-extrapolation-smooth``, the length selector
    ``gl-extrapolation-lengths``, the figure ``gl-extrapolation-figure``.

    Attributes:
      window: Moving-average width slider.
      lengths: Which evaluation lengths are drawn.
      figure: The ``FigureWidget``.
      widget: The whole explorer.
    """

    def __init__(self, result: ExtrapolationResult, window: int = 1) -> None:
        """Build the explorer.

        Args:
          result: From `gopherlite.workbook.experiments.variants.context_extrapolation`.
          window: Initial moving-average width.
        """
        self.result = result
        self.window = widgets.IntSlider(
            value=window, min=1, max=max(1, result.seq_len // 2), description="smoothing"
        )
        self.window.add_class("gl-extrapolation-smooth")
        self.lengths = widgets.SelectMultiple(
            options=[(f"{n // result.seq_len}L = {n}", n) for n in result.lengths],
            value=tuple(result.lengths),
            description="lengths",
            rows=len(result.lengths),
        )
        self.lengths.add_class("gl-extrapolation-lengths")
        self.figure = go.FigureWidget(extrapolation_figure(result, window=window))
        self.figure.add_class("gl-extrapolation-figure")
        self.table = widgets.HTML(extrapolation_table_html(result))
        self.widget = widgets.VBox(
            [widgets.HBox([self.window, self.lengths]), self.figure, self.table]
        )
        self.window.observe(lambda _: self.update(), names="value")
        self.lengths.observe(lambda _: self.update(), names="value")

    def update(self) -> None:
        """Redraw the curves with the current smoothing and lengths."""
        new = extrapolation_figure(
            self.result, window=self.window.value, lengths=self.lengths.value
        )
        with self.figure.batch_update():
            for trace, fresh in zip(self.figure.data, new.data, strict=True):
                trace.y, trace.visible = fresh.y, fresh.visible

    def static(self) -> list[go.Figure | str]:
        """The figure at the current settings and the loss table."""
        return [
            extrapolation_figure(self.result, window=self.window.value, lengths=self.lengths.value),
            extrapolation_table_html(self.result),
        ]


def extrapolation_table_html(result: ExtrapolationResult) -> str:
    """The mean held-out loss per variant and length as an HTML table.

    Args:
      result: From `gopherlite.workbook.experiments.variants.context_extrapolation`.

    Returns:
      The table (nats per token; lower is better).
    """
    header = ["variant", *(f"{n // result.seq_len}L = {n} tokens" for n in result.lengths)]
    rows = [
        [name, *(f"{scores.loss[n]:.4f}" for n in result.lengths)]
        for name, scores in result.scores.items()
    ]
    return html_table(header, rows)
