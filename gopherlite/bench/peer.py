"""An independent peer: gopherlite's train step timed against a plain Flax NNX GPT-2.

The peer lives in the repository's ``benchmarks/peer_gpt2.py`` and shares no gopherlite code:
its model is built from ``nnx.Embed``, ``nnx.Linear``, ``nnx.LayerNorm`` and
``jax.nn.dot_product_attention``, with its own float32 cross-entropy, optax AdamW and
``jax.jit`` step. It is loaded by file path, so an installed gopherlite without the repository
reports the comparison as skipped instead of failing.

At the same shape and on the same random batch, three float32 train steps alternate (peer,
gopherlite's GPT-2 mode, gopherlite's Gopher mode, then again) so all three see the same
contention (`gopherlite.bench.training.interleaved_step_seconds`):

- the peer: GPT-2 with learned absolute positions, LayerNorm, biases in every linear layer
  and a tied unembedding;
- gopherlite's GPT-2 mode, ``config.replace(position="absolute", norm="layer")``: the same
  architecture without the linear layers' biases, so it has ``n_layers · (4·H·K + d_ff + D)``
  fewer parameters than the peer (4,608 of 1.33M at the tiny shape, 0.35%);
- gopherlite's Gopher mode (Transformer-XL relative attention and RMSNorm).

A ratio above 1 means gopherlite's step is slower than the peer's.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from gopherlite.bench.training import interleaved_step_seconds, random_batch, warm_trainer
from gopherlite.config import ModelConfig
from gopherlite.data.batches import Batch
from gopherlite.train import Trainer

# Where the peer lives in a checkout: <repo>/benchmarks/peer_gpt2.py (this file is
# <repo>/gopherlite/bench/peer.py).
PEER_FILE = Path(__file__).resolve().parents[2] / "benchmarks" / "peer_gpt2.py"
_MODULE_NAME = "gopherlite_bench_peer_gpt2"

# Relative difference of parameter counts (peer against gopherlite's GPT-2 mode) accepted as
# "the same model": the peer's biases are 0.35% of the tiny shape.
PARAM_TOLERANCE = 0.005


def load_peer(path: str | Path | None = None) -> ModuleType | None:
    """Import the peer GPT-2 from its file.

    Args:
      path: The peer's file; None means `PEER_FILE` in this checkout.

    Returns:
      The module, or None when the file does not exist (an installed package without the
      repository's ``benchmarks/`` folder).
    """
    path = PEER_FILE if path is None else Path(path)
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the file executes.
    sys.modules[_MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(_MODULE_NAME, None)
        raise
    return module


def peer_config(peer: ModuleType, config: ModelConfig, *, use_bias: bool = True) -> Any:
    """The peer's `GPT2Config` at a gopherlite shape.

    Args:
      peer: The module from `load_peer`.
      config: The gopherlite shape (layers, heads, widths, vocabulary, context, init, eps).
      use_bias: Biases in the peer's linear layers (GPT-2's; gopherlite has none).

    Returns:
      The peer's config.
    """
    return peer.GPT2Config(
        vocab_size=config.vocab_size,
        max_len=config.max_seq_len,
        n_layers=config.n_layers,
        n_heads=config.n_heads,
        d_head=config.d_head,
        d_model=config.d_model,
        d_ff=config.d_ff,
        use_bias=use_bias,
        init_std=config.init_std,
        layer_norm_eps=config.norm_eps,
    )


class PeerSteps:
    """The peer's trainer behind `Trainer.timed_step`'s interface (a `Batch` in), so that
    `interleaved_step_seconds` can alternate it with gopherlite's trainers."""

    def __init__(self, trainer: Any) -> None:
        """Wrap a compiled, warmed-up peer trainer.

        Args:
          trainer: A ``PeerTrainer`` from the peer's module.
        """
        self.trainer = trainer

    def timed_step(self, batch: Batch) -> tuple[float, float]:
        """One peer step on the batch's inputs and targets, waited for.

        Args:
          batch: The batch (every target weighted 1: the peer averages over all of them).

        Returns:
          The loss and the seconds the step took.
        """
        return self.trainer.timed_step(batch.inputs_BxL, batch.targets_BxL)


def peer_costs(
    config: ModelConfig,
    batch_size: int,
    seq_len: int,
    reps: int,
    *,
    gopher: Trainer | None = None,
    path: str | Path | None = None,
) -> dict[str, Any]:
    """Time the peer GPT-2 against gopherlite's GPT-2 and Gopher modes, in alternation.

    All three are float32, built at ``config``'s shape, compiled ahead of time and warmed up
    by one step on the same random batch, then step in turn ``reps`` times.

    Args:
      config: The shape; its GPT-2 mode is ``position="absolute", norm="layer"`` and its
        Gopher mode ``position="relative", norm="rms"``.
      batch_size: Rows per step.
      seq_len: Window length (at most ``config.max_seq_len``, the position tables' size).
      reps: Timed steps per model.
      gopher: A compiled float32 trainer of the Gopher mode for this batch shape to reuse
        (None: build one).
      path: The peer's file (None: `PEER_FILE`).

    Returns:
      ``skipped`` (and, if True, only ``reason``); otherwise ``batch_size``, ``seq_len``,
      ``reps``, ``peer_file`` and ``rows``: per model its ``model`` label, ``params``,
      ``compile_s`` (None for a reused trainer), median ``step_s``, ``tokens_per_s`` and
      ``ratio_to_peer`` (median of the per-round step-time ratios model / peer; 1 for the peer).
    """
    peer = load_peer(path)
    where = PEER_FILE if path is None else Path(path)
    if peer is None:
        return {"skipped": True, "reason": f"{where} not found (no repository checkout)"}
    batch = random_batch(config.vocab_size, batch_size, seq_len)
    peer_trainer = peer.PeerTrainer(peer_config(peer, config))
    peer_compile_s = peer_trainer.compile(batch.inputs_BxL, batch.targets_BxL)
    peer_trainer.timed_step(batch.inputs_BxL, batch.targets_BxL)
    gpt2_config = config.replace(position="absolute", norm="layer")
    gopher_config = config.replace(position="relative", norm="rms")
    gpt2, gpt2_compile_s = warm_trainer(gpt2_config, batch)
    gopher_compile_s = None
    if gopher is None:
        gopher, gopher_compile_s = warm_trainer(gopher_config, batch)
    seconds = interleaved_step_seconds([PeerSteps(peer_trainer), gpt2, gopher], batch, reps)
    models = [
        ("peer GPT-2 (plain NNX)", peer_trainer.num_params, peer_compile_s),
        ("gopherlite GPT-2 mode", gpt2_config.num_params(), gpt2_compile_s),
        ("gopherlite Gopher mode", gopher_config.num_params(), gopher_compile_s),
    ]
    rows = []
    for (label, params, compile_s), times in zip(models, seconds, strict=True):
        step_s = statistics.median(times)
        rows.append(
            {
                "model": label,
                "params": params,
                "compile_s": compile_s,
                "step_s": step_s,
                "tokens_per_s": batch_size * seq_len / step_s,
                "ratio_to_peer": statistics.median(
                    a / b for a, b in zip(times, seconds[0], strict=True)
                ),
            }
        )
    return {
        "skipped": False,
        "peer_file": str(where),
        "batch_size": batch_size,
        "seq_len": seq_len,
        "reps": reps,
        "rows": rows,
    }
