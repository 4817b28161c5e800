"""Rounding that stalls and five precision policies, drawn (chapter 06).

Gopher trained its largest models with bfloat16 parameters (Rae et al. 2021, Sec. 3.2 and
App. C); this module draws what `gopherlite.workbook.experiments` and `gopherlite.costs` compute.

* :func:`accumulation_figure`, :func:`accumulation_html` and :class:`AccumulationExplorer`: many
  tiny updates added to a bfloat16 number with round-to-nearest and with stochastic rounding
  (`gopherlite.workbook.experiments.float_bits.accumulate`).
* :func:`memory_figure` and :func:`sharding_figure`: bytes per parameter of each policy
  (`gopherlite.costs.bytes_per_parameter`) and per device under ZeRO sharding
  (`gopherlite.costs.zero_bytes_per_device`).
* :func:`comparison_figure` and :func:`comparison_html`: the runs of
  `gopherlite.workbook.experiments.precision_study`.

Bit layouts of a single number are drawn by `gopherlite.workbook.viz.float_bits`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gopherlite.costs import bytes_per_parameter, zero_bytes_per_device
from gopherlite.precision import POLICIES
from gopherlite.workbook.experiments.curves import smooth
from gopherlite.workbook.experiments.float_bits import Accumulation, accumulate, bfloat16_step
from gopherlite.workbook.viz.common import PALETTE, Explorer, html_table, style, tint


def _thin(n: int, points: int = 300) -> np.ndarray:
    """At most ``points`` evenly spread indices of ``range(n)``, always including the last."""
    return np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(int))


def accumulation_figure(result: Accumulation) -> go.Figure:
    """The running sums of :func:`accumulate` against the step.

    Traces, in order: exact sum, float32, bfloat16 round-to-nearest, the stochastic-rounding
    band (mean ± one standard deviation over seeds: upper, then lower edge), its mean, and the
    first seed's single run.

    Args:
      result: From :func:`accumulate`.

    Returns:
      The figure.
    """
    keep = _thin(len(result.steps_N))
    x_N = result.steps_N[keep]
    mean_N, std_N = result.stochastic_mean_N[keep], result.stochastic_std_N[keep]
    sr_color = PALETTE[0]
    fig = go.Figure(
        [
            go.Scatter(
                x=x_N,
                y=result.exact_N[keep],
                name="exact sum",
                line={"color": "black", "dash": "dash"},
            ),
            go.Scatter(
                x=x_N,
                y=result.float32_N[keep],
                name="float32",
                line={"color": PALETTE[4], "dash": "dot"},
            ),
            go.Scatter(
                x=x_N,
                y=result.nearest_N[keep],
                name="bfloat16, round to nearest",
                line={"color": PALETTE[5], "width": 3},
            ),
            go.Scatter(
                x=x_N, y=mean_N + std_N, line={"width": 0}, showlegend=False, hoverinfo="skip"
            ),
            go.Scatter(
                x=x_N,
                y=mean_N - std_N,
                line={"width": 0},
                fill="tonexty",
                fillcolor=tint(sr_color, 0.25),
                name="stochastic: ± 1 std over seeds",
                hoverinfo="skip",
            ),
            go.Scatter(
                x=x_N,
                y=mean_N,
                name="bfloat16, stochastic (mean of seeds)",
                line={"color": sr_color, "width": 3},
            ),
            go.Scatter(
                x=x_N,
                y=result.stochastic_SxN[0][keep],
                name="stochastic, one seed",
                line={"color": sr_color, "width": 1},
                opacity=0.6,
            ),
        ]
    )
    fig.update_xaxes(title="update number n")
    fig.update_yaxes(title="running value")
    return style(
        fig,
        height=480,
        title=_accumulation_title(result),
        legend={"orientation": "h", "x": 0, "y": -0.22},
    )


def _accumulation_title(result: Accumulation) -> str:
    ratio = result.update / bfloat16_step(result.start)
    return (
        f"{len(result.steps_N)} updates of u = {result.update:.3g} to {result.start:g}"
        f"<br><sup>u = {ratio:.3g} bfloat16 steps at the start</sup>"
    )


def accumulation_html(result: Accumulation) -> str:
    """The final value under each rule and its distance from the exact sum.

    Args:
      result: From :func:`accumulate`.

    Returns:
      An HTML table.
    """
    exact = result.exact_N[-1]
    mean, std = result.stochastic_mean_N[-1], result.stochastic_std_N[-1]
    rows = [
        ["exact", f"{exact:.6g}", ""],
        ["float32", f"{result.float32_N[-1]:.6g}", f"{result.float32_N[-1] - exact:+.3g}"],
        [
            "bfloat16, round to nearest",
            f"{result.nearest_N[-1]:.6g}",
            f"{result.nearest_N[-1] - exact:+.3g}",
        ],
        [
            f"bfloat16, stochastic ({result.stochastic_SxN.shape[0]} seeds)",
            f"{mean:.6g} ± {std:.2g}",
            f"{mean - exact:+.3g}",
        ],
    ]
    return html_table(["rule", "final value", "minus exact"], rows)


class AccumulationExplorer(Explorer):
    """Slide the update size (log scale) and watch round-to-nearest stall.

    CSS classes: the whole explorer ``gl-accum-explorer``, the update slider
    ``gl-accum-slider``, the step-count buttons ``gl-accum-steps``, the readout
    ``gl-accum-readout``, the figure ``gl-accum-figure``.

    Attributes:
      update: Update size u (10⁻⁵ … 10⁻¹).
      steps: Number of updates.
      readout: Final values (:func:`accumulation_html`).
      figure: The ``FigureWidget``.
      widget: The whole explorer.
    """

    def __init__(self, update: float = 1e-3, steps: int = 1000, seeds: int = 16) -> None:
        """Build the explorer.

        Args:
          update: First update size.
          steps: First number of updates (one of 250, 1000, 4000).
          seeds: Stochastic-rounding runs averaged.
        """
        self.seeds = seeds
        self.update_slider = widgets.FloatLogSlider(
            value=update,
            base=10,
            min=-5,
            max=-1,
            step=0.05,
            description="update u",
            readout_format=".2e",
        )
        self.update_slider.add_class("gl-accum-slider")
        self.steps = widgets.ToggleButtons(
            options=[250, 1000, 4000], value=steps, description="updates"
        )
        self.steps.add_class("gl-accum-steps")
        result = self.result()
        self.readout = widgets.HTML(accumulation_html(result))
        self.readout.add_class("gl-accum-readout")
        self.figure = go.FigureWidget(accumulation_figure(result))
        self.figure.add_class("gl-accum-figure")
        self.widget = widgets.VBox(
            [widgets.HBox([self.update_slider, self.steps]), self.figure, self.readout]
        )
        self.widget.add_class("gl-accum-explorer")
        for control in (self.update_slider, self.steps):
            control.observe(lambda _: self.update(), names="value")

    def result(self) -> Accumulation:
        """The accumulation the controls describe."""
        return accumulate(self.update_slider.value, self.steps.value, seeds=self.seeds)

    def update(self) -> None:
        """Recompute and redraw."""
        result = self.result()
        new = accumulation_figure(result)
        self.readout.value = accumulation_html(result)
        with self.figure.batch_update():
            for trace, fresh in zip(self.figure.data, new.data, strict=True):
                trace.x, trace.y = fresh.x, fresh.y
            self.figure.layout.title.text = new.layout.title.text

    def static(self) -> list[go.Figure | str]:
        """The current state, plus an update below half a bfloat16 step for contrast."""
        result = self.result()
        small = accumulate(
            1e-3 if result.update > 2e-3 else 1e-2, len(result.steps_N), seeds=self.seeds
        )
        return [
            accumulation_figure(result),
            accumulation_html(result),
            accumulation_figure(small),
            accumulation_html(small),
        ]


_PART_COLORS = {
    "params": PALETTE[0],
    "gradients": PALETTE[4],
    "adam_moments": PALETTE[1],
    "master_copy": PALETTE[5],
}
_PART_NAMES = {
    "params": "parameters",
    "gradients": "gradients",
    "adam_moments": "Adam moments (fp32)",
    "master_copy": "fp32 master copy",
}


def memory_figure(policies: Sequence[str] = tuple(POLICIES)) -> go.Figure:
    """Stacked bars of training-state bytes per parameter for each policy (unsharded).

    Args:
      policies: Policy names.

    Returns:
      One trace per part of `gopherlite.costs.bytes_per_parameter`.
    """
    parts = {name: bytes_per_parameter(name) for name in policies}
    fig = go.Figure(
        [
            go.Bar(
                x=list(policies),
                y=[parts[name][part] for name in policies],
                name=_PART_NAMES[part],
                marker_color=color,
            )
            for part, color in _PART_COLORS.items()
        ]
    )
    fig.update_yaxes(title="bytes per parameter")
    return style(fig, barmode="stack", height=360, title="Training state per parameter (unsharded)")


def sharding_figure(
    n_params: float,
    degrees: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    policies: Sequence[str] = ("fp32", "bf16_sr", "bf16_master"),
    model_parallel: int = 1,
    title: str = "",
) -> go.Figure:
    """Training state per device against the data-parallel degree, under ZeRO sharding.

    Args:
      n_params: Model parameters (e.g. 280e9).
      degrees: Data-parallel degrees (log x axis).
      policies: Policies drawn, one line each.
      model_parallel: Devices each replica is split over (see :func:`zero_bytes_per_device`).
      title: Figure title (default names the model size and the model-parallel degree).

    Returns:
      The figure; y in GiB.
    """
    fig = go.Figure(
        [
            go.Scatter(
                x=list(degrees),
                y=[
                    zero_bytes_per_device(name, n_params, d, model_parallel)["total"] / 2**30
                    for d in degrees
                ],
                name=name,
                mode="lines+markers",
            )
            for name in policies
        ]
    )
    fig.update_xaxes(title="data-parallel replicas sharing the optimizer state", type="log")
    fig.update_yaxes(title="GiB per device (params + grads + optimizer)", type="log")
    title = title or (
        f"{n_params / 1e9:.3g}B parameters, model-parallel degree {model_parallel}: "
        "training state per device with ZeRO"
    )
    return style(fig, height=380, title=title)


def comparison_figure(
    losses: Mapping[str, Sequence[float]],
    heldout: Mapping[str, Sequence[tuple[int, float]]],
    window: int = 20,
) -> go.Figure:
    """Training loss and held-out bits per byte of the side-by-side runs.

    Left: training loss minus fp32's at the same step (moving average over ``window`` steps),
    which shows gaps far smaller than the loss itself. Right: held-out bits per byte at each
    evaluation.

    Args:
      losses: Run name → loss per step (must include ``"fp32"``).
      heldout: Run name → ``(step, bpb)`` pairs.
      window: Moving-average width of the training losses.

    Returns:
      The figure, one colour per run.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            f"training loss minus fp32's (mean of {window} steps)",
            "held-out bits per byte",
        ),
    )
    base_N = np.asarray(losses["fp32"], np.float64)
    for i, name in enumerate(losses):
        color = PALETTE[i % len(PALETTE)]
        diff_N = smooth(np.asarray(losses[name], np.float64) - base_N, window)
        steps_N = np.arange(1, len(diff_N) + 1)
        fig.add_trace(
            go.Scatter(x=steps_N, y=diff_N, name=name, legendgroup=name, line={"color": color}),
            row=1,
            col=1,
        )
        points = list(heldout.get(name, []))
        fig.add_trace(
            go.Scatter(
                x=[s for s, _ in points],
                y=[b for _, b in points],
                name=name,
                legendgroup=name,
                showlegend=False,
                mode="lines+markers",
                line={"color": color},
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title="step")
    fig.update_yaxes(title="nats", row=1, col=1)
    fig.update_yaxes(title="bits per byte", row=1, col=2)
    return style(fig, height=400, title="Five precision policies, same weights, same batches")


def comparison_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """The side-by-side table: held-out bpb, gap to fp32, training loss, memory, step time.

    Args:
      rows: From `gopherlite.workbook.experiments.precision_study.summarise`.

    Returns:
      An HTML table.
    """
    fp32 = next(r["final_heldout_bpb"] for r in rows if r["run"] == "fp32")
    body = [
        [
            r["run"],
            POLICIES[r["policy"]].description,
            f"{r['final_heldout_bpb']:.4f}",
            f"{r['final_heldout_bpb'] - fp32:+.4f}",
            f"{r['final_train_loss']:.4f}",
            r["bytes_per_parameter"]["total"],
            f"{r['step_seconds_median']:.3f}",
        ]
        for r in rows
    ]
    header = [
        "run",
        "policy",
        "held-out bpb",
        "minus fp32",
        "train loss (last 10%)",
        "bytes/param",
        "step time (s, median)",
    ]
    return html_table(header, body)
