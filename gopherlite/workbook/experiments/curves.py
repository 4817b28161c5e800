"""Curves the chapters draw: a NaN-aware moving average and training losses side by side.

* :func:`smooth`: centred moving average that skips missing points (loss per position,
  training curves).
* :func:`loss_curves`: each run's logged training loss, or its difference to the first run,
  smoothed, ready to draw (chapter 05's RMSNorm against LayerNorm).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def smooth(y_L: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average that skips NaN entries; ``window <= 1`` returns a copy.

    Args:
      y_L: A curve, NaN where there is no value.
      window: Width of the average in points.

    Returns:
      The smoothed curve, same length (NaN only where a whole window was NaN).
    """
    y_L = np.asarray(y_L, np.float64)
    if window <= 1:
        return y_L.copy()
    kernel = np.ones(window)
    valid = ~np.isnan(y_L)
    total = np.convolve(np.where(valid, y_L, 0.0), kernel, mode="same")
    count = np.convolve(valid.astype(np.float64), kernel, mode="same")
    return np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0)


def loss_curves(
    histories: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    window: int = 1,
    difference: bool = False,
) -> dict[str, tuple[list[int], np.ndarray]]:
    """Training loss against step for each run, or each run minus the first, smoothed.

    Args:
      histories: Run name → logged records (``step`` and ``loss``), e.g. ``run.history``; the
        runs log the same steps (the difference is taken point by point).
      window: Moving-average width over logged points (:func:`smooth`).
      difference: Each run's loss minus the first run's instead of the loss itself.

    Returns:
      Run name → ``(steps, values)``, in the order of ``histories``.
    """
    names = list(histories)
    first = np.array([r["loss"] for r in histories[names[0]]], np.float64)
    curves = {}
    for name in names:
        steps = [r["step"] for r in histories[name]]
        loss = np.array([r["loss"] for r in histories[name]], np.float64)
        y = loss - first[: len(loss)] if difference else loss
        curves[name] = (steps, smooth(y, window))
    return curves
