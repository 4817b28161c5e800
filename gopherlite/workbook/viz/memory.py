"""Memory per device of each layout, and "will it fit", drawn (chapter 07).

* :func:`layout_memory_figure`, :func:`layout_table_html`: the five layouts side by side
  (`gopherlite.workbook.experiments.mesh_blocks.layout_memory`), memory per device and the
  collectives each needs.
* :func:`compiler_table_html`: XLA's memory analysis of real sharded steps beside the estimate
  (`gopherlite.workbook.experiments.layout_runs.memory_comparison`).
* :func:`fit_figure`, :func:`fit_html` and :class:`FitExplorer`: preset × chip × mesh × layout ×
  remat against the chip's memory, with the smallest mesh that fits
  (`gopherlite.costs.smallest_fit`).
"""

from __future__ import annotations

import contextlib
import html
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import ipywidgets as widgets
import plotly.graph_objects as go

from gopherlite.config import PRESETS
from gopherlite.costs import MemoryEstimate, memory_per_device, state_bytes_per_device
from gopherlite.hardware import CHIPS
from gopherlite.precision import POLICIES
from gopherlite.sharding import AXES, LAYOUTS
from gopherlite.workbook.experiments.mesh_blocks import cached_smallest_fit
from gopherlite.workbook.viz.common import Explorer, format_bytes, html_table, style
from gopherlite.workbook.viz.sharding import PART_COLORS

if TYPE_CHECKING:
    from gopherlite.workbook.experiments.layout_runs import LayoutRun

# --- the layouts compared ------------------------------------------------------------------


_PARTS = ("params", "optimizer", "gradients", "activations")


def _mesh_text(mesh: Mapping[str, int]) -> str:
    return ",".join(f"{a}={mesh[a]}" for a in AXES if mesh[a] > 1) or "1 device"


def layout_memory_figure(estimates: Mapping[str, MemoryEstimate], title: str = "") -> go.Figure:
    """Stacked bars of bytes per device (params, optimizer, gradients, activations) per layout.

    A dashed line marks the chip's memory per device.

    Args:
      estimates: From :func:`layout_memory`.
      title: Figure title.

    Returns:
      The figure.
    """
    names = [f"{layout}<br>{_mesh_text(e.mesh)}" for layout, e in estimates.items()]
    fig = go.Figure()
    for part in _PARTS:
        values = [getattr(e, part) / 2**30 for e in estimates.values()]
        fig.add_trace(
            go.Bar(
                x=names, y=values, name=part, marker={"color": PART_COLORS[part]},
                hovertemplate="%{y:.3g} GiB<extra>" + part + "</extra>",
            )
        )  # fmt: skip
    memory = next(iter(estimates.values())).device_memory / 2**30
    fig.add_hline(
        y=memory, line_dash="dash", line_color="#b00020",
        annotation_text=f"{memory:.3g} GiB per device", annotation_position="top left",
    )  # fmt: skip
    fig.update_yaxes(title="GiB per device")
    return style(fig, barmode="stack", height=420, title=title)


def layout_table_html(estimates: Mapping[str, MemoryEstimate]) -> str:
    """Per layout: mesh, the four memory parts, total, fits, and the collectives it needs.

    Args:
      estimates: From :func:`layout_memory`.

    Returns:
      The HTML table.
    """
    rows = [
        (
            layout,
            _mesh_text(e.mesh),
            *(format_bytes(getattr(e, part)) for part in _PARTS),
            format_bytes(e.total),
            "yes" if e.fits else "no",
            LAYOUTS[layout].collectives,
        )
        for layout, e in estimates.items()
    ]
    header = ("layout", "mesh", *_PARTS, "total", "fits", "collectives")
    return html_table(header, rows)


def compiler_table_html(pairs: Sequence[tuple[LayoutRun, MemoryEstimate]]) -> str:
    """Per run: the compiler's bytes per device beside the estimate's, part by part.

    Arguments are set against the estimate's parameters + optimizer state + the batch rows;
    temporaries against its gradients + activations; the totals against each other.

    Args:
      pairs: From `layout_runs.memory_comparison` (runs with a memory analysis).

    Returns:
      The HTML table.
    """
    rows = []
    for run, e in pairs:
        m = run.memory
        if m is None:
            continue
        rows.append((
            run.name,
            format_bytes(m.arguments), format_bytes(e.params + e.optimizer + run.batch_bytes),
            format_bytes(m.temporaries), format_bytes(e.gradients + e.activations),
            format_bytes(m.total), format_bytes(e.total), f"{e.total / m.total:.2f}",
        ))  # fmt: skip
    header = (
        "run", "XLA: arguments", "estimate: params + optimizer + batch", "XLA: temporaries",
        "estimate: gradients + activations", "XLA: total", "estimate: total",
        "estimate / XLA",
    )  # fmt: skip
    return html_table(header, rows)


