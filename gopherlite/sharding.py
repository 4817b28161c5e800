"""Meshes, layouts and placement: one training code path from one chip to a multi-host pod.

A mesh has three named axes (``data``, ``fsdp``, ``tensor``) built from per-axis degrees, one
of which may be ``-1`` (filled from the device count). Every parameter carries logical axis
names (``embed``, ``heads``, ``kv``, ``mlp``, ``vocab``, ``length``); a `Layout` maps them to
mesh axes, separately for parameters and optimizer state, so the classic layouts are a few
lines each:

- ``dp``: data parallel; everything replicated, gradients all-reduced.
- ``zero``: Gopher's choice (Sec. 3.3, ZeRO of Rajbhandari et al. 2020): parameters replicated,
  optimizer state sharded over the data axes; gradients reduce-scattered, updates gathered.
- ``fsdp``: parameters and optimizer state sharded on ``embed`` over ``fsdp``; weights
  all-gathered per layer in the forward and backward passes.
- ``tensor``: Megatron (Shoeybi et al. 2019): heads, MLP hidden units and vocabulary split
  over ``tensor``; activations all-reduced after each block's output projections.
- ``2d``: ``fsdp`` and ``tensor`` together.

Activations follow the mesh, not the layout: the batch is split over ``data`` and ``fsdp`` and
heads, MLP units and vocabulary over ``tensor`` (`ACTIVATION_RULES`), read by `constrain` from
the mesh in JAX's own context (``jax.set_mesh``), which is part of every jit cache key, so a
trace made on one mesh is never reused on another. Placement uses `jax.sharding` and XLA's
SPMD partitioner; several hosts join through JAX's multi-controller runtime
(`jax.distributed`), each process loading only its rows of the global batch.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from flax import nnx
from jax.experimental import mesh_utils
from jax.sharding import AbstractMesh, AxisType, Mesh, NamedSharding, PartitionSpec

AXES = ("data", "fsdp", "tensor")
BATCH_AXES = ("data", "fsdp")

MeshAxes = str | tuple[str, ...] | None

log = logging.getLogger(__name__)


def parse_mesh(text: str) -> dict[str, int]:
    """Parse ``"data=2,fsdp=2,tensor=2"`` (missing axes default to 1, ``-1`` allowed once).

    Args:
      text: Comma-separated ``axis=degree`` pairs.

    Returns:
      Degrees for ``data``, ``fsdp`` and ``tensor``.
    """
    degrees = dict.fromkeys(AXES, 1)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or name.strip() not in AXES:
            raise ValueError(
                f"Cannot read mesh {text!r}: expected axis=degree pairs with axes {AXES}, "
                "e.g. 'data=2,fsdp=2,tensor=2'."
            )
        try:
            degrees[name.strip()] = int(value)
        except ValueError:
            raise ValueError(
                f"Mesh degree for {name.strip()!r} must be an integer, got {value!r}."
            ) from None
    return degrees


def mesh_degrees(degrees: Mapping[str, int], num_devices: int) -> dict[str, int]:
    """Check per-axis degrees against a device count and fill in a single ``-1``.

    Args:
      degrees: Degree per axis name (missing axes are 1).
      num_devices: Devices the mesh must cover exactly.

    Returns:
      The complete degrees, whose product is ``num_devices``.
    """
    unknown = set(degrees) - set(AXES)
    if unknown:
        raise ValueError(f"Unknown mesh axes {sorted(unknown)}; the axes are {AXES}.")
    full = {axis: int(degrees.get(axis, 1)) for axis in AXES}
    free = [axis for axis, d in full.items() if d == -1]
    bad = [f"{axis}={d}" for axis, d in full.items() if d == 0 or d < -1]
    if bad or len(free) > 1:
        raise ValueError(
            f"Mesh degrees must be positive, with at most one -1 to fill in; got {full}."
        )
    known = math.prod(d for d in full.values() if d != -1)
    if free:
        if num_devices % known:
            raise ValueError(
                f"The fixed mesh degrees multiply to {known}, which does not divide the "
                f"{num_devices} devices; choose degrees whose product divides {num_devices}."
            )
        full[free[0]] = num_devices // known
    elif known != num_devices:
        shape = " × ".join(f"{a}={d}" for a, d in full.items())
        raise ValueError(
            f"Mesh {shape} needs {known} devices but {num_devices} are available; choose "
            f"degrees whose product is {num_devices} (or use -1 for one axis)."
        )
    return full


def make_mesh(
    data: int = -1,
    fsdp: int = 1,
    tensor: int = 1,
    *,
    dcn: Mapping[str, int] | None = None,
    devices: Sequence[jax.Device] | None = None,
) -> Mesh:
    """Build a ``(data, fsdp, tensor)`` mesh from per-axis degrees.

    ``data``/``fsdp``/``tensor`` are the degrees *within* a slice (ICI, the fast chip-to-chip
    links); ``dcn`` gives degrees *across* slices (the data-centre network) for multi-slice
    pods, where each axis's total size is its ICI degree times its DCN degree. Keep the
    communication-heavy axes (``tensor``, ``fsdp``) inside a slice, as Gopher kept model
    parallelism inside a pod (Sec. 3.3).

    Args:
      data: Data-parallel degree within a slice (-1: fill from the device count).
      fsdp: Fully-sharded-data-parallel degree within a slice.
      tensor: Tensor (Megatron) parallel degree within a slice.
      dcn: Degrees across slices, e.g. ``{"data": 2}``; None for a single slice.
      devices: Devices to use (default: all).

    Returns:
      A `Mesh` with axes ``("data", "fsdp", "tensor")`` of auto axis type.
    """
    devices = list(devices if devices is not None else jax.devices())
    dcn_degrees = {axis: int((dcn or {}).get(axis, 1)) for axis in AXES}
    num_slices = math.prod(dcn_degrees.values())
    if len(devices) % num_slices:
        raise ValueError(
            f"DCN degrees {dcn_degrees} ask for {num_slices} slices, which does not divide the "
            f"{len(devices)} devices."
        )
    ici = mesh_degrees({"data": data, "fsdp": fsdp, "tensor": tensor}, len(devices) // num_slices)
    ici_shape = tuple(ici[a] for a in AXES)
    if num_slices > 1:
        dcn_shape = tuple(dcn_degrees[a] for a in AXES)
        device_array = mesh_utils.create_hybrid_device_mesh(ici_shape, dcn_shape, devices)
    else:
        device_array = mesh_utils.create_device_mesh(ici_shape, devices)
    return Mesh(device_array, AXES, axis_types=(AxisType.Auto,) * len(AXES))


def mesh_or_first_device(mesh: Mesh | None) -> Mesh:
    """The mesh given, or a one-device mesh of the first device (the default everywhere).

    Args:
      mesh: A mesh, or None.

    Returns:
      ``mesh``, or a ``(1, 1, 1)`` mesh of ``jax.devices()[0]``.
    """
    return mesh if mesh is not None else make_mesh(devices=jax.devices()[:1])


def abstract_mesh(degrees: Mapping[str, int]) -> AbstractMesh:
    """A ``(data, fsdp, tensor)`` mesh of the given degrees without devices.

    Shardings on it give every shard's shape and place for meshes this machine does not have
    (a TPU pod, say), which is how `gopherlite.costs` and the chapter 07 grids use it.

    Args:
      degrees: Degree per axis (missing axes are 1).

    Returns:
      The abstract mesh, with the auto axis types `make_mesh` uses.
    """
    shape = tuple(int(degrees.get(axis, 1)) for axis in AXES)
    return AbstractMesh(shape, AXES, axis_types=(AxisType.Auto,) * len(AXES))


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where parameters and optimizer state live on the mesh (activations: `ACTIVATION_RULES`).

    Attributes:
      name: Short name (``dp``, ``zero``, ``fsdp``, ``tensor``, ``gopher``, ``2d``).
      description: One line for learners.
      params: Logical axis name → mesh axes for model parameters (missing: replicated).
      optimizer: The same for optimizer state (Adam moments, master copies).
      collectives: The collectives a train step needs under this layout.
    """

    name: str
    description: str
    params: Mapping[str, MeshAxes]
    optimizer: Mapping[str, MeshAxes]
    collectives: str


