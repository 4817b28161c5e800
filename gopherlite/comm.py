"""Collectives: count them in a compiled program, and price them on real links.

Sharding a model adds communication, and XLA's SPMD partitioner decides which collective
operations to insert (GSPMD, Xu et al. 2021). :func:`count_collectives` reads them back from the
optimised HLO text of a compiled program (``jax.jit(f).lower(...).compile().as_text()``), so a
learner can check what the compiler chose for each layout. The count is of *instructions in the
program text*: an instruction inside a loop body counts once however often it runs, and XLA's
combiner passes may merge several small all-reduces into one instruction on a tuple.

The cost functions follow the bandwidth-bound ring model of the JAX scaling book (Austin et al.
2025, Part 3 "Sharded Matrices"): an all-gather or reduce-scatter of ``V`` bytes over ``n``
devices takes ``(n - 1)/n · V / W`` seconds on links of (bidirectional) bandwidth ``W``, and an
all-reduce, which is a reduce-scatter followed by an all-gather, twice that. Latency is ignored,
which is fair for the megabyte-sized activations of a large Transformer.

Megatron tensor parallelism (Shoeybi et al. 2019, Sec. 3 and Fig. 4) needs four all-reduces of
the ``[batch, length, d_model]`` activations per Transformer layer and training step: one after
the attention output projection and one after the MLP's second matrix in the forward pass, and
one for each block's input gradient in the backward pass. Gopher used this kind of model
parallelism inside each TPUv3 pod (Rae et al. 2021, Sec. 3.3).
"""

from __future__ import annotations

import re
from typing import Any

COLLECTIVES = ("all-reduce", "all-gather", "reduce-scatter", "collective-permute", "all-to-all")
"""The HLO collective operations :func:`count_collectives` looks for."""

MEGATRON_ALL_REDUCES_PER_LAYER = 4
"""Activation all-reduces per layer and training step under Megatron tensor parallelism (two in
the forward pass, two in the backward pass; Shoeybi et al. 2019, Fig. 4), without
rematerialisation (recomputing the forward pass repeats its two)."""

# An instruction is ``%name = shape op(operands), ...``. The op is matched where it is called
# (followed by "("), not where an instruction named after it is used as an operand; asynchronous
# pairs (``all-reduce-start`` / ``all-reduce-done``) count once, by their start.
_PATTERNS = {
    kind: re.compile(rf"(?<![\w%.\-]){re.escape(kind)}(?:-start)?\(") for kind in COLLECTIVES
}


def count_collectives(program: str | Any) -> dict[str, int]:
    """Count the collective instructions in a compiled program's HLO.

    Args:
      program: HLO text, or anything with an ``as_text()`` method returning it (a
        `jax.stages.Compiled`, for example ``jax.jit(f).lower(*args).compile()``).

    Returns:
      Instructions of each kind in `COLLECTIVES`, including the kinds that do not occur (0), in
      the order of `COLLECTIVES`.
    """
    text = program if isinstance(program, str) else program.as_text()
    return {kind: len(pattern.findall(text)) for kind, pattern in _PATTERNS.items()}


def activation_all_reduce_bytes(
    d_model: int, seq_len: int, batch: int, *, bytes_per_value: int = 2
) -> int:
    """Bytes of one tensor-parallel activation all-reduce: the ``[batch, length, d_model]`` block.

    Every device of the tensor group holds a partial sum of the whole block (Megatron's
    row-split matrix leaves it unreduced), so this is also the size each device contributes.

    Args:
      d_model: Width of the residual stream.
      seq_len: Tokens per sequence.
      batch: Sequences the tensor group processes at once (its micro-batch).
      bytes_per_value: 2 for bfloat16 activations (Gopher's, G Sec. 3.2), 4 for float32.

    Returns:
      ``batch · seq_len · d_model · bytes_per_value``.
    """
    return batch * seq_len * d_model * bytes_per_value


def tensor_parallel_bytes_per_layer(
    d_model: int,
    seq_len: int,
    batch: int,
    *,
    bytes_per_value: int = 2,
    all_reduces: int = MEGATRON_ALL_REDUCES_PER_LAYER,
) -> int:
    """Activation bytes all-reduced per Transformer layer and training step (Megatron).

    Args:
      d_model: Width of the residual stream.
      seq_len: Tokens per sequence.
      batch: Sequences per tensor group (micro-batch).
      bytes_per_value: Bytes per activation value.
      all_reduces: All-reduces per layer (`MEGATRON_ALL_REDUCES_PER_LAYER`; 6 when the forward
        pass is recomputed in the backward pass).

    Returns:
      ``all_reduces`` times :func:`activation_all_reduce_bytes`.
    """
    payload = activation_all_reduce_bytes(d_model, seq_len, batch, bytes_per_value=bytes_per_value)
    return all_reduces * payload


def _check_ring(payload_bytes: float, bandwidth: float, participants: int) -> None:
    if participants < 1 or bandwidth <= 0 or payload_bytes < 0:
        raise ValueError(
            "Need participants >= 1, a positive bandwidth and non-negative bytes; got "
            f"participants={participants}, bandwidth={bandwidth}, bytes={payload_bytes}."
        )


def ring_all_gather_seconds(payload_bytes: float, bandwidth: float, participants: int) -> float:
    """Bandwidth-bound time of an all-gather (or a reduce-scatter) on a ring.

    Args:
      payload_bytes: Bytes of the whole (gathered) array ``V``.
      bandwidth: Bytes per second each device can send along the ring (the bidirectional link
        bandwidth when the ring wraps around, as the scaling book counts it).
      participants: Devices on the ring ``n``.

    Returns:
      ``(n - 1)/n · V / bandwidth`` (0 for a single device).
    """
    _check_ring(payload_bytes, bandwidth, participants)
    return (participants - 1) / participants * payload_bytes / bandwidth


def ring_all_reduce_seconds(payload_bytes: float, bandwidth: float, participants: int) -> float:
    """Bandwidth-bound time of an all-reduce on a ring: a reduce-scatter, then an all-gather.

    Args:
      payload_bytes: Bytes of the array each device contributes ``V``.
      bandwidth: Bytes per second each device can send along the ring.
      participants: Devices on the ring ``n``.

    Returns:
      ``2 · (n - 1)/n · V / bandwidth``.
    """
    return 2 * ring_all_gather_seconds(payload_bytes, bandwidth, participants)


def describe_collectives(counts: dict[str, int]) -> str:
    """Counts from :func:`count_collectives` as short text, e.g. ``"1 all-gather, 1 all-reduce"``.

    Args:
      counts: Instructions per collective kind.

    Returns:
      The non-zero kinds with their counts, in `COLLECTIVES` order, or ``"none"``.
    """
    parts = [f"{counts[kind]} {kind}" for kind in COLLECTIVES if counts.get(kind)]
    return ", ".join(parts) or "none"
