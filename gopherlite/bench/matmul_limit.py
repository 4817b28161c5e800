"""The step's own limit: its matrix multiplications, each timed alone at its shape.

A machine's matmul peak (one large square product) is a limit no small model reaches: the
tiny preset's matmuls are ``[2048, 128] @ [128, 512]`` and smaller, which run well below it.
The limit that says how much of a step is overhead is the time its own matmuls take when
nothing else runs. `step_matmuls` lists every ``dot_general`` of the traced step (forward,
backward and the loss's chunks, each counted as often as it runs: a ``scan`` of ``n`` steps
counts its body ``n`` times); `time_matmuls` times each distinct one as a jitted function of
its own on random operands (median of several runs, one dispatch included) and sums.

``step seconds / matmul seconds`` is then how close the step is to its limit (1.0: nothing
but matmuls), and the model FLOPs over the matmul seconds is the best MFU this step's shapes
allow on this machine.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gopherlite.bench.timing import median_seconds


class Matmul(NamedTuple):
    """One ``dot_general`` of a traced program: its operand shapes, dtypes and dimensions."""

    lhs_shape: tuple[int, ...]
    rhs_shape: tuple[int, ...]
    lhs_dtype: str
    rhs_dtype: str
    dimension_numbers: Any
    preferred_element_type: str | None

    def flops(self) -> int:
        """``2 ·`` (output size) ``·`` (contracted size): multiply-adds counted as two."""
        (lhs_contract, _), (lhs_batch, _) = self.dimension_numbers
        contract = math.prod(self.lhs_shape[d] for d in lhs_contract)
        batch = math.prod(self.lhs_shape[d] for d in lhs_batch)
        lhs_free = math.prod(self.lhs_shape) // (contract * batch)
        rhs_free = math.prod(self.rhs_shape) // (contract * batch)
        return 2 * batch * lhs_free * rhs_free * contract


def _sub_jaxprs(value: Any) -> Iterator[Any]:
    """The jaxprs held by one equation parameter (a jaxpr, a closed one, or a tuple of them)."""
    if hasattr(value, "eqns"):
        yield value
    elif hasattr(value, "jaxpr") and hasattr(value.jaxpr, "eqns"):
        yield value.jaxpr
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _sub_jaxprs(item)


def _walk(jaxpr: Any, times: int, found: collections.Counter) -> None:
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            lhs, rhs = (v.aval for v in eqn.invars)
            preferred = eqn.params.get("preferred_element_type")
            found[
                Matmul(
                    tuple(lhs.shape), tuple(rhs.shape), str(lhs.dtype), str(rhs.dtype),
                    eqn.params["dimension_numbers"],
                    None if preferred is None else str(jnp.dtype(preferred)),
                )
            ] += times  # fmt: skip
            continue
        inner = times * eqn.params.get("length", 1) if eqn.primitive.name == "scan" else times
        for value in eqn.params.values():
            for sub in _sub_jaxprs(value):
                _walk(sub, inner, found)


def step_matmuls(closed_jaxpr: Any) -> collections.Counter:
    """Every matmul a traced program runs, with how many times it runs.

    Args:
      closed_jaxpr: E.g. `gopherlite.train.Trainer.step_jaxpr`. A ``while`` loop's body
        counts once (its trip count is not in the jaxpr); ``scan`` bodies count ``length``
        times; ``cond`` branches all count (the training step has none).

    Returns:
      A counter from `Matmul` to the number of times it runs per call.
    """
    found: collections.Counter = collections.Counter()
    _walk(closed_jaxpr.jaxpr, 1, found)
    return found


def _median_call_seconds(matmul: Matmul, reps: int) -> float:
    rng = np.random.default_rng(0)
    lhs = jnp.asarray(rng.standard_normal(matmul.lhs_shape), matmul.lhs_dtype)
    rhs = jnp.asarray(rng.standard_normal(matmul.rhs_shape), matmul.rhs_dtype)
    preferred = matmul.preferred_element_type
    fn = jax.jit(
        lambda a, b: jax.lax.dot_general(
            a, b, matmul.dimension_numbers, preferred_element_type=preferred
        )
    )
    return median_seconds(lambda: fn(lhs, rhs), reps)


def time_matmuls(matmuls: collections.Counter, reps: int = 7) -> dict[str, Any]:
    """Time a program's matmuls alone: each distinct one jitted by itself, times its count.

    Args:
      matmuls: `step_matmuls`'s counter.
      reps: Timed calls per distinct matmul; the median counts.

    Returns:
      ``seconds`` (all matmuls, counts included), ``flops`` (their FLOPs), ``count`` (matmuls
      run per step) and ``distinct`` (shapes timed).
    """
    seconds = sum(n * _median_call_seconds(m, reps) for m, n in matmuls.items())
    return {
        "seconds": seconds,
        "flops": sum(n * m.flops() for m, n in matmuls.items()),
        "count": sum(matmuls.values()),
        "distinct": len(matmuls),
    }
