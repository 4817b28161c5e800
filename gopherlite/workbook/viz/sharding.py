"""Meshes and layouts drawn: which block of each array every device holds (chapter 07).

The blocks come from `gopherlite.workbook.experiments.mesh_blocks`, which reads them from the
shardings the package really uses; this module only draws.

* :func:`mesh_grid_figure`: one heatmap-like grid per array (a cell per device, a colour per
  distinct shard); :class:`MeshBuilder` drives it with degree and layout dropdowns.
* :func:`layout_summary_html`, :func:`arrays_table_html`: the layout's rules and each array's
  partition spec and shard shape.

Memory per device of each layout and the "will it fit" explorer are in
`gopherlite.workbook.viz.memory`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import plotly.graph_objects as go
from jax.sharding import PartitionSpec
from plotly.subplots import make_subplots

from gopherlite.config import ModelConfig
from gopherlite.sharding import AXES, LAYOUTS, get_layout, mesh_degrees
from gopherlite.workbook.experiments.mesh_blocks import (
    GRID_MODEL,
    ArrayLayout,
    Block,
    array_layouts,
)
from gopherlite.workbook.viz.common import PALETTE, Explorer, html_table, style

PART_COLORS = {"params": PALETTE[0], "optimizer": PALETTE[1], "gradients": PALETTE[2],
                 "activations": PALETTE[3]}  # fmt: skip


def _colorscale(n: int) -> list[list[object]]:
    """A stepped colour scale with ``n`` flat bands, one palette colour each."""
    colours = [PALETTE[i % len(PALETTE)] for i in range(n)]
    scale: list[list[object]] = []
    for i, colour in enumerate(colours):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return scale


def _spec_text(spec: PartitionSpec) -> str:
    return "P(" + ", ".join(repr(e) if e is not None else "None" for e in spec) + ")"


def _block_text(block: Block, names: Sequence[str | None]) -> str:
    return ", ".join(
        f"{name or '·'} {start}:{stop}" for name, (start, stop) in zip(names, block, strict=True)
    )


def grid_trace_data(array: ArrayLayout) -> dict[str, object]:
    """Heatmap fields for one array: rows are ``data``, columns ``fsdp × tensor``.

    Args:
      array: From :func:`array_layouts`.

    Returns:
      ``z`` (shard number per device), ``text`` (the number), ``customdata`` (the block each
      device holds, for the hover), plus colour settings.
    """
    data, fsdp, tensor = array.ids.shape
    ids_RxC = array.ids.reshape(data, fsdp * tensor)
    blocks_RxC = array.blocks.reshape(data, fsdp * tensor)
    hover = [
        [
            f"data {r}, fsdp {c // tensor}, tensor {c % tensor}"
            f"<br>holds {_block_text(blocks_RxC[r, c], array.names)}"
            for c in range(fsdp * tensor)
        ]
        for r in range(data)
    ]
    n_colours = len(PALETTE)
    return {
        "z": (ids_RxC % n_colours).tolist(),
        "text": [[f"s{i}" for i in row] for row in ids_RxC.tolist()],
        "customdata": hover,
        "x": [f"f{c // tensor}·t{c % tensor}" for c in range(fsdp * tensor)],
        "y": [f"d{r}" for r in range(data)],
    }


def _panel_title(array: ArrayLayout) -> str:
    shape = "×".join(str(s) for s in array.shape)
    copies = array.ids.size // array.num_shards
    return (
        f"<b>{array.label}</b> [{shape}]<br>{_spec_text(array.spec)}<br>"
        f"{array.num_shards} shard{'s' * (array.num_shards > 1)} × {copies} "
        f"cop{'ies' if copies > 1 else 'y'}"
    )


GRID_COLUMNS = 3


def mesh_grid_figure(arrays: Sequence[ArrayLayout], title: str = "") -> go.Figure:
    """One grid per array: each device a cell, each distinct shard a colour (``s0``, ``s1``…).

    Cells of the same colour hold the same block (copies); the hover names the block.

    Args:
      arrays: From :func:`array_layouts`.
      title: Figure title.

    Returns:
      The figure; :class:`MeshBuilder` updates its traces in place.
    """
    rows = math.ceil(len(arrays) / GRID_COLUMNS)
    fig = make_subplots(
        rows=rows,
        cols=GRID_COLUMNS,
        subplot_titles=[_panel_title(a) for a in arrays],
        horizontal_spacing=0.08,
        vertical_spacing=0.55 / rows,
    )
    n_colours = len(PALETTE)
    for index, array in enumerate(arrays):
        fig.add_trace(
            go.Heatmap(
                **grid_trace_data(array),
                zmin=-0.5,
                zmax=n_colours - 0.5,
                colorscale=_colorscale(n_colours),
                showscale=False,
                texttemplate="%{text}",
                hovertemplate="%{customdata}<extra></extra>",
                xgap=3,
                ygap=3,
                name=array.label,
            ),
            index // GRID_COLUMNS + 1,
            index % GRID_COLUMNS + 1,
        )
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False, tickangle=0, tickfont={"size": 9})
    fig.update_annotations(font_size=11)
    # The title sits at the top of the figure, above the first row's three-line panel titles.
    height = 290 * rows + 80
    top = {"text": title, "y": 1 - 20 / height, "yref": "container", "yanchor": "top"}
    return style(fig, height=height, title=top, margin={"t": 130, "l": 40, "r": 10})


def _grid_title(degrees: Mapping[str, int], layout: str) -> str:
    shape = " × ".join(f"{a}={degrees[a]}" for a in AXES)
    return f"layout {layout!r} on {shape}<br><sub>cell = device · same colour = same block</sub>"


def layout_summary_html(degrees: Mapping[str, int], layout: str) -> str:
    """The layout's description and collectives, for the mesh builder's readout.

    Args:
      degrees: Complete mesh degrees.
      layout: Layout name.

    Returns:
      An HTML fragment.
    """
    rules = get_layout(layout)
    shape = " × ".join(f"{a}={degrees[a]}" for a in AXES)
    return (
        f'<div class="gl-mesh-summary"><b>mesh</b> {html.escape(shape)} · '
        f"<b>{html.escape(layout)}</b>: {html.escape(rules.description)}<br>"
        f"<b>collectives per step:</b> {html.escape(rules.collectives)}</div>"
    )


def arrays_table_html(arrays: Sequence[ArrayLayout]) -> str:
    """A table of the arrays: logical names, partition spec, shard shape and copies.

    Args:
      arrays: From :func:`array_layouts`.

    Returns:
      The HTML table.
    """
    rows = [
        (
            a.label,
            a.kind,
            "×".join(map(str, a.shape)),
            ", ".join(n or "·" for n in a.names),
            _spec_text(a.spec),
            "×".join(map(str, a.shard_shape)),
            a.ids.size // a.num_shards,
        )
        for a in arrays
    ]
    header = ("array", "kind", "shape", "logical axes", "spec", "per device", "copies")
    return html_table(header, rows)


class MeshBuilder(Explorer):
    """Degree dropdowns for ``data``, ``fsdp``, ``tensor`` and a layout selector, over grids.

    Every change recomputes the shardings with the package (:func:`array_layouts`); a mesh
    whose degrees do not multiply to the device count shows
    `gopherlite.sharding.mesh_degrees`'s own error message and leaves the grids as they were.

    CSS classes: the layout dropdown ``gl-mesh-layout``, the degree dropdowns
    ``gl-mesh-data``, ``gl-mesh-fsdp``, ``gl-mesh-tensor``, the message ``gl-mesh-message``, the
    grids ``gl-mesh-grid``, the whole builder ``gl-mesh-builder``.

    Attributes:
      num_devices: Devices the mesh must cover.
      degrees: ``data``, ``fsdp``, ``tensor`` dropdowns.
      layout: The layout dropdown.
      message: HTML readout: the layout's summary, or the error.
      table: HTML table of specs and shard shapes.
      figure: The grids (``FigureWidget``).
      widget: The whole builder.
    """

    def __init__(
        self,
        num_devices: int = 8,
        *,
        data: int = 2,
        fsdp: int = 2,
        tensor: int = 2,
        layout: str = "2d",
        config: ModelConfig = GRID_MODEL,
    ) -> None:
        """Build the widgets for a starting mesh.

        Args:
          num_devices: Devices the mesh must cover (its degrees' product).
          data: Starting ``data`` degree.
          fsdp: Starting ``fsdp`` degree.
          tensor: Starting ``tensor`` degree.
          layout: Starting layout.
          config: The model whose arrays are drawn.
        """
        self.num_devices = num_devices
        self.config = config
        options = [d for d in range(1, num_devices + 1) if num_devices % d == 0]
        start = {"data": data, "fsdp": fsdp, "tensor": tensor}
        self.degrees = {
            axis: widgets.Dropdown(
                options=options, value=start[axis], description=axis,
                layout={"width": "150px"}, style={"description_width": "50px"},
            )
            for axis in AXES
        }  # fmt: skip
        for axis, dropdown in self.degrees.items():
            dropdown.add_class(f"gl-mesh-{axis}")
        self.layout = widgets.Dropdown(
            options=list(LAYOUTS), value=layout, description="layout", layout={"width": "180px"},
            style={"description_width": "50px"},
        )  # fmt: skip
        self.layout.add_class("gl-mesh-layout")
        self.message = widgets.HTML()
        self.message.add_class("gl-mesh-message")
        self.table = widgets.HTML()
        self._good = mesh_degrees(start, num_devices), layout
        arrays = array_layouts(*self._good, config)
        self.figure = go.FigureWidget(mesh_grid_figure(arrays, _grid_title(*self._good)))
        self.figure.add_class("gl-mesh-grid")
        controls = widgets.HBox([*self.degrees.values(), self.layout])
        self.widget = widgets.VBox([controls, self.message, self.figure, self.table])
        self.widget.add_class("gl-mesh-builder")
        for control in (*self.degrees.values(), self.layout):
            control.observe(lambda _: self.update(), names="value")
        self.update()

    def current(self) -> tuple[dict[str, int], str]:
        """The degrees and layout the controls show (degrees possibly invalid)."""
        return {axis: d.value for axis, d in self.degrees.items()}, self.layout.value

    def update(self) -> None:
        """Recompute the shardings and redraw; on a bad mesh, show the package's error."""
        degrees, layout = self.current()
        try:
            degrees = mesh_degrees(degrees, self.num_devices)
            arrays = array_layouts(degrees, layout, self.config)
        except ValueError as error:
            self.message.value = (
                f'<div class="gl-mesh-error" style="color:#b00020"><b>Not a valid mesh:</b> '
                f"{html.escape(str(error))}</div>"
            )
            return
        self._good = degrees, layout
        self.message.value = layout_summary_html(degrees, layout)
        self.table.value = arrays_table_html(arrays)
        with self.figure.batch_update():
            for trace, array in zip(self.figure.data, arrays, strict=True):
                trace.update(grid_trace_data(array))
            for annotation, array in zip(self.figure.layout.annotations, arrays, strict=True):
                annotation.text = _panel_title(array)
            self.figure.layout.title.text = _grid_title(degrees, layout)

    def static(self) -> list[go.Figure | str]:
        """The summary, grids and table for the last valid mesh."""
        degrees, layout = self._good
        arrays = array_layouts(degrees, layout, self.config)
        return [
            self.message.value,
            mesh_grid_figure(arrays, _grid_title(degrees, layout)),
            arrays_table_html(arrays),
        ]
