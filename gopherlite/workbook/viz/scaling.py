"""Drawing scaling laws and compute allocation (ch. 10).

* :func:`isoflop_figure`: held-out loss against parameters, one curve per compute budget, with
  each budget's parabola and its lowest point (Chinchilla's Approach 2).
* :func:`loss_vs_compute_figure`: loss against compute, one line per model size, and the
  lower envelope that the best size at each budget traces.
* :func:`law_fit_figure`: a fitted `gopherlite.scaling.ParametricLaw` against the runs.
* :class:`BudgetExplorer`: a budget slider that moves the compute-optimal point, by the
  Chinchilla Table 3 fit and the Eq. 10 law, beside Gopher's and Chinchilla's own choices.
* :class:`TrainingTimeExplorer`: what a run's FLOPs take on a chosen chip, chip count and MFU.

All numbers come from `gopherlite.scaling` and `gopherlite.hardware`; nothing is refitted here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from gopherlite.hardware import CHIPS
from gopherlite.scaling import (
    ALLOCATION_EXPONENTS,
    CHINCHILLA_LAW,
    GOPHER_FLOPS,
    ParametricLaw,
    compute_optimal,
    training_seconds,
)
from gopherlite.workbook.experiments.isoflop import SweepRun, isoflop_minimum
from gopherlite.workbook.viz.common import PALETTE, Explorer, format_count, style

GOPHER_POINT = (280e9, 300e9)  # Gopher Table 1 and Sec. 3.2
CHINCHILLA_POINT = (70e9, 1.4e12)  # Hoffmann et al. 2022, Sec. 4


def _by_budget(runs: Sequence[SweepRun]) -> dict[float, list[SweepRun]]:
    groups: dict[float, list[SweepRun]] = {}
    for run in runs:
        groups.setdefault(run.budget, []).append(run)
    return groups


def isoflop_figure(runs: Sequence[SweepRun]) -> go.Figure:
    """Loss against N per budget, the parabola in log N through each, and its lowest point.

    Args:
      runs: From `gopherlite.workbook.experiments.isoflop.isoflop_sweep`.

    Returns:
      The figure (log x axis).
    """
    fig = go.Figure()
    for color, (budget, group) in zip(PALETTE, _by_budget(runs).items(), strict=False):
        n = np.array([run.n_params for run in group], float)
        loss = np.array([run.loss for run in group])
        fig.add_trace(
            go.Scatter(x=n, y=loss, mode="markers", marker={"color": color, "size": 9},
                       name=f"C = {budget:.2g} FLOPs")
        )  # fmt: skip
        if len(group) >= 3:
            best_n, coef_3 = isoflop_minimum(group)
            grid = np.geomspace(n.min(), n.max(), 60)
            fig.add_trace(
                go.Scatter(x=grid, y=np.polyval(coef_3, np.log(grid)), mode="lines",
                           line={"color": color, "dash": "dot"}, showlegend=False)
            )  # fmt: skip
            fig.add_trace(
                go.Scatter(x=[best_n], y=[np.polyval(coef_3, np.log(best_n))], mode="markers",
                           marker={"color": color, "symbol": "star", "size": 15},
                           name=f"lowest: N ≈ {format_count(best_n)}")
            )  # fmt: skip
    return style(
        fig,
        title="IsoFLOP profiles: each budget spent on models of different sizes",
        xaxis={"type": "log", "title": "parameters N"},
        yaxis_title="held-out loss (nats/token)",
        height=440,
    )


def loss_vs_compute_figure(runs: Sequence[SweepRun]) -> go.Figure:
    """Loss against compute, one line per width, and the best loss reached at each budget.

    Args:
      runs: From `isoflop_sweep`.

    Returns:
      The figure (log-log).
    """
    fig = go.Figure()
    widths = sorted({run.width for run in runs})
    for color, width in zip(PALETTE, widths, strict=False):
        mine = sorted((run for run in runs if run.width == width), key=lambda r: r.flops)
        fig.add_trace(
            go.Scatter(x=[r.flops for r in mine], y=[r.loss for r in mine], mode="lines+markers",
                       line={"color": color},
                       name=f"d_model {width} (N = {format_count(mine[0].n_params)})")
        )  # fmt: skip
    best = [min(group, key=lambda r: r.loss) for group in _by_budget(runs).values()]
    fig.add_trace(
        go.Scatter(x=[r.flops for r in best], y=[r.loss for r in best], mode="lines",
                   line={"color": "#000000", "width": 3, "dash": "dash"},
                   name="best size at each budget")
    )  # fmt: skip
    return style(
        fig,
        title="Loss against compute: the envelope is the compute-efficient frontier",
        xaxis={"type": "log", "title": "training compute C (FLOPs)"},
        yaxis={"type": "log", "title": "held-out loss (nats/token)"},
        height=440,
    )


def law_fit_figure(runs: Sequence[SweepRun], law: ParametricLaw) -> go.Figure:
    """Measured loss against the fitted law's prediction for every run.

    Args:
      runs: The runs the law was fitted to.
      law: The fitted law.

    Returns:
      A parity plot; points on the diagonal are predicted exactly.
    """
    measured = np.array([run.loss for run in runs])
    predicted = law.loss(np.array([r.n_params for r in runs]), np.array([r.n_tokens for r in runs]))
    lo, hi = (
        float(min(measured.min(), predicted.min())),
        float(max(measured.max(), predicted.max())),
    )
    fig = go.Figure(
        [
            go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="exact",
                       line={"dash": "dot", "color": "#999999"}),
            go.Scatter(x=predicted, y=measured, mode="markers", name="runs",
                       text=[f"d_model {r.width}, C = {r.budget:.2g}" for r in runs],
                       marker={"size": 9, "color": PALETTE[0]}),
        ]
    )  # fmt: skip
    return style(
        fig,
        title="The fitted law against the runs",
        xaxis_title="predicted loss",
        yaxis_title="measured loss",
        height=380,
    )


class BudgetExplorer(Explorer):
    """A compute budget slider; the compute-optimal point moves along the allocation lines.

    CSS classes: ``gl-budget-explorer`` (the whole), ``gl-budget-slider``, ``gl-budget-readout``
    and ``gl-budget-figure``.

    Attributes:
      budget: Slider over log10 of the budget in FLOPs.
      figure: N against C: Chinchilla's Table 3 fit, the Eq. 10 law, Kaplan's exponent through
        Gopher's point, Gopher and Chinchilla themselves, and the chosen budget.
      readout: N, D, tokens per parameter and the law's predicted loss at the budget.
      widget: The whole explorer.
    """

    def __init__(self, log10_flops: float = math.log10(GOPHER_FLOPS)) -> None:
        """Start at a budget (default: Gopher's 5.76e23 FLOPs).

        Args:
          log10_flops: Starting budget, as log10 of FLOPs (18 to 27).
        """
        self.budget = widgets.FloatSlider(
            value=log10_flops, min=18.0, max=27.0, step=0.1, description="log10 C",
            continuous_update=True, readout_format=".1f",
        )  # fmt: skip
        self.budget.add_class("gl-budget-slider")
        self.figure = go.FigureWidget(self._figure())
        self.figure.add_class("gl-budget-figure")
        self.readout = widgets.HTML(self._readout())
        self.readout.add_class("gl-budget-readout")
        self.widget = widgets.VBox([self.budget, self.readout, self.figure])
        self.widget.add_class("gl-budget-explorer")
        self.budget.observe(lambda _: self.update(), names="value")

    @property
    def flops(self) -> float:
        """The chosen budget in FLOPs."""
        return 10.0**self.budget.value

    def _readout(self) -> str:
        c = self.flops
        n_t3, d_t3 = compute_optimal(c)
        n_law, d_law = CHINCHILLA_LAW.compute_optimal(c)
        return (
            f"C = {c:.3g} FLOPs. Table 3 fit: <b>N = {format_count(n_t3)}</b>, "
            f"D = {format_count(d_t3)} tokens ({d_t3 / n_t3:.0f} tokens per parameter). "
            f"Eq. 10 law: N = {format_count(n_law)}, D = {format_count(d_law)}, predicted loss "
            f"{float(CHINCHILLA_LAW.loss(n_law, d_law)):.3f} nats."
        )

    def _figure(self) -> go.Figure:
        grid = np.logspace(18, 27, 50)
        a_kaplan, _ = ALLOCATION_EXPONENTS["Kaplan et al. 2020"]
        kaplan = GOPHER_POINT[0] * (grid / GOPHER_FLOPS) ** a_kaplan
        c = self.flops
        n_t3, _ = compute_optimal(c)
        traces = [
            go.Scatter(x=grid, y=[compute_optimal(g)[0] for g in grid], mode="lines",
                       name="Chinchilla Table 3 fit", line={"color": PALETTE[0]}),
            go.Scatter(x=grid, y=[CHINCHILLA_LAW.compute_optimal(g)[0] for g in grid],
                       mode="lines", name="Chinchilla Eq. 10 law",
                       line={"color": PALETTE[2], "dash": "dash"}),
            go.Scatter(x=grid, y=kaplan, mode="lines", line={"color": PALETTE[5], "dash": "dot"},
                       name=f"Kaplan's N ∝ C^{a_kaplan} through Gopher (illustration)"),
            go.Scatter(x=[GOPHER_FLOPS], y=[GOPHER_POINT[0]],
                       mode="markers+text", text=["Gopher"], textposition="top left",
                       marker={"size": 12, "color": PALETTE[5]}, name="Gopher 280B, 300B tokens"),
            go.Scatter(x=[GOPHER_FLOPS], y=[CHINCHILLA_POINT[0]], mode="markers+text",
                       text=["Chinchilla"], textposition="bottom right",
                       marker={"size": 12, "color": PALETTE[2]},
                       name="Chinchilla 70B, 1.4T tokens"),
            go.Scatter(x=[c], y=[n_t3], mode="markers", name="your budget (Table 3 fit)",
                       marker={"size": 16, "color": PALETTE[1], "symbol": "star"}),
        ]  # fmt: skip
        return style(
            go.Figure(traces),
            title=f"Compute-optimal parameters at C = {c:.3g} FLOPs",
            xaxis={"type": "log", "title": "training compute C (FLOPs)"},
            yaxis={"type": "log", "title": "parameters N"},
            height=560,
            legend={"orientation": "h", "y": -0.22},
        )

    def update(self) -> None:
        """Move the budget's marker and refresh the readout and title."""
        n_t3, _ = compute_optimal(self.flops)
        with self.figure.batch_update():
            self.figure.data[-1].x, self.figure.data[-1].y = [self.flops], [n_t3]
            self.figure.layout.title.text = (
                f"Compute-optimal parameters at C = {self.flops:.3g} FLOPs"
            )
        self.readout.value = self._readout()

    def static(self) -> list[go.Figure | str]:
        """The readout and figure at the current budget."""
        return [self._readout(), self._figure()]


class TrainingTimeExplorer(Explorer):
    """How long a run's FLOPs take: pick a chip, a chip count and an MFU.

    CSS classes: ``gl-time-explorer``, ``gl-time-chip``, ``gl-time-chips``, ``gl-time-mfu``,
    ``gl-time-price`` and ``gl-time-readout``.

    Attributes:
      chip, n_chips, mfu, price: The controls (the price per chip-hour is the learner's
        assumption, not a fact this package knows).
      readout: Days and cost.
      widget: The whole explorer.
    """

    def __init__(self, flops: float = GOPHER_FLOPS, chip: str = "v3", n_chips: int = 4096) -> None:
        """Start from a run and a set-up (default: Gopher's FLOPs on 4,096 TPU v3 chips).

        Args:
          flops: Training compute.
          chip: A `gopherlite.hardware.CHIPS` name.
          n_chips: Chips.
        """
        self.flops = flops
        self.chip = widgets.Dropdown(options=list(CHIPS), value=chip, description="chip")
        self.chip.add_class("gl-time-chip")
        self.n_chips = widgets.IntText(value=n_chips, description="chips")
        self.n_chips.add_class("gl-time-chips")
        self.mfu = widgets.FloatSlider(value=0.4, min=0.05, max=0.8, step=0.05, description="MFU")
        self.mfu.add_class("gl-time-mfu")
        self.price = widgets.FloatText(value=2.0, description="$/chip-hour")
        self.price.add_class("gl-time-price")
        self.readout = widgets.HTML(self._readout())
        self.readout.add_class("gl-time-readout")
        self.widget = widgets.VBox(
            [widgets.HBox([self.chip, self.n_chips]), widgets.HBox([self.mfu, self.price]),
             self.readout]
        )  # fmt: skip
        self.widget.add_class("gl-time-explorer")
        for control in (self.chip, self.n_chips, self.mfu, self.price):
            control.observe(lambda _: self._refresh(), names="value")

    def _readout(self) -> str:
        chip = CHIPS[self.chip.value]
        if self.n_chips.value < 1:
            return "Choose at least one chip."
        seconds = training_seconds(
            self.flops, chip.peak_bf16_flops, self.n_chips.value, self.mfu.value
        )
        chip_hours = seconds / 3600 * self.n_chips.value
        return (
            f"{self.flops:.3g} FLOPs on {self.n_chips.value:,} × {chip.name} "
            f"({chip.peak_bf16_flops / 1e12:.0f} TFLOP/s peak each) at MFU {self.mfu.value:.2f}: "
            f"<b>{seconds / 86400:.1f} days</b>, {chip_hours:,.0f} chip-hours, "
            f"about ${chip_hours * self.price.value:,.0f} at your assumed "
            f"${self.price.value:.2f} per chip-hour."
        )

    def _refresh(self) -> None:
        self.readout.value = self._readout()

    def static(self) -> list[go.Figure | str]:
        """The readout for the current controls."""
        return [self._readout()]
