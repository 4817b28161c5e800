"""What training costs: bytes of training state per parameter under each precision policy.

Gopher (G Sec. 3.2, App. C) trains with Adam, whose two moments are kept in float32 in every
precision setting; what changes between settings is the parameters' dtype (and so the
gradients'), and whether a float32 master copy of the parameters joins the optimizer state.
Gopher shards the optimizer state (moments and master copy) over data-parallel devices
(ZeRO, Rajbhandari et al. 2020), which is why its bfloat16-plus-master-copy setting used less
memory per device than float32 everywhere even though, unsharded, the two need the same.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax.numpy as jnp
from flax import nnx

from gopherlite.config import ModelConfig
from gopherlite.hardware import CHIPS
from gopherlite.precision import Policy, get_policy
from gopherlite.sharding import (
    AXES,
    abstract_mesh,
    get_layout,
    is_optimizer_state,
    state_shardings,
)
from gopherlite.train.config import TrainConfig
from gopherlite.train.loss import chunk_size

_FLOAT32_BYTES = jnp.dtype(jnp.float32).itemsize
_ADAM_MOMENTS = 2  # first and second moment


def bytes_per_parameter(policy: Policy | str) -> dict[str, int]:
    """Bytes of training state per model parameter, unsharded, for a precision policy.

    Counted per parameter (activations, which scale with batch and sequence length, are not):

    - ``params``: the model's parameters in the policy's ``param_dtype`` (4 or 2);
    - ``master_copy``: the float32 master copy kept in the optimizer state (4 under
      ``bf16_master``, else 0);
    - ``adam_moments``: Adam's first and second moments, float32 in every policy (8);
    - ``gradients``: one gradient per parameter, in the parameters' dtype (4 or 2);
    - ``total``: the sum.

    This matches the arrays `gopherlite.train.Trainer` keeps (tests check it against the train
    state's shapes and dtypes); the optimizer's step counters are not counted.

    Args:
      policy: A `gopherlite.precision.Policy` or its name.

    Returns:
      The bytes of each part and their ``total``, e.g. for ``"bf16_sr"``:
      ``{"params": 2, "master_copy": 0, "adam_moments": 8, "gradients": 2, "total": 12}``.
    """
    policy = get_policy(policy) if isinstance(policy, str) else policy
    param_bytes = jnp.dtype(policy.param_dtype).itemsize
    parts = {
        "params": param_bytes,
        "master_copy": _FLOAT32_BYTES if policy.master_copy else 0,
        "adam_moments": _ADAM_MOMENTS * _FLOAT32_BYTES,
        "gradients": param_bytes,
    }
    return parts | {"total": sum(parts.values())}


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per device of one training step's largest residents, and whether they fit.

    Attributes:
      params: Parameters on one device (after the layout's sharding).
      optimizer: Optimizer state on one device (Adam moments, master copy).
      gradients: Gradients on one device (laid out like the parameters, in their dtype).
      activations: Activations kept for the backward pass, plus the logits.
      total: The sum.
      device_memory: Memory of one device of the chip.
      fits: ``total <= device_memory``.
      mesh: Mesh degrees.
      layout: Layout name.
      precision: Precision policy name.
      chip: Chip name.
      per_device_batch: Sequences per data-parallel device.
      seq_len: Sequence length.
      remat: Whether blocks are rematerialised.
    """

    params: int
    optimizer: int
    gradients: int
    activations: int
    total: int
    device_memory: int
    fits: bool
    mesh: dict[str, int]
    layout: str
    precision: str
    chip: str
    per_device_batch: int
    seq_len: int
    remat: bool

    def to_dict(self) -> dict[str, object]:
        """The estimate as JSON-serialisable values."""
        return dataclasses.asdict(self)


def zero_bytes_per_device(
    policy: str, n_params: float, data_parallel: int, model_parallel: int = 1
) -> dict[str, float]:
    """Bytes per device when the optimizer state is sharded over data-parallel devices (ZeRO).

    Parameters and gradients are split over the ``model_parallel`` devices of one model
    replica (Megatron-style tensor parallelism) and replicated across the ``data_parallel``
    replicas; the optimizer state (Adam's moments, and the master copy when there is one) is
    split over all ``model_parallel · data_parallel`` devices (Rajbhandari et al. 2020, ZeRO
    stage 1; Gopher G Sec. 3.3 used both). Activations are not counted.

    Args:
      policy: Policy name.
      n_params: Model parameters.
      data_parallel: Data-parallel replicas sharing the optimizer state.
      model_parallel: Devices one replica's parameters are split over.

    Returns:
      Bytes per device of ``replicated`` (parameters and gradients), ``sharded`` (optimizer
      state) and ``total``.
    """
    per = bytes_per_parameter(policy)
    replicated = n_params * (per["params"] + per["gradients"]) / model_parallel
    optimizer = per["adam_moments"] + per["master_copy"]
    sharded = n_params * optimizer / (data_parallel * model_parallel)
    return {"replicated": replicated, "sharded": sharded, "total": replicated + sharded}


@functools.lru_cache(maxsize=8)
def abstract_train_state(model_config: ModelConfig, precision: str = "fp32") -> nnx.State:
    """Shapes, dtypes and logical axis names of a ``(model, optimizer)`` train state.

    Built with `nnx.eval_shape` (nothing allocated) and cached per (model, policy).

    Args:
      model_config: The model.
      precision: Precision policy name (sets dtypes and whether a master copy exists).

    Returns:
      The abstract train state, as `gopherlite.train.Trainer` would hold it.
    """
    from gopherlite.train import TrainConfig, build_model_and_optimizer

    train_config = TrainConfig(precision=precision)  # the builder applies the policy's dtypes
    _, state = nnx.split(
        nnx.eval_shape(lambda: build_model_and_optimizer(model_config, train_config))
    )
    return state


def state_bytes_per_device(
    model_config: ModelConfig, precision: str, mesh: dict[str, int], layout: str
) -> tuple[int, int]:
    """Exact bytes of parameters and of optimizer state on one device.

    Builds the train state's shapes with `nnx.eval_shape` (nothing allocated) and applies the
    same `gopherlite.sharding.state_shardings` the trainer uses, on an abstract mesh, so the
    numbers hold for meshes this machine does not have.

    Args:
      model_config: The model.
      precision: Precision policy name.
      mesh: Degrees of ``data``, ``fsdp``, ``tensor``.
      layout: Layout name.

    Returns:
      ``(param_bytes, optimizer_bytes)`` per device.
    """
    state = abstract_train_state(model_config, precision)
    shardings = state_shardings(state, abstract_mesh(mesh), get_layout(layout))
    totals = [0, 0]
    for (_, var), (_, placed) in zip(
        nnx.to_flat_state(state), nnx.to_flat_state(shardings), strict=True
    ):
        shard = placed.get_value().shard_shape(var.shape)
        totals[is_optimizer_state(var)] += math.prod(shard) * jnp.dtype(var.dtype).itemsize
    return totals[0], totals[1]


def activation_bytes_per_device(
    config: ModelConfig,
    per_device_batch: int,
    seq_len: int,
    tensor: int,
    remat: bool,
    loss_chunk: int | None = TrainConfig.loss_chunk,
) -> int:
    """Activations kept for the backward pass on one device (an analytic estimate).

    Per block and sequence, in the activation dtype (``a`` bytes): the two norms' inputs and
    outputs and the residual (5·L·d values), q, k, v and the attention output (4·L·H·K, split
    over ``tensor``), the MLP's two hidden tensors (2·L·d_ff, split); and the float32 score
    matrices — content and position terms for relative attention, content only for absolute —
    plus the probabilities (H·L² each, split over ``tensor``). With rematerialisation only each
    block's input (L·d) is kept, plus one block recomputed at a time. The training loss
    (`gopherlite.train.loss`) holds the float32 logits and their gradient of one chunk of
    ``c`` positions at a time (2·c·V, split over ``tensor``; ``c = L`` when the loss is not
    chunked; the table gradient is added into a running float32 sum, counted as the table's
    entry in ``gradients``), and keeps the gradient with respect to the final hidden states
    (L·d) for the backward pass. Fusion lets XLA keep less than this; tests compare the total
    with the compiler's own memory analysis.

    Args:
      config: The model (its ``dtype`` sets ``a``).
      per_device_batch: Sequences per device.
      seq_len: Sequence length L.
      tensor: Tensor-parallel degree.
      remat: Rematerialise blocks.
      loss_chunk: Positions per chunk of the loss (`TrainConfig.loss_chunk`; None: one chunk).

    Returns:
      Bytes.
    """
    a = jnp.dtype(config.dtype).itemsize
    b, L, d, t = per_device_batch, seq_len, config.d_model, tensor
    hk, h = config.n_heads * config.d_head, config.n_heads
    score_terms = 2 if config.position == "relative" else 1
    block = b * L * (5 * d * a + (4 * hk + 2 * config.d_ff) * a / t)
    block += b * h * L * L * (score_terms * _FLOAT32_BYTES + a) / t
    kept = config.n_layers * b * L * d * a + block if remat else config.n_layers * block
    c = chunk_size(L, loss_chunk)
    loss = 2 * b * c * config.vocab_size * _FLOAT32_BYTES / t + b * L * d * a
    return int(kept + loss)


def memory_per_device(
    model_config: ModelConfig,
    *,
    chip: str,
    mesh: dict[str, int],
    layout: str = "2d",
    precision: str = "fp32",
    per_device_batch: int = 1,
    seq_len: int | None = None,
    remat: bool = False,
    loss_chunk: int | None = TrainConfig.loss_chunk,
) -> MemoryEstimate:
    """Will one training step fit? Bytes per device for a model × layout × mesh × precision × chip.

    Args:
      model_config: The model (e.g. ``PRESETS["280b"]``).
      chip: A `gopherlite.hardware.CHIPS` name (``v3``, ``v4``, ``v5e``, ``v5p``, ``v6e``,
        ``a100``, ``h100``).
      mesh: Degrees of ``data``, ``fsdp``, ``tensor`` (complete, no -1).
      layout: Layout name (see `gopherlite.sharding.LAYOUTS`).
      precision: Precision policy name.
      per_device_batch: Sequences per data-parallel device (the micro-batch).
      seq_len: Sequence length; None for the model's ``max_seq_len``.
      remat: Rematerialise blocks in the backward pass.
      loss_chunk: Positions per chunk of the training loss (`TrainConfig.loss_chunk`).

    Returns:
      The estimate.
    """
    if chip not in CHIPS:
        raise ValueError(f"Unknown chip {chip!r}; choose one of: {', '.join(CHIPS)}.")
    mesh = {a: int(mesh.get(a, 1)) for a in AXES}
    params, optimizer = state_bytes_per_device(model_config, precision, mesh, layout)
    config = get_policy(precision).apply_to(model_config)
    activations = activation_bytes_per_device(
        config, per_device_batch, seq_len or config.max_seq_len, mesh["tensor"], remat, loss_chunk
    )
    gradients = params
    total = params + optimizer + gradients + activations
    device_memory = CHIPS[chip].hbm_bytes_per_device
    return MemoryEstimate(
        params=params,
        optimizer=optimizer,
        gradients=gradients,
        activations=activations,
        total=total,
        device_memory=device_memory,
        fits=total <= device_memory,
        mesh=mesh,
        layout=layout,
        precision=precision,
        chip=chip,
        per_device_batch=per_device_batch,
        seq_len=seq_len or config.max_seq_len,
        remat=remat,
    )


def smallest_fit(
    model_config: ModelConfig,
    *,
    chip: str,
    precision: str = "bf16_sr",
    per_device_batch: int = 1,
    remat: bool = True,
    max_devices: int = 8192,
) -> MemoryEstimate | None:
    """The fewest devices (powers of two) and a layout on which a training step fits.

    Tries, for 1, 2, 4, … devices: ``zero`` (data parallel, Gopher's), ``fsdp``, and ``2d``
    with tensor degrees 2 … 16, keeping meshes whose sharded dimensions divide evenly.

    Args:
      model_config: The model.
      chip: Chip name.
      precision: Precision policy name.
      per_device_batch: Sequences per data-parallel device.
      remat: Rematerialise blocks.
      max_devices: Largest device count tried.

    Returns:
      The first estimate that fits, or None.
    """
    devices = 1
    while devices <= max_devices:
        candidates = [("zero", {"data": devices}), ("fsdp", {"fsdp": devices})]
        candidates += [
            ("2d", {"fsdp": devices // t, "tensor": t})
            for t in (2, 4, 8, 16)
            if devices % t == 0 and devices > t
        ]
        for layout, mesh in candidates:
            try:
                estimate = memory_per_device(
                    model_config,
                    chip=chip,
                    mesh=mesh,
                    layout=layout,
                    precision=precision,
                    per_device_batch=per_device_batch,
                    remat=remat,
                )
            except ValueError:  # a dimension does not divide this mesh
                continue
            if estimate.fits:
                return estimate
        devices *= 2
    return None


def kv_cache_bytes(
    config: ModelConfig, seq_len: int, *, batch_size: int = 1, bytes_per_value: int = 2
) -> int:
    """Bytes of the keys and values a decoder caches to generate without recomputing them.

    Every layer keeps one key and one value of ``n_heads · d_head`` numbers per position
    (`gopherlite.nn.attention.KVCache`); the relative keys W_kR R depend on weights alone and
    are shared by every sequence, so they are not counted.

    Args:
      config: The model's shape.
      seq_len: Positions cached per sequence (prompt plus generated tokens).
      batch_size: Sequences decoded together.
      bytes_per_value: 2 for bfloat16, 4 for float32.

    Returns:
      ``2 · n_layers · seq_len · n_heads · d_head · bytes_per_value · batch_size``.
    """
    per_position = 2 * config.n_layers * config.n_heads * config.d_head * bytes_per_value
    return per_position * seq_len * batch_size
