"""Drawing position information: the relative shift, the sinusoid table, the clamp (ch. 04).

Transformer-XL (Dai et al. 2019, Sec. 3.3 and App. B), which Gopher uses (G Sec. 3.1), feeds
only the distance i − j through a fixed sinusoid table and lines the distance-indexed scores
up with the keys by the relative shift. The tables come from
`gopherlite.workbook.experiments.relative_attention`; this module draws them.

* :func:`rel_shift_figure`, :class:`RelShiftStepper`: the relative-shift trick step by step on
  a small labelled matrix.
* :func:`sinusoid_figure`: the sinusoid table, and why its dot products depend on distance only.
* :func:`clamp_figure`, :class:`ClampExplorer`: what clamping distances (TXL ``clamp_len``) does.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gopherlite.workbook.experiments.relative_attention import (
    ShiftStep,
    clamped_distance_table,
    clamped_sinusoid_rows,
    distance_indexed,
    rel_shift_steps,
    sinusoid_dot_products,
)
from gopherlite.workbook.viz.attention import SCORE_COLORS, gaps
from gopherlite.workbook.viz.common import PALETTE, Explorer, style


def _step_heatmap(step: ShiftStep, zmax: float) -> go.Heatmap:
    rows, cols = step.values.shape
    return go.Heatmap(
        z=gaps(step.values),
        x=list(range(cols)),
        y=list(range(rows)),
        text=step.labels,
        texttemplate="%{text}",
        textfont={"size": 10},
        zmin=0.0,
        zmax=zmax,
        colorscale="Blues",
        showscale=False,
        xgap=2,
        ygap=2,
        hovertemplate="row %{y}, column %{x}: %{text}<extra></extra>",
    )


def rel_shift_figure(n: int = 4, step: int | None = None) -> go.Figure:
    """The relative shift on a labelled ``n × n`` matrix: one step, or all five side by side.

    Entries are labelled ``q{i}·r{d}``: query i's score against the relative key of distance d,
    coloured by d; the padding is blank. After the last step row i, column j holds
    ``q{i}·r{i−j}`` on and below the diagonal; the entries above it (wrapped from the next row
    or padding) are garbage that the causal mask removes.

    Args:
      n: Queries and keys (2 to 10 reads well).
      step: 0 … 4 for one step, None for all.

    Returns:
      The figure.
    """
    distance, labels = distance_indexed(n)
    steps = rel_shift_steps(distance, labels, pad_value=np.nan)
    chosen = steps if step is None else [steps[step]]
    fig = make_subplots(
        rows=1,
        cols=len(chosen),
        subplot_titles=[s.title for s in chosen],
        horizontal_spacing=0.04,
    )
    for col, s in enumerate(chosen, start=1):
        fig.add_trace(_step_heatmap(s, zmax=float(n)), 1, col)
    fig.update_xaxes(showgrid=False, dtick=1, title="column")
    fig.update_yaxes(showgrid=False, dtick=1, autorange="reversed", title="row")
    width = 260 * len(chosen) if step is None else 120 + 70 * (n + 1)
    return style(
        fig,
        height=170 + 55 * (n + 1),
        width=max(width, 420),
        title="Relative shift",
        margin={"t": 110},
    )


_SHIFT_NOTES = (
    "Query i needs its scores against distances i, i−1, …, 0 in columns 0 … i. Computing "
    "q_i · W_kR R_d for every distance d once per row is one [Q × C] product; but row i's "
    "distance i sits in column n−1−i, not column 0.",
    "A column of zeros on the left makes every row one entry longer. Nothing moved yet.",
    "Same numbers in the same memory order, just read with a different shape. Because rows are "
    "now one entry shorter than before the pad, every old row slides one place further left "
    "than the row above it.",
    "The first row is now junk (padding and the start of row 0): drop it.",
    "Read back as the original shape: row i now starts with distance i. On and below the "
    "diagonal, entry [i, j] is q_i · r_{i−j}; above it are leftovers the causal mask hides.",
)


class RelShiftStepper(Explorer):
    """Step through the relative shift with a slider; a second slider sets the matrix size.

    CSS classes: the step slider ``gl-shift-step``, the size slider ``gl-shift-size``, the
    figure ``gl-shift-figure``.

    Attributes:
      step: Step slider (0 … 4).
      size: Matrix size slider (2 … 8).
      note: What the current step does.
      figure: The ``FigureWidget``.
      widget: The whole stepper.
    """

    def __init__(self, n: int = 4) -> None:
        """Build the stepper.

        Args:
          n: Initial matrix size.
        """
        self.step = widgets.IntSlider(value=0, min=0, max=4, description="step")
        self.step.add_class("gl-shift-step")
        self.size = widgets.IntSlider(value=n, min=2, max=8, description="size")
        self.size.add_class("gl-shift-size")
        self.note = widgets.HTML()
        self.figure = go.FigureWidget(rel_shift_figure(n, 0))
        self.figure.add_class("gl-shift-figure")
        self.widget = widgets.VBox([widgets.HBox([self.step, self.size]), self.note, self.figure])
        self.step.observe(lambda _: self.update(), names="value")
        self.size.observe(lambda _: self.update(), names="value")
        self.update()

    def update(self) -> None:
        """Redraw the selected step at the selected size."""
        new = rel_shift_figure(self.size.value, self.step.value)
        self.note.value = f"<p>{html.escape(_SHIFT_NOTES[self.step.value])}</p>"
        with self.figure.batch_update():
            trace, fresh = self.figure.data[0], new.data[0]
            trace.update(z=fresh.z, x=fresh.x, y=fresh.y, text=fresh.text, zmax=fresh.zmax)
            self.figure.layout.annotations[0].text = new.layout.annotations[0].text
            self.figure.layout.height = new.layout.height
            self.figure.layout.width = new.layout.width

    def static(self) -> list[go.Figure | str]:
        """All five steps side by side."""
        return [rel_shift_figure(self.size.value)]


def sinusoid_figure(
    max_distance: int = 64, d: int = 64, starts: Sequence[int] = (0, 17, 40)
) -> go.Figure:
    """The sinusoid table R, and the dot product of two of its rows against their distance.

    ``R_p · R_{p+k} = Σ_f [sin(p w_f) sin((p+k) w_f) + cos(p w_f) cos((p+k) w_f)]
    = Σ_f cos(k w_f)``: it depends on the offset k alone, whatever p is. The right panel shows
    one curve per start p, and they coincide.

    Args:
      max_distance: Rows of the table (distances 0 … max_distance − 1).
      d: Embedding width (even).
      starts: Start positions p of the dot-product curves.

    Returns:
      The two-panel figure.
    """
    table_PxD, curves = sinusoid_dot_products(max_distance, d, starts)
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.45, 0.55],
        subplot_titles=(
            f"R: sine half | cosine half (d = {d})",
            "R_p · R_(p+k) depends only on k",
        ),
    )
    fig.add_trace(
        go.Heatmap(
            z=table_PxD,
            colorscale=SCORE_COLORS,
            zmid=0.0,
            showscale=False,
            hovertemplate="distance %{y}, feature %{x}: %{z:.2f}<extra></extra>",
        ),
        1,
        1,
    )
    for i, (p, dots) in enumerate(curves.items()):
        fig.add_trace(
            go.Scatter(
                x=np.arange(max_distance),
                y=dots,
                mode="lines",
                name=f"p = {p}",
                line={
                    "color": PALETTE[i % len(PALETTE)],
                    "width": 4 - i,
                    "dash": ("solid", "dash", "dot")[i % 3],
                },
            ),
            1,
            2,
        )
    fig.update_xaxes(title="feature", row=1, col=1)
    fig.update_yaxes(title="distance", autorange="reversed", row=1, col=1)
    fig.update_xaxes(title="offset k", row=1, col=2)
    fig.update_yaxes(title="dot product", row=1, col=2)
    return style(
        fig, height=420, title="Fixed sinusoids: a table that never runs out", margin={"t": 90}
    )


def clamp_figure(length: int = 24, clamp_len: int | None = 8, d: int = 32) -> go.Figure:
    """What clamping relative distances does (Transformer-XL ``clamp_len``).

    Left: the distance each (query, key) pair feeds to the sinusoids, after
    `gopherlite.nn.positions.clamp_distances`; everything further than ``clamp_len`` reads as
    ``clamp_len``. Right: the sinusoid rows actually used for distances 0 … length − 1: rows
    past the clamp repeat.

    Args:
      length: Sequence length.
      clamp_len: Largest distinct distance, or None for no clamp.
      d: Sinusoid width of the right panel.

    Returns:
      The two-panel figure.
    """
    distance_LxL = clamped_distance_table(length, clamp_len)
    rows_PxD = clamped_sinusoid_rows(length, clamp_len, d)
    label = "no clamp" if clamp_len is None else f"clamp_len = {clamp_len}"
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.18,
        subplot_titles=(
            f"distance fed to the sinusoids ({label})",
            "sinusoid row used for each true distance",
        ),
    )
    fig.add_trace(
        go.Heatmap(
            z=gaps(distance_LxL),
            colorscale="Blues",
            zmin=0,
            zmax=length - 1,
            colorbar={
                "title": "distance",
                "x": 0.42,
                "xanchor": "left",
                "len": 0.8,
                "thickness": 12,
            },
            hovertemplate="query %{y}, key %{x}: distance %{z}<extra></extra>",
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Heatmap(
            z=rows_PxD,
            colorscale=SCORE_COLORS,
            zmid=0.0,
            showscale=False,
            hovertemplate="true distance %{y}, feature %{x}: %{z:.2f}<extra></extra>",
        ),
        1,
        2,
    )
    fig.update_xaxes(title="key j", row=1, col=1)
    fig.update_yaxes(title="query i", autorange="reversed", row=1, col=1)
    fig.update_xaxes(title="feature", row=1, col=2)
    fig.update_yaxes(title="true distance i − j", autorange="reversed", row=1, col=2)
    return style(fig, height=440, title=f"Clamping relative distances: {label}", margin={"t": 90})


class ClampExplorer(Explorer):
    """A ``clamp_len`` slider over :func:`clamp_figure`.

    CSS classes: the slider ``gl-clamp-slider``, the figure ``gl-clamp-figure``.

    Attributes:
      clamp: Slider from 1 to ``length``; ``length`` means no clamp (no distance reaches it).
      figure: The ``FigureWidget``.
      widget: The whole explorer.
    """

    def __init__(self, length: int = 24, clamp_len: int = 8) -> None:
        """Build the explorer.

        Args:
          length: Sequence length.
          clamp_len: Initial clamp.
        """
        self.length = length
        self.clamp = widgets.IntSlider(value=clamp_len, min=1, max=length, description="clamp_len")
        self.clamp.add_class("gl-clamp-slider")
        self.figure = go.FigureWidget(clamp_figure(length, clamp_len))
        self.figure.add_class("gl-clamp-figure")
        self.widget = widgets.VBox([self.clamp, self.figure])
        self.clamp.observe(lambda _: self.update(), names="value")

    def update(self) -> None:
        """Redraw for the slider's clamp."""
        new = clamp_figure(self.length, self.clamp.value)
        with self.figure.batch_update():
            for trace, fresh in zip(self.figure.data, new.data, strict=True):
                trace.z = fresh.z
            self.figure.layout.title.text = new.layout.title.text
            self.figure.layout.annotations[0].text = new.layout.annotations[0].text

    def static(self) -> list[go.Figure | str]:
        """The figure at the current clamp."""
        return [clamp_figure(self.length, self.clamp.value)]