ACTIVATION_RULES: dict[str, MeshAxes] = {
    "batch": BATCH_AXES,
    "heads": "tensor",
    "mlp": "tensor",
    "vocab": "tensor",
}
"""Logical → mesh axes for activations under every layout (axes of size 1 drop out)."""

_TENSOR = {"heads": "tensor", "mlp": "tensor", "vocab": "tensor"}

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("dp", "data parallel: every device holds everything", {}, {}, "all-reduce grads"),
        Layout(
            "zero",
            "ZeRO (Gopher): replicated parameters, optimizer state sharded over data axes",
            {},
            {"embed": BATCH_AXES},
            "reduce-scatter grads, all-gather updated params",
        ),
        Layout(
            "fsdp",
            "fully sharded: parameters and optimizer state split on embed over fsdp",
            {"embed": "fsdp"},
            {"embed": "fsdp"},
            "all-gather weights per layer, reduce-scatter grads",
        ),
        Layout(
            "tensor",
            "Megatron tensor parallel: heads, MLP and vocabulary split over tensor",
            _TENSOR,
            _TENSOR,
            "all-reduce activations after attention and MLP outputs",
        ),
        Layout(
            "gopher",
            "Gopher's split (G Sec. 3.3): Megatron intra-layer model parallelism over tensor, "
            "ZeRO-partitioned optimizer state over the data axes",
            _TENSOR,
            {"embed": BATCH_AXES, **_TENSOR},
            "tensor's activation all-reduces; reduce-scatter grads, all-gather params over data",
        ),
        Layout(
            "2d",
            "fsdp and tensor together",
            {"embed": "fsdp", **_TENSOR},
            {"embed": "fsdp", **_TENSOR},
            "fsdp's gathers plus tensor's activation all-reduces",
        ),
    )
}


