"""Performance benchmark: how close training and decoding come to this machine's limit.

`run` measures, in one process and after compilation (medians of several timed repetitions,
each ended by `jax.block_until_ready`):

1. the limit: the best matmul throughput in float32 and in bfloat16 with float32 accumulation
   (`gopherlite.hardware.measured_matmul_flops`);
2. training throughput (tokens/s) and model-FLOPs utilisation (MFU) of the tiny preset and of
   a 44M-class shape at reduced context, under the ``fp32`` and ``mixed`` precision policies;
3. the cost of Gopher's architecture choices on the tiny train step, each timed alternately
   (A, B, A, B, ...) against its GPT-2 style baseline so both see the same contention, and
   scan over layers against unrolled blocks (compile time and step time at two depths);
4. the step-time cost of a checkpoint every 10 steps, written synchronously and in the
   background (`checkpointing.checkpoint_costs`);
5. decoding tokens/s with the KV cache (`generate`) against recomputing the whole forward pass
   for every new token (`generate_uncached`);
6. SentencePiece training time and encoding throughput on the embedded corpus;
7. long contexts: XLA's memory analysis and the step time of the tiny fp32 train step at
   512, 1,024 and 2,048 tokens with dense and with blockwise attention (`long_context`);
8. the step's own limit: every matmul of the fp32 train step timed alone at its shape
   (`matmul_limit`), so ``step s / matmul s`` says how much of the step is not matmuls;
9. an independent peer: a plain Flax NNX GPT-2 (``benchmarks/peer_gpt2.py``, no gopherlite
   code) whose float32 train step alternates with gopherlite's GPT-2 and Gopher modes at the
   tiny shape on the same batch (`peer`).

`format_table` renders the results with the targets each is measured against. The command
``python -m gopherlite bench`` and ``benchmarks/bench.py`` both call these functions; the
measurements live in `training`, `matmul_limit`, `checkpointing`, `decoding`,
`long_context`, `peer` and `report`.
"""

from __future__ import annotations

import datetime
import os
import platform
import time
from typing import Any

import flax
import jax

from gopherlite.bench.checkpointing import checkpoint_costs
from gopherlite.bench.decoding import decoding_speed, tokenizer_speed
from gopherlite.bench.long_context import long_context_costs
from gopherlite.bench.matmul_limit import step_matmuls, time_matmuls
from gopherlite.bench.peer import peer_costs
from gopherlite.bench.report import (
    TARGET_44M_MFU,
    TARGET_DECODE_SPEEDUP,
    TARGET_PEER_RATIO,
    TARGET_RELATIVE_RATIO,
    TARGET_TINY_MFU,
    format_table,
    targets,
)
from gopherlite.bench.training import (
    add_mfu,
    architecture_costs,
    interleaved_step_seconds,
    random_batch,
    scan_costs,
    training_throughput,
    warm_trainer,
)
from gopherlite.config import PRESETS
from gopherlite.hardware import measured_matmul_flops

__all__ = [
    "SETTINGS",
    "TARGET_44M_MFU",
    "TARGET_DECODE_SPEEDUP",
    "TARGET_PEER_RATIO",
    "TARGET_RELATIVE_RATIO",
    "TARGET_TINY_MFU",
    "add_mfu",
    "architecture_costs",
    "checkpoint_costs",
    "decoding_speed",
    "format_table",
    "interleaved_step_seconds",
    "long_context_costs",
    "machine_info",
    "matmul_peaks",
    "peer_costs",
    "random_batch",
    "run",
    "scan_costs",
    "targets",
    "tokenizer_speed",
    "training_throughput",
    "warm_trainer",
]

# Sizes of a full run (minutes on two CPU cores) and of a smoke run (seconds).
SETTINGS: dict[bool, dict[str, Any]] = {
    False: {
        "matmul_size": 1024,
        "matmul_repeats": 10,
        "train_reps": 7,
        "training": {"tiny": (PRESETS["tiny"], 16, 128), "44m": (PRESETS["44m"], 4, 128)},
        "ablation_reps": 9,
        "peer_reps": 7,
        "scan_depths": (4, 16),
        "checkpoint_every": 10,
        "checkpoint_rounds": 5,
        "decode_contexts": (256, 512, 1024),
        "decode_new_tokens": 32,
        "decode_reps": 3,
        "decode_pair_reps": 15,
        "tokenizer_chars": None,
        "tokenizer_vocab": 4096,
        "long_context": {"batch_size": 1, "lengths": (512, 1024, 2048), "block": 128, "reps": 3},
    },
    True: {
        "matmul_size": 512,
        "matmul_repeats": 3,
        "train_reps": 2,
        # Compilation dominates a smoke run: one shallow tiny model, no 44M shape.
        "training": {"tiny": (PRESETS["tiny"].replace(n_layers=1), 2, 32)},
        "ablation_reps": 2,
        "peer_reps": 2,
        "scan_depths": (1, 2),
        "checkpoint_every": 2,
        "checkpoint_rounds": 1,
        "decode_contexts": (32,),
        "decode_new_tokens": 4,
        "decode_reps": 1,
        "decode_pair_reps": 1,
        "tokenizer_chars": 300_000,
        "tokenizer_vocab": 1024,
        "long_context": {"batch_size": 1, "lengths": (128, 256), "block": 32, "reps": 1},
    },
}