# --- will it fit ---------------------------------------------------------------------------


def fit_figure(estimate: MemoryEstimate, title: str = "") -> go.Figure:
    """One horizontal stacked bar of an estimate's parts against the chip's memory.

    Args:
      estimate: A `gopherlite.costs.MemoryEstimate`.
      title: Figure title.

    Returns:
      The figure (four bar traces and a memory line).
    """
    fig = go.Figure()
    for part in _PARTS:
        fig.add_trace(
            go.Bar(
                x=[getattr(estimate, part) / 2**30], y=["this mesh"], orientation="h", name=part,
                marker={"color": PART_COLORS[part]},
                hovertemplate="%{x:.3g} GiB<extra>" + part + "</extra>",
            )
        )  # fmt: skip
    fig.add_vline(x=estimate.device_memory / 2**30, line_dash="dash", line_color="#b00020")
    fig.update_xaxes(title="GiB per device", rangemode="tozero")
    return style(fig, barmode="stack", height=220, title=title, margin={"t": 50, "b": 40})


def fit_html(estimate: MemoryEstimate, smallest: MemoryEstimate | None, preset: str) -> str:
    """The will-it-fit readout: bytes per device against memory, and the smallest mesh.

    Args:
      estimate: The chosen mesh's estimate.
      smallest: `cached_smallest_fit` for the same preset, chip, precision and remat.
      preset: The preset's name.

    Returns:
      An HTML fragment.
    """
    verdict = "fits" if estimate.fits else "does NOT fit"
    colour = "#007a3d" if estimate.fits else "#b00020"
    devices = math.prod(estimate.mesh.values())
    chip = CHIPS[estimate.chip]
    if smallest is None:
        best = "no mesh up to 8,192 devices fits"
    else:
        best = (
            f"{math.prod(smallest.mesh.values()):,} devices, layout {smallest.layout!r}, "
            f"mesh {_mesh_text(smallest.mesh)}: {format_bytes(smallest.total)} of "
            f"{format_bytes(smallest.device_memory)}"
        )
    params, optimizer = state_bytes_per_device(
        PRESETS[preset], estimate.precision, dict.fromkeys(AXES, 1), "dp"
    )
    return (
        f'<div class="gl-fit-readout" style="font-size:1.1em">'
        f"<b>{html.escape(preset)}</b> on {devices:,} {chip.name} device(s) "
        f"({_mesh_text(estimate.mesh)}, layout {estimate.layout!r}, {estimate.precision}, "
        f"remat {'on' if estimate.remat else 'off'}): "
        f'<span class="gl-fit-total">{format_bytes(estimate.total)}</span> per device of '
        f"{format_bytes(estimate.device_memory)} → "
        f'<b style="color:{colour}">{verdict}</b><br>'
        f"parameters + optimizer state on one device, unsharded: {format_bytes(params + optimizer)}"
        "<br>"
        f"smallest fit ({estimate.chip}, {estimate.precision}, remat "
        f'{"on" if estimate.remat else "off"}): <span class="gl-fit-smallest">'
        f"{html.escape(best)}</span></div>"
    )


