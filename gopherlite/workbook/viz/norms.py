"""Drawing RMSNorm next to LayerNorm: invariances, speed, training curves (chapter 05).

LayerNorm subtracts the mean of the features and divides by their standard deviation;
RMSNorm (Zhang & Sennrich 2019) only divides by their root mean square, which Gopher uses
instead (Rae et al. 2021, Sec. 3.1). The invariance cases and statistics come from
`gopherlite.workbook.experiments.norms`, the timings and training runs from
`gopherlite.workbook.experiments.variants`, the curves from
`gopherlite.workbook.experiments.curves`; this module draws them.

* :func:`invariance_figure`, :func:`stats_html` and :class:`InvarianceExplorer`: shift and
  scale an input vector and compare the two outputs.
* :func:`speed_figure`, :func:`speed_table_html`: timings from
  `gopherlite.workbook.experiments.variants.norm_speed`.
* :func:`training_figure`, :class:`TrainingCurvesExplorer`: loss curves from
  `gopherlite.workbook.experiments.variants.norm_comparison`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gopherlite.workbook.experiments.curves import loss_curves
from gopherlite.workbook.experiments.norms import (
    DISTRIBUTIONS,
    InvarianceCase,
    invariance_case,
    norm_stats,
    sample_features,
    speed_pairs,
)
from gopherlite.workbook.experiments.variants import NormComparison, NormTiming
from gopherlite.workbook.viz.common import PALETTE, Explorer, html_table, style

_COLORS = {"input": PALETTE[7], "LayerNorm": PALETTE[1], "RMSNorm": PALETTE[0]}


def invariance_figure(case: InvarianceCase) -> go.Figure:
    """Three panels: the moved input, and each norm's output against its unmoved reference.

    Bars are outputs for ``scale · x + shift``; the black line is the same norm's output for
    the original x. Where the bars sit on the line, the norm is invariant to that change.

    Args:
      case: From :func:`invariance_case`.

    Returns:
      The figure; traces: input, then (output, reference) for LayerNorm, then for RMSNorm.
    """
    d = case.base.shape[0]
    features = np.arange(d)
    fig = make_subplots(
        rows=1,
        cols=3,
        horizontal_spacing=0.07,
        subplot_titles=("input  scale·x + shift", "LayerNorm output", "RMSNorm output"),
    )
    fig.add_trace(
        go.Bar(x=features, y=case.moved, name="input", marker={"color": _COLORS["input"]}), 1, 1
    )
    for col, name in ((2, "LayerNorm"), (3, "RMSNorm")):
        fig.add_trace(
            go.Bar(x=features, y=case.outputs[name], name=name, marker={"color": _COLORS[name]}),
            1,
            col,
        )
        fig.add_trace(
            go.Scatter(
                x=features,
                y=case.reference[name],
                mode="lines",
                name=f"{name} of the original x",
                line={"color": "black", "width": 1.5, "shape": "hvh"},
            ),
            1,
            col,
        )
    fig.update_xaxes(title="feature")
    shown = [*case.outputs.values(), *case.reference.values()]
    limit = 1.1 * max(float(np.max(np.abs(v))) for v in shown)
    for col in (2, 3):
        fig.update_yaxes(range=[-limit, limit], row=1, col=col)
    return style(fig, height=400, showlegend=False, title=_invariance_title(case), margin={"t": 90})


def _invariance_title(case: InvarianceCase) -> str:
    return (
        f"Largest output change: LayerNorm {case.change('LayerNorm'):.2g}, "
        f"RMSNorm {case.change('RMSNorm'):.2g}"
    )


def stats_html(case: InvarianceCase) -> str:
    """A table of mean, standard deviation and RMS of the input and of both outputs.

    Args:
      case: From :func:`invariance_case`.

    Returns:
      The HTML table.
    """
    rows = []
    for name, x in (("input", case.moved), *case.outputs.items()):
        s = norm_stats(x)
        change = "" if name == "input" else f"{case.change(name):.3g}"
        rows.append([name, f"{s.mean:+.3f}", f"{s.std:.3f}", f"{s.rms:.3f}", change])
    return html_table(["vector", "mean", "std", "RMS", "max change vs. original x"], rows)


class InvarianceExplorer(Explorer):
    """Shift and scale an input vector; watch which norm's output stays put.

    CSS classes: the shift slider ``gl-norm-shift``, the scale slider ``gl-norm-scale``, the
    distribution selector ``gl-norm-distribution``, the figure ``gl-norm-figure``.

    Attributes:
      shift: Added to every feature.
      scale: Multiplies every feature (logarithmic slider, 0.001 to 100).
      distribution: Which input vector (:func:`sample_features`).
      stats: HTML table from :func:`stats_html`.
      figure: The ``FigureWidget``.
      widget: The whole explorer.
    """

    def __init__(self, d: int = 32, seed: int = 0) -> None:
        """Build the explorer.

        Args:
          d: Features of the input vector.
          seed: Seed of the input vectors.
        """
        self.d, self.seed = d, seed
        self.shift = widgets.FloatSlider(
            value=0.0, min=-5.0, max=5.0, step=0.1, description="shift"
        )
        self.shift.add_class("gl-norm-shift")
        self.scale = widgets.FloatLogSlider(
            value=1.0, base=10, min=-3, max=2, step=0.1, description="scale"
        )
        self.scale.add_class("gl-norm-scale")
        self.distribution = widgets.ToggleButtons(options=DISTRIBUTIONS, description="input")
        self.distribution.add_class("gl-norm-distribution")
        self.stats = widgets.HTML()
        self.figure = go.FigureWidget(invariance_figure(self.case()))
        self.figure.add_class("gl-norm-figure")
        controls = widgets.VBox([self.distribution, self.shift, self.scale])
        self.widget = widgets.VBox([widgets.HBox([controls, self.stats]), self.figure])
        for control in (self.shift, self.scale, self.distribution):
            control.observe(lambda _: self.update(), names="value")
        self.update()

    def case(self) -> InvarianceCase:
        """The case the controls describe."""
        x_D = sample_features(self.distribution.value, self.d, self.seed)
        return invariance_case(x_D, self.shift.value, self.scale.value)

    def update(self) -> None:
        """Recompute both norms and redraw."""
        case = self.case()
        new = invariance_figure(case)
        self.stats.value = stats_html(case)
        with self.figure.batch_update():
            for trace, fresh in zip(self.figure.data, new.data, strict=True):
                trace.y = fresh.y
            self.figure.layout.title.text = new.layout.title.text
            for axis in ("yaxis2", "yaxis3"):
                self.figure.layout[axis].range = new.layout[axis].range

    def static(self) -> list[go.Figure | str]:
        """The current figure and statistics, plus a shifted case for contrast."""
        case = self.case()
        shifted = invariance_case(case.base, shift=2.0, scale=3.0)
        return [
            invariance_figure(case),
            stats_html(case),
            "<p>The same input with scale 3 and shift 2:</p>",
            invariance_figure(shifted),
            stats_html(shifted),
        ]


def speed_figure(timings: Sequence[NormTiming]) -> go.Figure:
    """Median time per call of RMSNorm and LayerNorm (log axis), forward and forward + backward.

    Args:
      timings: From `gopherlite.workbook.experiments.variants.norm_speed`.

    Returns:
      One panel per mode with grouped bars (one group per size); traces: per mode, RMSNorm
      then LayerNorm.
    """
    modes = list(dict.fromkeys(t.mode for t in timings))
    fig = make_subplots(rows=1, cols=len(modes), subplot_titles=modes)
    for col, mode in enumerate(modes, start=1):
        for kind, name in (("rms", "RMSNorm"), ("layer", "LayerNorm")):
            chosen = [t for t in timings if t.mode == mode and t.kind == kind]
            fig.add_trace(
                go.Bar(
                    x=[f"{t.tokens:,} × {t.d_model}" for t in chosen],
                    y=[1e6 * t.seconds for t in chosen],
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    marker={"color": _COLORS[name]},
                    hovertemplate="%{x}: %{y:.1f} µs<extra>" + name + "</extra>",
                ),
                1,
                col,
            )
    fig.update_xaxes(title="tokens × d_model")
    fig.update_yaxes(type="log")
    fig.update_yaxes(title="µs per call (median, log scale)", col=1)
    return style(
        fig, barmode="group", height=400, title="Time per call, jitted, this machine",
        margin={"t": 90},
    )  # fmt: skip


def speed_table_html(timings: Sequence[NormTiming]) -> str:
    """Each size and mode with both times and LayerNorm's time over RMSNorm's.

    Args:
      timings: From `gopherlite.workbook.experiments.variants.norm_speed`.

    Returns:
      The HTML table (ratio > 1: RMSNorm is faster).
    """
    rows = [
        [p.mode, f"{p.tokens:,} × {p.d_model}", f"{1e6 * p.rms_seconds:.1f}",
         f"{1e6 * p.layer_seconds:.1f}", f"{p.ratio:.2f}×"]
        for p in speed_pairs(timings)
    ]  # fmt: skip
    return html_table(["mode", "size", "RMSNorm µs", "LayerNorm µs", "LayerNorm / RMSNorm"], rows)


def training_figure(
    histories: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    window: int = 1,
    difference: bool = False,
) -> go.Figure:
    """Training loss against step for each run, or each run minus the first.

    Args:
      histories: Run name → logged records (``step`` and ``loss``), e.g. ``run.history``.
      window: Moving-average width over logged points.
      difference: Plot each run's loss minus the first run's (same steps) instead.

    Returns:
      The figure, one line per run.
    """
    names = list(histories)
    curves = loss_curves(histories, window=window, difference=difference)
    fig = go.Figure()
    for i, (name, (steps, y)) in enumerate(curves.items()):
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=y,
                mode="lines",
                name=name if not difference else f"{name} − {names[0]}",
                line={"color": _COLORS.get(name, PALETTE[i % len(PALETTE)])},
            )
        )
    y_title = f"loss difference to {names[0]} (nats)" if difference else "training loss (nats)"
    fig.update_xaxes(title="step")
    fig.update_yaxes(title=y_title)
    return style(fig, height=380, title="Same data, same seed: " + " vs ".join(names))


class TrainingCurvesExplorer(Explorer):
    """Smooth the RMSNorm and LayerNorm training curves, or show their difference.

    CSS classes: the smoothing slider ``gl-training-smooth``, the view toggle
    ``gl-training-view``, the figure ``gl-training-figure``.

    Attributes:
      window: Moving-average width slider.
      view: ``"loss"`` or ``"difference"``.
      figure: The ``FigureWidget``.
      widget: The whole explorer.
    """

    def __init__(self, comparison: NormComparison) -> None:
        """Build the explorer.

        Args:
          comparison: From `gopherlite.workbook.experiments.variants.norm_comparison`.
        """
        self.histories = {name: run.history for name, run in comparison.runs.items()}
        points = min(len(h) for h in self.histories.values())
        self.window = widgets.IntSlider(
            value=1, min=1, max=max(1, points // 2), description="smoothing"
        )
        self.window.add_class("gl-training-smooth")
        self.view = widgets.ToggleButtons(options=["loss", "difference"], description="show")
        self.view.add_class("gl-training-view")
        self.figure = go.FigureWidget(training_figure(self.histories))
        self.figure.add_class("gl-training-figure")
        self.summary = widgets.HTML(comparison_html(comparison))
        self.widget = widgets.VBox(
            [widgets.HBox([self.view, self.window]), self.figure, self.summary]
        )
        self.window.observe(lambda _: self.update(), names="value")
        self.view.observe(lambda _: self.update(), names="value")
        self._comparison = comparison

    def _figure(self) -> go.Figure:
        return training_figure(
            self.histories, window=self.window.value, difference=self.view.value == "difference"
        )

    def update(self) -> None:
        """Redraw with the current smoothing and view."""
        new = self._figure()
        with self.figure.batch_update():
            for trace, fresh in zip(self.figure.data, new.data, strict=True):
                trace.y, trace.name = fresh.y, fresh.name
            self.figure.layout.yaxis.title.text = new.layout.yaxis.title.text

    def static(self) -> list[go.Figure | str]:
        """The current figure and the summary table."""
        return [self._figure(), comparison_html(self._comparison)]


def comparison_html(comparison: NormComparison) -> str:
    """Final training loss, held-out loss and throughput of each run.

    Args:
      comparison: From `gopherlite.workbook.experiments.variants.norm_comparison`.

    Returns:
      The HTML table.
    """
    rows = [
        [
            name,
            f"{run.history[-1]['loss']:.4f}",
            f"{comparison.heldout_loss[name]:.4f}",
            f"{run.tokens_per_second:,.0f}",
        ]
        for name, run in comparison.runs.items()
    ]
    header = ["norm", "last training loss", "held-out loss", "tokens / s (median)"]
    return html_table(header, rows)