def machine_info() -> dict[str, Any]:
    """Describe the machine and software the timings come from.

    Returns:
      Core count, platform, JAX devices, jax/flax versions, UTC date and the 1-minute load
      average at the time of the call.
    """
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "devices": [str(d) for d in jax.devices()],
        "jax": jax.__version__,
        "flax": flax.__version__,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "loadavg_1min": os.getloadavg()[0],
    }


def matmul_peaks(size: int, repeats: int) -> dict[str, float]:
    """Measure the best matmul FLOP/s of this process in float32 and bfloat16.

    `measured_matmul_flops` caches each (size, dtype, repeats) per process, so measuring again
    later in a run needs another ``repeats``.

    Args:
      size: Matrix side of the timed ``[size, size] @ [size, size]`` product.
      repeats: Timed runs; the fastest counts.

    Returns:
      ``float32`` and ``bfloat16`` (with float32 accumulation) FLOP/s.
    """
    return {dtype: measured_matmul_flops(size, dtype, repeats) for dtype in ("float32", "bfloat16")}


def run(quick: bool) -> dict[str, Any]:
    """Run every benchmark.

    Args:
      quick: Smoke-sized shapes and few repetitions (well under a minute); the numbers only
        show that everything runs.

    Returns:
      ``machine``, ``quick``, ``peak_flops`` (with ``peak_flops_start`` and
      ``peak_flops_end``, the two measurements it is the best of), ``training``,
      ``architecture``, ``peer`` (`peer_costs`; ``skipped`` without the repository's
      ``benchmarks/`` folder), ``checkpointing``, ``scan``, ``decoding``, ``tokenizer``,
      ``long_context``, ``targets``
      and ``seconds`` (wall time of the whole run).
    """
    s = SETTINGS[quick]
    start = time.perf_counter()
    results: dict[str, Any] = {"machine": machine_info(), "quick": quick}
    peaks_start = matmul_peaks(s["matmul_size"], s["matmul_repeats"])
    results["training"] = []
    for name, shape in s["training"].items():
        rows, trainers = training_throughput(name, *shape, reps=s["train_reps"])
        results["training"] += rows
        # The fp32 step against its own matmuls timed alone (`matmul_limit`).
        fp32_row = next(r for r in rows if r["precision"] == "fp32")
        batch = random_batch(shape[0].vocab_size, *shape[1:])
        fp32_row["matmuls"] = time_matmuls(step_matmuls(trainers["fp32"].step_jaxpr(batch)))
        if name == "tiny":
            tiny_fp32 = trainers["fp32"]
        del trainers  # free the larger shapes' state before the next benchmark
    tiny = s["training"]["tiny"]
    results["architecture"] = architecture_costs(*tiny, reps=s["ablation_reps"], gopher=tiny_fp32)
    results["peer"] = peer_costs(*tiny, reps=s["peer_reps"], gopher=tiny_fp32)
    results["checkpointing"] = checkpoint_costs(
        *tiny, every=s["checkpoint_every"], rounds=s["checkpoint_rounds"], trainer=tiny_fp32
    )
    del tiny_fp32
    results["scan"] = scan_costs(*tiny, reps=s["ablation_reps"], depths=s["scan_depths"])
    results["decoding"] = decoding_speed(
        tiny[0],
        s["decode_contexts"],
        s["decode_new_tokens"],
        s["decode_reps"],
        s["decode_pair_reps"],
    )
    results["tokenizer"] = tokenizer_speed(s["tokenizer_vocab"], s["tokenizer_chars"])
    results["long_context"] = long_context_costs(tiny[0], **s["long_context"])
    # The limit is the best of a measurement at the start and a longer one at the end, so
    # contention from other work during one of them does not inflate MFU.
    peaks_end = matmul_peaks(s["matmul_size"], 2 * s["matmul_repeats"])
    results["peak_flops"] = {
        dtype: max(peaks_start[dtype], peaks_end[dtype]) for dtype in peaks_end
    }
    results["peak_flops_start"], results["peak_flops_end"] = peaks_start, peaks_end
    add_mfu(results["training"], results["peak_flops"])
    results["targets"] = targets(results)
    results["machine"]["loadavg_1min_end"] = os.getloadavg()[0]
    results["seconds"] = time.perf_counter() - start
    return results
