"""What checkpointing costs the step loop: no checkpoints, synchronous saves, background saves.

One compiled trainer trains in segments of ``every`` steps. A segment of the ``sync`` mode
starts with a checkpoint written to disk before training goes on; one of the ``async`` mode
starts with a background save (`gopherlite.checkpoint.Checkpointer` with ``async_save``) and
ends by waiting for that write to finish, so whatever the background write did not hide is
counted; the ``none`` mode only trains. The three modes' segments alternate round by round
(none, sync, async, none, ...) so other work on the machine falls on all of them, and each
mode's overhead is the median over rounds of its segment time over that round's ``none``
segment, minus one: the fraction by which checkpointing every ``every`` steps slows training.
"""

from __future__ import annotations

import pathlib
import statistics
import tempfile
import time
from typing import Any

import jax

from gopherlite.bench.training import random_batch, warm_trainer
from gopherlite.checkpoint import Checkpointer
from gopherlite.config import ModelConfig
from gopherlite.train import Trainer

MODES = ("none", "sync", "async")


def _segment_seconds(trainer: Trainer, batch: Any, every: int, ckpt: Checkpointer | None) -> float:
    start = time.perf_counter()
    if ckpt is not None:
        ckpt.save(trainer.step, trainer.state, {"step": trainer.step})
    for _ in range(every):
        trainer.train_step(batch)
    jax.block_until_ready(trainer.state)
    if ckpt is not None:
        ckpt.wait()
    return time.perf_counter() - start


def checkpoint_costs(
    config: ModelConfig,
    batch_size: int,
    seq_len: int,
    every: int,
    rounds: int,
    trainer: Trainer | None = None,
) -> dict[str, Any]:
    """Step-time overhead of a checkpoint every ``every`` steps, written synchronously and in
    the background.

    Args:
      config: Model shape.
      batch_size: Rows per step.
      seq_len: Window length.
      every: Steps between checkpoints (one segment).
      rounds: Segments per mode.
      trainer: A compiled float32 trainer of ``config`` for this batch shape to reuse (None:
        build one).

    Returns:
      ``every``, ``rounds``, ``state_mb`` (the saved state's size), ``segment_s`` (median
      seconds of one segment per mode) and ``overhead`` (per checkpointing mode, the median
      fraction its segments took longer than the same round's segment without checkpoints).
    """
    batch = random_batch(config.vocab_size, batch_size, seq_len)
    trainer = trainer or warm_trainer(config, batch)[0]
    state_bytes = sum(leaf.nbytes for leaf in jax.tree.leaves(trainer.state))
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="gopherlite-bench-") as tmp:
        ckpts = {
            "none": None,
            "sync": Checkpointer(pathlib.Path(tmp) / "sync", keep=2),
            "async": Checkpointer(pathlib.Path(tmp) / "async", keep=2, async_save=True),
        }
        for mode in MODES:  # untimed: Orbax's first save sets up its folders and threads
            _segment_seconds(trainer, batch, 1, ckpts[mode])
        for _ in range(rounds):
            for mode in MODES:
                seconds[mode].append(_segment_seconds(trainer, batch, every, ckpts[mode]))
        for ckpt in ckpts.values():
            if ckpt is not None:
                ckpt.close()
    baseline = seconds["none"]
    return {
        "every": every,
        "rounds": rounds,
        "state_mb": state_bytes / 1e6,
        "segment_s": {mode: statistics.median(s) for mode, s in seconds.items()},
        "overhead": {
            mode: statistics.median(a / b - 1 for a, b in zip(seconds[mode], baseline, strict=True))
            for mode in ("sync", "async")
        },
    }
