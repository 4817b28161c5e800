"""The bench's one way to time a call: median wall time after a warm-up, each call waited for."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import jax


def median_seconds(fn: Callable[[], object], reps: int) -> float:
    """Median wall time of ``fn`` over ``reps`` calls after one warm-up (compiling) call.

    Every call, the warm-up included, is waited for with `jax.block_until_ready`, so no
    asynchronous work of one call is counted in the next.

    Args:
      fn: The call to time (no arguments).
      reps: Timed calls.

    Returns:
      Seconds.
    """
    jax.block_until_ready(fn())
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)