class FitExplorer(Explorer):
    """Will a Gopher-family model train on this many chips? Bytes per device vs memory.

    Controls: preset, chip, precision, layout, the three mesh degrees (powers of two) and a
    remat toggle. The readout gives the total per device and whether it fits, and the smallest
    fitting mesh from `gopherlite.costs.smallest_fit`; the bar splits the total into
    parameters, optimizer state, gradients and activations, with the chip's memory dashed.

    CSS classes: the whole explorer ``gl-fit-explorer``, the readout ``gl-fit``, the chip
    dropdown ``gl-fit-chip``, the figure ``gl-fit-figure``.

    Attributes:
      controls: Name → widget (``preset``, ``chip``, ``precision``, ``layout``, ``data``,
        ``fsdp``, ``tensor``, ``remat``).
      readout: HTML readout.
      figure: The bar (``FigureWidget``).
      widget: The whole explorer.
    """

    DEGREES = tuple(2**k for k in range(13))

    def __init__(
        self,
        preset: str = "280b",
        chip: str = "v3",
        *,
        mesh: Mapping[str, int] | None = None,
        layout: str = "2d",
        precision: str = "bf16_sr",
        remat: bool = True,
    ) -> None:
        """Build the explorer.

        Args:
          preset: Starting preset.
          chip: Starting chip.
          mesh: Starting degrees (default ``fsdp=256, tensor=2``: 512 devices).
          layout: Starting layout.
          precision: Starting precision policy.
          remat: Start with rematerialisation on.
        """
        mesh = {"data": 1, "fsdp": 256, "tensor": 2, **(mesh or {})}
        narrow = {"style": {"description_width": "70px"}, "layout": {"width": "210px"}}
        self.controls: dict[str, widgets.ValueWidget] = {
            "preset": widgets.Dropdown(options=list(PRESETS), value=preset, description="model",
                                       **narrow),
            "chip": widgets.Dropdown(options=list(CHIPS), value=chip, description="chip",
                                     **narrow),
            "precision": widgets.Dropdown(options=list(POLICIES), value=precision,
                                          description="precision", **narrow),
            "layout": widgets.Dropdown(options=list(LAYOUTS), value=layout, description="layout",
                                       **narrow),
            **{axis: widgets.Dropdown(options=self.DEGREES, value=mesh[axis], description=axis,
                                      **narrow) for axis in AXES},
            "remat": widgets.Checkbox(value=remat, description="rematerialise blocks",
                                      indent=False),
        }  # fmt: skip
        self.controls["chip"].add_class("gl-fit-chip")
        self.controls["preset"].add_class("gl-fit-preset")
        self.readout = widgets.HTML()
        self.readout.add_class("gl-fit")
        self.figure = go.FigureWidget(fit_figure(self.estimate()))
        self.figure.add_class("gl-fit-figure")
        rows = [
            widgets.HBox([self.controls[n] for n in ("preset", "chip", "precision", "layout")]),
            widgets.HBox([*(self.controls[a] for a in AXES), self.controls["remat"]]),
        ]
        self.widget = widgets.VBox([*rows, self.readout, self.figure])
        self.widget.add_class("gl-fit-explorer")
        for control in self.controls.values():
            control.observe(lambda _: self.update(), names="value")
        self.update()

    def settings(self) -> dict[str, object]:
        """The controls' current values."""
        return {name: control.value for name, control in self.controls.items()}

    def estimate(self) -> MemoryEstimate:
        """`gopherlite.costs.memory_per_device` for the current controls.

        Raises:
          ValueError: a sharded dimension does not divide its mesh axes.
        """
        s = self.settings()
        return memory_per_device(
            PRESETS[s["preset"]], chip=s["chip"], mesh={a: s[a] for a in AXES},
            layout=s["layout"], precision=s["precision"], remat=s["remat"],
        )  # fmt: skip

    def readout_html(self) -> str:
        """The readout for the current controls (or the package's error message)."""
        s = self.settings()
        try:
            estimate = self.estimate()
        except ValueError as error:
            return (
                f'<div class="gl-fit-readout" style="color:#b00020"><b>Cannot lay out:</b> '
                f"{html.escape(str(error))}</div>"
            )
        smallest = cached_smallest_fit(s["preset"], s["chip"], s["precision"], s["remat"])
        return fit_html(estimate, smallest, s["preset"])

    def update(self) -> None:
        """Recompute the readout and the bar."""
        self.readout.value = self.readout_html()
        try:
            estimate = self.estimate()
        except ValueError:
            return
        with self.figure.batch_update():
            for trace, part in zip(self.figure.data, _PARTS, strict=True):
                trace.x = [getattr(estimate, part) / 2**30]
            self.figure.layout.shapes[0].update(
                x0=estimate.device_memory / 2**30, x1=estimate.device_memory / 2**30
            )

    def static(self) -> list[go.Figure | str]:
        """The readout and the bar for the current controls."""
        parts: list[go.Figure | str] = [self.readout_html()]
        with contextlib.suppress(ValueError):  # the readout already shows the error
            parts.append(fit_figure(self.estimate()))
        return parts
