"""An IsoFLOP sweep: models of several sizes trained for the same compute (ch. 10).

Chinchilla's Approach 2 (Hoffmann et al. 2022, Sec. 3.2): fix a compute budget C, train models
of several sizes N each on D = C / (FLOPs per token) tokens, and read which size reaches the
lowest held-out loss; repeat for several budgets. Here every run's compute is counted by the
library (`ModelConfig.flops_per_token`, Chinchilla's App. F accounting, which includes the
output logits and the attention scores) and its N is the full parameter count (tied embedding
included, as Chinchilla counts), so ``C ≈ 6 · N · D``.

* `sweep_configs`: the model family (two layers, widths given).
* `isoflop_sweep`: train every (budget, width) pair on identical batches; `SweepRun` rows.
* `isoflop_minimum`: the parabola in log N through one budget's losses, and its lowest point.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gopherlite.config import ModelConfig
from gopherlite.data.pipeline import TextData
from gopherlite.evaluate import evaluate
from gopherlite.train import TrainConfig
from gopherlite.workbook.experiments.variants import train_variants


@dataclasses.dataclass(frozen=True)
class SweepRun:
    """One trained model of the sweep.

    Attributes:
      budget: The budget it was sized for (FLOPs).
      width: Its ``d_model``.
      n_params: Parameters N (tied embedding included).
      n_tokens: Training tokens D (steps × batch × window).
      flops: Compute actually spent, FLOPs per token × D (within a step of the budget).
      steps: Optimiser steps.
      loss: Held-out loss, nats per token.
      seconds: Wall-clock time of the run, compilation included.
    """

    budget: float
    width: int
    n_params: int
    n_tokens: int
    flops: float
    steps: int
    loss: float
    seconds: float


def sweep_configs(
    base: ModelConfig, widths: Sequence[int], *, d_head: int = 16
) -> dict[int, ModelConfig]:
    """The sweep's model family: ``base`` with each width, heads of ``d_head``, d_ff = 4 · width.

    Args:
      base: Everything else (layers, vocabulary, window, positions).
      widths: The ``d_model`` values, each a multiple of ``d_head``.
      d_head: Size of every head.

    Returns:
      Width → config.
    """
    configs = {}
    for width in widths:
        if width % d_head:
            raise ValueError(f"width {width} is not a multiple of d_head={d_head}.")
        configs[width] = base.replace(
            d_model=width, n_heads=width // d_head, d_head=d_head, d_ff=4 * width
        )
    return configs


def isoflop_sweep(
    data: TextData,
    configs: dict[int, ModelConfig],
    budgets: Sequence[float],
    train_config: TrainConfig,
    *,
    callback: Callable[[SweepRun], Any] | None = None,
) -> list[SweepRun]:
    """Train every config at every budget and score it on the held-out windows.

    Each run's steps are the budget divided by the FLOPs of one step (at least one step); the
    learning-rate schedule spans each run's own steps, as Chinchilla's cosine cycles match each
    run's length. Every run starts from the same seed and sees the same batches in the same
    order.

    Args:
      data: From `load_experiment_data`; its windows set the sequence length.
      configs: Width → model config (`sweep_configs`).
      budgets: Compute budgets in FLOPs.
      train_config: Shared settings (batch size, learning rate, seed); ``steps`` is replaced.
      callback: Called with each finished run (progress printing).

    Returns:
      One `SweepRun` per (budget, width), budgets in the given order.
    """
    window = data.train.window
    tokens_per_step = train_config.batch_size * window
    runs = []
    for budget in budgets:
        for width, config in configs.items():
            flops_per_token = config.flops_per_token(window)
            steps = max(1, round(budget / (flops_per_token * tokens_per_step)))
            run_config = dataclasses.replace(
                train_config, steps=steps, log_every=max(1, steps // 4), seq_len=window
            )
            trained = train_variants({str(width): config}, run_config, data)[str(width)]
            run = SweepRun(
                budget=float(budget),
                width=width,
                n_params=config.num_params(),
                n_tokens=steps * tokens_per_step,
                flops=float(flops_per_token * steps * tokens_per_step),
                steps=steps,
                loss=float(evaluate(trained.model, data.heldout).loss),
                seconds=trained.seconds,
            )
            runs.append(run)
            if callback is not None:
                callback(run)
    return runs


def isoflop_minimum(runs: Sequence[SweepRun]) -> tuple[float, np.ndarray]:
    """The parabola ``loss = a (log N)² + b log N + c`` through one budget's runs.

    Args:
      runs: Runs of a single budget, at least three sizes.

    Returns:
      The N at the parabola's lowest point and the coefficients ``[a, b, c]``. If the
      parabola opens downwards, or its vertex lies outside the sizes trained, the N of the
      best measured run is returned instead: the data then bound the optimum, not locate it.
    """
    if len({run.budget for run in runs}) != 1 or len(runs) < 3:
        raise ValueError("isoflop_minimum needs the runs of one budget, at least three sizes.")
    log_n = np.log([run.n_params for run in runs])
    losses = np.array([run.loss for run in runs])
    coef_3 = np.polyfit(log_n, losses, 2)
    vertex = -coef_3[1] / (2 * coef_3[0]) if coef_3[0] > 0 else np.nan
    if not (log_n.min() <= vertex <= log_n.max()):
        vertex = log_n[np.argmin(losses)]
    return float(np.exp(vertex)), coef_3
