"""Meshes, layouts and "will it fit", drawn (chapter 07).

Every grid here is computed from the shardings the package really uses: parameters get their
`jax.sharding.PartitionSpec` from `gopherlite.sharding.state_shardings` on an abstract train
state (nothing allocated), activations from the layout's activation rules through
`gopherlite.sharding.logical_spec`, memory from `gopherlite.costs`. Because the meshes are
`jax.sharding.AbstractMesh` objects, the drawings work for any device count, whatever this
machine has; the tests check that the blocks agree with ``NamedSharding.devices_indices_map``
on 8 simulated devices.

* :func:`device_blocks`, :func:`shard_ids`: which block of an array each device of a mesh holds.
* :func:`array_layouts`: the main parameters and activations of a model under a layout.
* :func:`mesh_grid_figure`: one heatmap-like grid per array (a cell per device, a colour per
  distinct shard); :class:`MeshBuilder` drives it with degree and layout dropdowns.
* :func:`layout_memory`, :func:`layout_memory_figure`, :func:`layout_table_html`: the five
  layouts side by side, memory per device and the collectives each needs.
* :class:`FitExplorer`: preset × chip × mesh × layout × remat against the chip's memory, with
  the smallest mesh that fits (`gopherlite.costs.smallest_fit`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import html
import itertools
import math
from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from flax import nnx
from jax.sharding import PartitionSpec
from plotly.subplots import make_subplots

from gopherlite.config import PRESETS, ModelConfig
from gopherlite.costs import (
    MemoryEstimate,
    abstract_train_state,
    memory_per_device,
    smallest_fit,
    state_bytes_per_device,
)
from gopherlite.hardware import CHIPS
from gopherlite.precision import POLICIES
from gopherlite.sharding import (
    AXES,
    LAYOUTS,
    abstract_mesh,
    get_layout,
    logical_spec,
    mesh_degrees,
)
from gopherlite.workbook.viz.common import PALETTE, Explorer, format_bytes, html_table, style

# One array position per dimension: (start, stop).
Block = tuple[tuple[int, int], ...]

# The model the mesh builder lays out: the tiny preset with one block and 8 heads, so every
# sharded dimension (heads 8, d_model 128, MLP 512, vocabulary 4096) divides 8 devices.
GRID_MODEL = PRESETS["tiny"].replace(n_layers=1, n_heads=8, d_head=16)
GRID_BATCH = 8  # sequences in the drawn activations
GRID_SEQ_LEN = 32

# Where to find each drawn parameter in the train state, with a short label.
PARAMETERS: tuple[tuple[str, tuple[object, ...]], ...] = (
    ("embedding", ("embed", "embedding")),
    ("attention W_q (W_k, W_v alike)", ("blocks", 0, "attn", "query", "kernel")),
    ("attention W_o", ("blocks", 0, "attn", "out", "kernel")),
    ("MLP in", ("blocks", 0, "ffn", "up", "kernel")),
    ("MLP out", ("blocks", 0, "ffn", "down", "kernel")),
    ("norm scale", ("blocks", 0, "attn_norm", "scale")),
    ("Adam moment of MLP in", ("opt_state", 1, 0, "mu", "blocks", 0, "ffn", "up", "kernel")),
)

# The activations the model names with `gopherlite.sharding.constrain`: (label, logical names).
ACTIVATIONS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("residual stream x", ("batch", "length", "embed")),
    ("queries q (k, v alike)", ("batch", "length", "heads", "kv")),
    ("MLP hidden h", ("batch", "length", "mlp")),
    ("logits", ("batch", "length", "vocab")),
)

PART_COLORS = {"params": PALETTE[0], "optimizer": PALETTE[1], "gradients": PALETTE[2],
                 "activations": PALETTE[3]}  # fmt: skip


def _spec_axes(entry: object) -> tuple[str, ...]:
    """The mesh axes of one `PartitionSpec` entry (None, a name, or a tuple of names)."""
    if entry is None:
        return ()
    return (entry,) if isinstance(entry, str) else tuple(entry)


def device_blocks(
    spec: PartitionSpec, shape: Sequence[int], mesh_shape: Mapping[str, int]
) -> np.ndarray:
    """The block of an array that each device of a mesh holds under a partition spec.

    A dimension split over mesh axes ``(a, b)`` is cut into ``|a|·|b|`` equal blocks, the first
    axis major (JAX's convention); the device at mesh coordinates ``c`` holds block
    ``c[a]·|b| + c[b]`` of it. Dimensions the spec leaves out are held whole.

    Args:
      spec: The partition spec (entries: None, an axis name, or a tuple of names).
      shape: The array's shape.
      mesh_shape: Degree of each mesh axis, in mesh order (``data``, ``fsdp``, ``tensor``).

    Returns:
      An object array of the mesh's shape whose entries are `Block` tuples,
      ``((start, stop), ...)`` with one pair per array dimension.
    """
    axes = list(mesh_shape)
    sizes = [int(mesh_shape[a]) for a in axes]
    entries = list(spec) + [None] * (len(shape) - len(spec))
    out = np.empty(sizes, dtype=object)
    for coords in itertools.product(*(range(s) for s in sizes)):
        at = dict(zip(axes, coords, strict=True))
        block = []
        for size, entry in zip(shape, entries, strict=True):
            index, ways = 0, 1
            for axis in _spec_axes(entry):
                index = index * mesh_shape[axis] + at[axis]
                ways *= mesh_shape[axis]
            step = size // ways
            block.append((index * step, (index + 1) * step))
        out[coords] = tuple(block)
    return out


def shard_ids(blocks: np.ndarray) -> np.ndarray:
    """Number the distinct blocks 0, 1, … in device order; equal blocks share a number.

    Args:
      blocks: From :func:`device_blocks`.

    Returns:
      An int array of the mesh's shape.
    """
    seen: dict[Block, int] = {}
    ids = np.zeros(blocks.shape, dtype=np.int64)
    for coords in itertools.product(*(range(s) for s in blocks.shape)):
        ids[coords] = seen.setdefault(blocks[coords], len(seen))
    return ids


@dataclasses.dataclass(frozen=True)
class ArrayLayout:
    """One array of the model and how a layout places it.

    Attributes:
      label: Short name, e.g. ``"MLP in"``.
      kind: ``"parameter"``, ``"optimizer"`` or ``"activation"``.
      shape: The array's global shape.
      names: Its logical axis names (``embed``, ``heads``, ...).
      spec: The partition spec the package computes for it.
      blocks: What each device holds (:func:`device_blocks`).
    """

    label: str
    kind: str
    shape: tuple[int, ...]
    names: tuple[str | None, ...]
    spec: PartitionSpec
    blocks: np.ndarray

    @property
    def ids(self) -> np.ndarray:
        """Shard number per device (:func:`shard_ids`)."""
        return shard_ids(self.blocks)

    @property
    def num_shards(self) -> int:
        """Distinct blocks across the mesh."""
        return int(self.ids.max()) + 1

    @property
    def shard_shape(self) -> tuple[int, ...]:
        """The shape of one device's block."""
        return tuple(stop - start for start, stop in self.blocks.flat[0])


def array_layouts(
    degrees: Mapping[str, int],
    layout: str,
    config: ModelConfig = GRID_MODEL,
    *,
    batch: int = GRID_BATCH,
    seq_len: int = GRID_SEQ_LEN,
) -> list[ArrayLayout]:
    """The drawn parameters (`PARAMETERS`) and activations (`ACTIVATIONS`) under a layout.

    Parameter specs come from `gopherlite.sharding.state_shardings` applied to the abstract
    train state (as the trainer does), activation specs from ``Layout.activation_rules`` through
    `gopherlite.sharding.logical_spec` (as `gopherlite.sharding.constrain` does).

    Args:
      degrees: Complete mesh degrees (no -1).
      layout: A `gopherlite.sharding.LAYOUTS` name.
      config: The model.
      batch: Global batch of the drawn activations.
      seq_len: Their sequence length.

    Returns:
      Parameters first, then activations.

    Raises:
      ValueError: the package's own message when a dimension does not divide its mesh axes.
    """
    from gopherlite.sharding import state_shardings

    mesh = abstract_mesh(degrees)
    rules = get_layout(layout)
    state = abstract_train_state(config)
    placed = dict(nnx.to_flat_state(state_shardings(state, mesh, rules)))
    variables = dict(nnx.to_flat_state(state))
    mesh_shape = {axis: int(mesh.shape[axis]) for axis in AXES}
    out = []
    for label, path in PARAMETERS:
        part = 1 if path[0] == "opt_state" else 0
        variable = variables[(part, *path)]
        spec = placed[(part, *path)].get_value().spec
        names = tuple(variable.get_metadata().get("out_sharding") or (None,) * variable.ndim)
        kind = "optimizer" if part else "parameter"
        blocks = device_blocks(spec, variable.shape, mesh_shape)
        out.append(ArrayLayout(label, kind, tuple(variable.shape), names, spec, blocks))
    sizes = {"batch": batch, "length": seq_len, "embed": config.d_model, "heads": config.n_heads,
             "kv": config.d_head, "mlp": config.d_ff, "vocab": config.vocab_size}  # fmt: skip
    activation_rules = rules.activation_rules()
    for label, names in ACTIVATIONS:
        shape = tuple(sizes[n] for n in names if n is not None)
        spec = logical_spec(names, activation_rules, mesh)
        blocks = device_blocks(spec, shape, mesh_shape)
        out.append(ArrayLayout(label, "activation", shape, names, spec, blocks))
    return out


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
    return style(fig, height=290 * rows + 60, title=title, margin={"t": 110, "l": 40, "r": 10})


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


# --- the layouts compared ------------------------------------------------------------------


def natural_meshes(num_devices: int, tensor: int = 2) -> dict[str, dict[str, int]]:
    """Each layout on the mesh it is meant for, with ``num_devices`` devices.

    Args:
      num_devices: Devices.
      tensor: Tensor degree of the ``2d`` layout.

    Returns:
      Layout name → degrees: ``dp`` and ``zero`` over ``data``, ``fsdp`` over ``fsdp``,
      ``tensor`` over ``tensor``, ``2d`` over ``fsdp`` × ``tensor``.
    """
    return {
        "dp": {"data": num_devices, "fsdp": 1, "tensor": 1},
        "zero": {"data": num_devices, "fsdp": 1, "tensor": 1},
        "fsdp": {"data": 1, "fsdp": num_devices, "tensor": 1},
        "tensor": {"data": 1, "fsdp": 1, "tensor": num_devices},
        "2d": {"data": 1, "fsdp": num_devices // tensor, "tensor": tensor},
    }


def layout_memory(
    config: ModelConfig,
    meshes: Mapping[str, Mapping[str, int]],
    *,
    chip: str = "v3",
    precision: str = "bf16_sr",
    per_device_batch: int = 1,
    seq_len: int | None = None,
    remat: bool = False,
) -> dict[str, MemoryEstimate]:
    """`gopherlite.costs.memory_per_device` for each layout on its mesh.

    Args:
      config: The model.
      meshes: Layout name → complete degrees (e.g. :func:`natural_meshes`).
      chip: Chip name.
      precision: Precision policy.
      per_device_batch: Sequences per data-parallel device.
      seq_len: Sequence length (None: the model's).
      remat: Rematerialise blocks.

    Returns:
      Layout name → estimate.
    """
    return {
        layout: memory_per_device(
            config, chip=chip, mesh=dict(mesh), layout=layout, precision=precision,
            per_device_batch=per_device_batch, seq_len=seq_len, remat=remat,
        )
        for layout, mesh in meshes.items()
    }  # fmt: skip


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


# --- will it fit ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def cached_smallest_fit(
    preset: str, chip: str, precision: str, remat: bool, per_device_batch: int = 1
) -> MemoryEstimate | None:
    """`gopherlite.costs.smallest_fit` for a preset, cached (the widget asks repeatedly).

    Args:
      preset: A `gopherlite.PRESETS` name.
      chip: Chip name.
      precision: Precision policy.
      remat: Rematerialise blocks.
      per_device_batch: Sequences per device.

    Returns:
      The smallest fitting estimate, or None.
    """
    return smallest_fit(
        PRESETS[preset], chip=chip, precision=precision, remat=remat,
        per_device_batch=per_device_batch,
    )  # fmt: skip


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
