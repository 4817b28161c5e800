"""What a sharded model puts on each device, computed for chapter 07's drawings.

Everything here comes from the shardings the package really uses: parameters get their
`jax.sharding.PartitionSpec` from `gopherlite.sharding.state_shardings` on an abstract train
state (nothing allocated), activations from the layout's activation rules through
`gopherlite.sharding.logical_spec`, memory from `gopherlite.costs`. The meshes are
`jax.sharding.AbstractMesh` objects, so any device count works whatever this machine has; the
tests check the blocks against ``NamedSharding.devices_indices_map`` on 8 simulated devices.

* :func:`device_blocks`, :func:`shard_ids`: which block of an array each device of a mesh holds.
* :func:`array_layouts`: the main parameters and activations of a model under a layout.
* :func:`natural_meshes`, :func:`layout_memory`: the five layouts on their own meshes and
  memory per device of each (`gopherlite.costs.memory_per_device`).
* :func:`cached_smallest_fit`: the smallest mesh that fits a preset on a chip, cached.

`gopherlite.workbook.viz.sharding` draws these; nothing here imports a notebook package.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from flax import nnx
from jax.sharding import PartitionSpec

from gopherlite.config import PRESETS, ModelConfig
from gopherlite.costs import MemoryEstimate, abstract_train_state, memory_per_device, smallest_fit
from gopherlite.sharding import (
    ACTIVATION_RULES,
    AXES,
    abstract_mesh,
    get_layout,
    is_optimizer_state,
    logical_spec,
    state_shardings,
)

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
    train state (as the trainer does), activation specs from
    `gopherlite.sharding.ACTIVATION_RULES` through `gopherlite.sharding.logical_spec` (as
    `gopherlite.sharding.constrain` does).

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
    mesh = abstract_mesh(degrees)
    rules = get_layout(layout)
    state = abstract_train_state(config)
    # Model and optimizer paths never collide ("blocks", ... vs "opt_state", ...), so the
    # variables are found by name alone, without the index of their half of the state.
    placed = {path[1:]: v for path, v in nnx.to_flat_state(state_shardings(state, mesh, rules))}
    variables = {path[1:]: v for path, v in nnx.to_flat_state(state)}
    mesh_shape = {axis: int(mesh.shape[axis]) for axis in AXES}
    out = []
    for label, path in PARAMETERS:
        variable = variables[path]
        spec = placed[path].get_value().spec
        names = tuple(variable.get_metadata().get("out_sharding") or (None,) * variable.ndim)
        kind = "optimizer" if is_optimizer_state(variable) else "parameter"
        blocks = device_blocks(spec, variable.shape, mesh_shape)
        out.append(ArrayLayout(label, kind, tuple(variable.shape), names, spec, blocks))
    sizes = {"batch": batch, "length": seq_len, "embed": config.d_model, "heads": config.n_heads,
             "kv": config.d_head, "mlp": config.d_ff, "vocab": config.vocab_size}  # fmt: skip
    for label, names in ACTIVATIONS:
        shape = tuple(sizes[n] for n in names if n is not None)
        spec = logical_spec(names, ACTIVATION_RULES, mesh)
        blocks = device_blocks(spec, shape, mesh_shape)
        out.append(ArrayLayout(label, "activation", shape, names, spec, blocks))
    return out


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