def get_layout(name: str) -> Layout:
    """Look up a layout by name with a helpful error.

    Args:
      name: One of `LAYOUTS`.

    Returns:
      The layout.
    """
    if name not in LAYOUTS:
        raise ValueError(f"Unknown layout {name!r}; choose one of: {', '.join(LAYOUTS)}.")
    return LAYOUTS[name]


def _axis_size(mesh: Mesh | AbstractMesh, axes: MeshAxes) -> int:
    if axes is None:
        return 1
    names = (axes,) if isinstance(axes, str) else axes
    return math.prod(mesh.shape[a] for a in names)


def logical_spec(
    names: Sequence[str | None], rules: Mapping[str, MeshAxes], mesh: Mesh | AbstractMesh
) -> PartitionSpec:
    """Map logical axis names to a `PartitionSpec`, dropping axes of size 1.

    A mesh axis already used by an earlier dimension is not used again.

    Args:
      names: One logical name (or None) per array dimension.
      rules: Logical name → mesh axes.
      mesh: The mesh (for axis sizes).

    Returns:
      The partition spec.
    """
    used: set[str] = set()
    spec: list[MeshAxes] = []
    for name in names:
        axes = rules.get(name) if name is not None else None
        parts = () if axes is None else ((axes,) if isinstance(axes, str) else tuple(axes))
        parts = tuple(a for a in parts if mesh.shape[a] > 1 and a not in used)
        used.update(parts)
        spec.append(None if not parts else parts[0] if len(parts) == 1 else parts)
    return PartitionSpec(*spec)


def _check_divisible(
    where: str,
    shape: Sequence[int],
    names: Sequence[str | None],
    spec: PartitionSpec,
    mesh: Mesh | AbstractMesh,
) -> None:
    for dim, (size, axes) in enumerate(zip(shape, spec, strict=False)):
        ways = _axis_size(mesh, axes)
        if size % ways:
            raise ValueError(
                f"{where}: dimension {dim} ({names[dim]!r}, size {size}) is not divisible by "
                f"mesh axis {axes!r} of size {ways}; choose a mesh degree that divides {size} or "
                "another layout."
            )


def is_optimizer_state(variable: nnx.Variable) -> bool:
    """Whether a train-state variable belongs to the optimizer (moments, master copies, step).

    Told apart by the variable's kind (`nnx.OptState` and its subclasses), not by where it sits
    in the state.

    Args:
      variable: A variable of the ``(model, optimizer)`` train state.

    Returns:
      True for optimizer state, False for model parameters.
    """
    return isinstance(variable, nnx.OptState)


def state_shardings(state: nnx.State, mesh: Mesh | AbstractMesh, layout: Layout) -> nnx.State:
    """`NamedSharding` for every leaf of a ``(model, optimizer)`` train state.

    Model parameters follow ``layout.params``, optimizer variables (`is_optimizer_state`)
    ``layout.optimizer``; both read each variable's logical names from its metadata.

    Args:
      state: The train state, concrete or abstract (from `nnx.eval_shape`).
      mesh: Target mesh.
      layout: Layout to apply.

    Returns:
      A state of the same structure holding `NamedSharding` values.

    Raises:
      ValueError: a sharded dimension does not divide its mesh axes (the message names both).
    """

    def place(path: tuple[Any, ...], variable: nnx.Variable) -> nnx.Variable:
        names = variable.get_metadata().get("out_sharding") or (None,) * len(variable.shape)
        rules = layout.optimizer if is_optimizer_state(variable) else layout.params
        spec = logical_spec(names, rules, mesh)
        where = "/".join(str(p) for p in path)
        _check_divisible(where, variable.shape, names, spec, mesh)
        return variable.replace(NamedSharding(mesh, spec))

    flat = nnx.to_flat_state(state)
    return nnx.from_flat_state([(path, place(path, var)) for path, var in flat])


