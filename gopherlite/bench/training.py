"""Training-step benchmarks: throughput and MFU, Gopher's architecture choices, scan over layers.

Every step is timed by `gopherlite.train.Trainer.timed_step` (the step and its new state waited
for); steps of the trainers being compared alternate (A, B, A, B, ...) so that contention from
other work falls on both alike.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from gopherlite.config import ModelConfig
from gopherlite.data.batches import Batch
from gopherlite.train import TrainConfig, Trainer


def random_batch(vocab_size: int, batch_size: int, seq_len: int, seed: int = 0) -> Batch:
    """A batch of uniformly random tokens (step time does not depend on the token values).

    Args:
      vocab_size: Token ids are drawn from ``[0, vocab_size)``.
      batch_size: Rows B.
      seq_len: Window length L.
      seed: NumPy seed.

    Returns:
      The ``[B, L]`` batch with every target weighted 1.
    """
    tokens_BxL1 = np.random.default_rng(seed).integers(
        0, vocab_size, (batch_size, seq_len + 1), dtype=np.int32
    )
    weights_BxL = np.ones((batch_size, seq_len), np.float32)
    return Batch(tokens_BxL1[:, :-1], tokens_BxL1[:, 1:], weights_BxL)


def warm_trainer(
    config: ModelConfig, batch: Batch, precision: str = "fp32", **changes: Any
) -> tuple[Trainer, float]:
    """A trainer compiled for ``batch``'s shape and warmed up by one step.

    Args:
      config: Model shape.
      batch: The batch its steps will train on.
      precision: A `gopherlite.precision.POLICIES` name.
      **changes: Replacements applied to ``config`` first (e.g. ``scan_layers=False``).

    Returns:
      The trainer and the seconds its step took to compile.
    """
    B, L = batch.inputs_BxL.shape
    trainer = Trainer(
        config.replace(**changes), TrainConfig(batch_size=B, seq_len=L, precision=precision)
    )
    compile_s = trainer.compile(batch)
    trainer.timed_step(batch)
    return trainer, compile_s


def interleaved_step_seconds(trainers: list[Trainer], batch: Batch, reps: int) -> list[list[float]]:
    """Time the trainers' steps in turn (A, B, A, B, ...) so all see the same contention.

    Args:
      trainers: Compiled, warmed-up trainers for ``batch``'s shape.
      batch: The batch every step trains on.
      reps: Timed steps per trainer.

    Returns:
      Per trainer, the seconds of each of its ``reps`` steps.
    """
    seconds = [[] for _ in trainers]
    for _ in range(reps):
        for trainer, times in zip(trainers, seconds, strict=True):
            times.append(trainer.timed_step(batch)[1])
    return seconds


def training_throughput(
    name: str,
    config: ModelConfig,
    batch_size: int,
    seq_len: int,
    reps: int,
) -> tuple[list[dict[str, Any]], dict[str, Trainer]]:
    """Tokens/s and MFU of one model shape under the ``fp32`` and ``mixed`` policies.

    The two policies' steps alternate; `add_mfu` turns the rows' tokens/s into MFU.

    Args:
      name: Label of the shape in the results.
      config: Model shape.
      batch_size: Rows per step.
      seq_len: Window length.
      reps: Timed steps per policy.

    Returns:
      One row per policy, and the compiled trainers by policy (for reuse).
    """
    batch = random_batch(config.vocab_size, batch_size, seq_len)
    policies = ("fp32", "mixed")
    trainers = [warm_trainer(config, batch, policy)[0] for policy in policies]
    seconds = interleaved_step_seconds(trainers, batch, reps)
    flops_per_token = config.flops_per_token(seq_len, training=True)
    rows = []
    for policy, times in zip(policies, seconds, strict=True):
        step_s = statistics.median(times)
        tokens_per_s = batch_size * seq_len / step_s
        rows.append(
            {
                "model": name,
                "precision": policy,
                "params": config.num_params(),
                "batch_size": batch_size,
                "seq_len": seq_len,
                "step_s": step_s,
                "tokens_per_s": tokens_per_s,
                "flops_per_token": flops_per_token,
            }
        )
    return rows, dict(zip(policies, trainers, strict=True))


def add_mfu(rows: list[dict[str, Any]], peaks: dict[str, float]) -> None:
    """Add model-FLOPs utilisation to `training_throughput` rows, in place.

    MFU counts `ModelConfig.flops_per_token` (training, at the row's window length) times
    tokens/s against the float32 peak (``mfu_fp32_peak``) and the bfloat16 peak
    (``mfu_bf16_peak``). Rows that carry their step's matmuls timed alone (``matmuls``,
    `matmul_limit.time_matmuls`) also get ``mfu_limit`` (the MFU of a step that were nothing
    but those matmuls) and ``step_over_matmuls`` (step time over matmul time).

    Args:
      rows: Rows with ``flops_per_token`` and ``tokens_per_s``.
      peaks: `matmul_peaks` output.
    """
    for row in rows:
        flops_per_s = row["flops_per_token"] * row["tokens_per_s"]
        row["mfu_fp32_peak"] = flops_per_s / peaks["float32"]
        row["mfu_bf16_peak"] = flops_per_s / peaks["bfloat16"]
        if "matmuls" in row:  # the step's matmuls timed alone (`matmul_limit.time_matmuls`)
            model_flops = row["flops_per_token"] * row["batch_size"] * row["seq_len"]
            row["mfu_limit"] = model_flops / row["matmuls"]["seconds"] / peaks["float32"]
            row["step_over_matmuls"] = row["step_s"] / row["matmuls"]["seconds"]


def architecture_costs(
    config: ModelConfig,
    batch_size: int,
    seq_len: int,
    reps: int,
    gopher: Trainer | None = None,
) -> list[dict[str, Any]]:
    """Step-time cost of Gopher's choices against GPT-2 style baselines, timed alternately.

    Relative attention is compared with learned absolute positions and RMSNorm with
    LayerNorm; each pair's steps alternate and the ratio is the median of the per-pair ratios
    (choice / baseline, above 1 means Gopher's choice is slower).

    Args:
      config: The Gopher-style shape (relative attention, RMSNorm).
      batch_size: Rows per step.
      seq_len: Window length.
      reps: Timed pairs.
      gopher: A compiled float32 trainer of ``config`` for this batch shape to reuse (None:
        build one).

    Returns:
      One row per choice.
    """
    batch = random_batch(config.vocab_size, batch_size, seq_len)
    gopher = gopher or warm_trainer(config, batch)[0]
    rows = []
    for choice, baseline, changes in [
        ("relative attention", "absolute positions", {"position": "absolute"}),
        ("RMSNorm", "LayerNorm", {"norm": "layer"}),
    ]:
        other, _ = warm_trainer(config, batch, **changes)
        choice_s, baseline_s = interleaved_step_seconds([gopher, other], batch, reps)
        rows.append(
            {
                "choice": choice,
                "baseline": baseline,
                "choice_step_s": statistics.median(choice_s),
                "baseline_step_s": statistics.median(baseline_s),
                "ratio": statistics.median(
                    a / b for a, b in zip(choice_s, baseline_s, strict=True)
                ),
            }
        )
    return rows


def scan_costs(
    config: ModelConfig, batch_size: int, seq_len: int, reps: int, depths: tuple[int, ...]
) -> list[dict[str, Any]]:
    """Compile and step time of scan over layers against unrolled blocks, at several depths.

    An unrolled model traces and compiles every block; ``scan_layers`` compiles one block
    body whatever the depth (`ModelConfig.scan_layers`). At each depth both train steps are
    compiled ahead of time (`Trainer.compile`), then timed alternately.

    Args:
      config: Model shape; its ``n_layers`` is replaced by each depth.
      batch_size: Rows per step.
      seq_len: Window length.
      reps: Timed pairs per depth.
      depths: Layer counts to compare at.

    Returns:
      One row per depth: compile seconds and median step seconds of both, and the median
      per-pair step-time ratio scanned / unrolled.
    """
    batch = random_batch(config.vocab_size, batch_size, seq_len)
    rows = []
    for depth in depths:
        built = [warm_trainer(config, batch, n_layers=depth, scan_layers=s) for s in (True, False)]
        trainers, compile_s = zip(*built, strict=True)
        scanned_s, unrolled_s = interleaved_step_seconds(trainers, batch, reps)
        rows.append(
            {
                "n_layers": depth,
                "scanned_compile_s": compile_s[0],
                "unrolled_compile_s": compile_s[1],
                "scanned_step_s": statistics.median(scanned_s),
                "unrolled_step_s": statistics.median(unrolled_s),
                "step_ratio": statistics.median(
                    a / b for a, b in zip(scanned_s, unrolled_s, strict=True)
                ),
            }
        )
    return rows
