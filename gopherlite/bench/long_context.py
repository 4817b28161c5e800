"""Long-context training: the compiled train step's memory and time, dense vs blockwise.

Gopher trained on 2,048-token windows (G Sec. 3.2). The dense attention layer holds float32
``[B, H, L, L]`` scores for both Transformer-XL terms, so the step's scratch memory grows
with L²; blockwise attention (`gopherlite.nn.blockwise`) keeps only tiles, so it should grow
with L. This measures both from XLA's memory analysis of the compiled step (``temp`` is the
scratch a step allocates beyond its inputs and outputs) and times the two steps alternately.
"""

from __future__ import annotations

import statistics
from typing import Any

from gopherlite.bench.training import interleaved_step_seconds, random_batch, warm_trainer
from gopherlite.config import ModelConfig


def long_context_costs(
    config: ModelConfig, batch_size: int, lengths: tuple[int, ...], block: int, reps: int
) -> list[dict[str, Any]]:
    """Memory and step time of the fp32 train step at each length, dense and blockwise.

    Args:
      config: Model shape (its ``max_seq_len`` is raised to each length).
      batch_size: Rows per step.
      lengths: Window lengths L, each a multiple of ``block``.
      block: Attention tile size (``ModelConfig.attention_block``).
      reps: Timed steps per variant and length, alternating.

    Returns:
      One row per length: ``seq_len``, ``batch_size``, ``block``, ``dense_temp_mb`` and
      ``blockwise_temp_mb`` (XLA's temp bytes of the compiled step), the arguments' MB,
      ``dense_step_s`` and ``blockwise_step_s`` (medians) and their ``step_ratio``.
    """
    rows = []
    for L in lengths:
        batch = random_batch(config.vocab_size, batch_size, L)
        dense, _ = warm_trainer(config, batch, max_seq_len=L, blockwise_from=None)
        tiled, _ = warm_trainer(
            config, batch, max_seq_len=L, blockwise_from=block, attention_block=block
        )
        memory = {name: t.compiled_memory() for name, t in (("dense", dense), ("blockwise", tiled))}
        seconds = interleaved_step_seconds([dense, tiled], batch, reps)
        dense_s, tiled_s = (statistics.median(s) for s in seconds)
        rows.append(
            {
                "seq_len": L,
                "batch_size": batch_size,
                "block": block,
                "dense_temp_mb": memory["dense"].temp_size_in_bytes / 2**20,
                "blockwise_temp_mb": memory["blockwise"].temp_size_in_bytes / 2**20,
                "argument_mb": memory["dense"].argument_size_in_bytes / 2**20,
                "dense_step_s": dense_s,
                "blockwise_step_s": tiled_s,
                "step_ratio": tiled_s / dense_s,
            }
        )
        del dense, tiled
    return rows