def constrain(x: jax.Array, *names: str | None) -> jax.Array:
    """Name an activation's axes (``"batch"``, ``"length"``, ``"heads"``, ...) for sharding.

    The mesh comes from JAX's context (``with jax.set_mesh(mesh):`` around the step's tracing);
    with no such mesh, or one without gopherlite's axes, `x` is returned unchanged, so the model
    runs as it is on one device.

    Args:
      x: The activation.
      *names: One logical name (or None) per dimension, looked up in `ACTIVATION_RULES`.

    Returns:
      ``x``, with a sharding constraint on the context mesh when there is one.
    """
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or tuple(mesh.axis_names) != AXES:
        return x
    return jax.lax.with_sharding_constraint(x, logical_spec(names, ACTIVATION_RULES, mesh))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Batch rows split over the data axes, sequence positions whole.

    Args:
      mesh: The mesh.

    Returns:
      Sharding for ``[B, L]`` arrays.
    """
    return NamedSharding(mesh, logical_spec(("batch", None), {"batch": BATCH_AXES}, mesh))


def local_batch_rows(sharding: NamedSharding, global_batch: int) -> tuple[int, int]:
    """The contiguous rows of the global batch that this process's devices hold.

    Args:
      sharding: The batch sharding.
      global_batch: Global batch size.

    Returns:
      ``(start, stop)``: this process loads only these rows.
    """
    if global_batch % _axis_size(sharding.mesh, BATCH_AXES):
        raise ValueError(
            f"Batch size {global_batch} is not divisible by the mesh's data axes "
            f"(data × fsdp = {_axis_size(sharding.mesh, BATCH_AXES)}); choose a multiple."
        )
    index_map = sharding.addressable_devices_indices_map((global_batch, 1))
    rows = sorted({(idx[0].start or 0, idx[0].stop or global_batch) for idx in index_map.values()})
    start, stop = rows[0][0], rows[-1][1]
    covered = sum(b - a for a, b in rows)
    if covered != stop - start:
        raise ValueError("This process's devices do not hold one contiguous block of the batch.")
    return start, stop


def put_batch(sharding: NamedSharding, local_rows: Any, global_batch: int) -> jax.Array:
    """Assemble a global batch array from this process's rows (no cross-host copy).

    Args:
      sharding: The batch sharding.
      local_rows: This process's rows (numpy), as given by `local_batch_rows`.
      global_batch: Global batch size.

    Returns:
      The global `jax.Array`, sharded as ``sharding``.
    """
    local = np.asarray(local_rows)
    return jax.make_array_from_process_local_data(sharding, local, (global_batch, *local.shape[1:]))


# JAX declares a silent process dead after 100 s by default; a pod then waits that long before
# it fails. The trainer's own watch (`gopherlite.train.peers`) acts after 10 s while it trains;
# these bound the wait everywhere else (start-up, shutdown).
HEARTBEAT_TIMEOUT_S = 30
SHUTDOWN_TIMEOUT_S = 30


def initialize_distributed(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> None:
    """Join JAX's multi-controller runtime, then log the topology.

    With all three arguments None this does nothing on a single host; on TPU pods and SLURM,
    call ``jax.distributed.initialize()`` yourself (or pass ``auto`` as the coordinator) and
    JAX detects the cluster. Must run before anything touches JAX's devices.

    Args:
      coordinator_address: ``host:port`` of process 0's coordinator, or ``"auto"``.
      num_processes: Total processes.
      process_id: This process's index.
    """
    given = [a is not None for a in (coordinator_address, num_processes, process_id)]
    timeouts = {
        "heartbeat_timeout_seconds": HEARTBEAT_TIMEOUT_S,
        "shutdown_timeout_seconds": SHUTDOWN_TIMEOUT_S,
    }
    if coordinator_address == "auto":
        jax.distributed.initialize(**timeouts)
    elif all(given):
        jax.distributed.initialize(coordinator_address, num_processes, process_id, **timeouts)
    elif any(given):
        raise ValueError(
            "Multi-host training needs --coordinator-address, --num-processes and --process-id "
            "together (or --coordinator-address auto on TPU pods and SLURM)."
        )
    else:
        return
    log.warning(
        "process %d of %d: %d local of %d global devices (%s)",
        jax.process_index(),
        jax.process_count(),
        jax.local_device_count(),
        jax.device_count(),
        jax.devices()[0].platform,
    )
