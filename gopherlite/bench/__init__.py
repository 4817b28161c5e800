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
4. decoding tokens/s with the KV cache (`generate`) against recomputing the whole forward pass
   for every new token (`generate_uncached`);
5. SentencePiece training time and encoding throughput on the embedded corpus.

`format_table` renders the results with the targets each is measured against. The command
``python -m gopherlite bench`` and ``benchmarks/bench.py`` both call these functions.
"""

from __future__ import annotations

import datetime
import functools
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import flax
import jax
import numpy as np
from flax import nnx

from gopherlite.config import PRESETS, ModelConfig
from gopherlite.data.batches import Batch
from gopherlite.data.corpus import default_documents
from gopherlite.data.tokenizer import Tokenizer
from gopherlite.hardware import measured_matmul_flops
from gopherlite.nn import GopherLM
from gopherlite.sample import generate, generate_uncached
from gopherlite.train import TrainConfig, Trainer

# Targets the results are reported against (reached or missed, never hidden).
TARGET_TINY_MFU = 0.40  # tiny fp32 train step, fraction of the measured float32 matmul peak
TARGET_RELATIVE_RATIO = 1.10  # relative-attention step time / absolute-position step time
TARGET_DECODE_SPEEDUP = 10.0  # cached over uncached decoding at context 1024

# Sizes of a full run (minutes on two CPU cores) and of a smoke run (seconds).
SETTINGS: dict[bool, dict[str, Any]] = {
    False: {
        "matmul_size": 1024,
        "matmul_repeats": 10,
        "train_reps": 7,
        "training": {"tiny": (PRESETS["tiny"], 16, 128), "44m": (PRESETS["44m"], 4, 128)},
        "ablation_reps": 9,
        "scan_depths": (4, 16),
        "decode_contexts": (256, 512, 1024),
        "decode_new_tokens": 32,
        "decode_reps": 3,
        "tokenizer_chars": None,
        "tokenizer_vocab": 4096,
    },
    True: {
        "matmul_size": 512,
        "matmul_repeats": 3,
        "train_reps": 2,
        # Compilation dominates a smoke run: one shallow tiny model, no 44M shape.
        "training": {"tiny": (PRESETS["tiny"].replace(n_layers=1), 2, 32)},
        "ablation_reps": 2,
        "scan_depths": (1, 2),
        "decode_contexts": (32,),
        "decode_new_tokens": 4,
        "decode_reps": 1,
        "tokenizer_chars": 300_000,
        "tokenizer_vocab": 1024,
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


def _trainer(config: ModelConfig, batch: Batch, precision: str = "fp32") -> Trainer:
    """A compiled trainer for ``batch``'s shape, warmed up by one step."""
    B, L = batch.inputs_BxL.shape
    trainer = Trainer(config, TrainConfig(batch_size=B, seq_len=L, precision=precision))
    trainer.compile(batch)
    jax.block_until_ready(trainer.train_step(batch))
    return trainer


def _timed_step(trainer: Trainer, batch: Batch) -> float:
    start = time.perf_counter()
    jax.block_until_ready((trainer.train_step(batch), trainer.state))
    return time.perf_counter() - start


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
            times.append(_timed_step(trainer, batch))
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
    trainers = [_trainer(config, batch, policy) for policy in policies]
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
    (``mfu_bf16_peak``).

    Args:
      rows: Rows with ``flops_per_token`` and ``tokens_per_s``.
      peaks: `matmul_peaks` output.
    """
    for row in rows:
        flops_per_s = row["flops_per_token"] * row["tokens_per_s"]
        row["mfu_fp32_peak"] = flops_per_s / peaks["float32"]
        row["mfu_bf16_peak"] = flops_per_s / peaks["bfloat16"]


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
    gopher = gopher or _trainer(config, batch)
    rows = []
    for choice, baseline, changes in [
        ("relative attention", "absolute positions", {"position": "absolute"}),
        ("RMSNorm", "LayerNorm", {"norm": "layer"}),
    ]:
        other = _trainer(config.replace(**changes), batch)
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
        trainers, compile_s = [], []
        for scan in (True, False):
            shape = config.replace(n_layers=depth, scan_layers=scan)
            trainer = Trainer(shape, TrainConfig(batch_size=batch_size, seq_len=seq_len))
            compile_s.append(trainer.compile(batch))
            jax.block_until_ready(trainer.train_step(batch))
            trainers.append(trainer)
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


def _median_seconds(fn: Callable[[], object], reps: int) -> float:
    """Median wall time of ``fn`` over ``reps`` calls after one warm-up (compiling) call."""
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def decoding_speed(
    config: ModelConfig, contexts: tuple[int, ...], new_tokens: int, reps: int
) -> list[dict[str, Any]]:
    """Greedy decoding tokens/s with the KV cache and with full recomputation per token.

    The prompt is ``context - new_tokens`` tokens, so the last token sees ``context``
    positions. Relative attention has no position table, so contexts beyond the preset's
    ``max_seq_len`` are valid.

    Args:
      config: A relative-attention model shape (one prompt row).
      contexts: Total lengths, prompt plus continuation.
      new_tokens: Tokens generated per call.
      reps: Timed calls per method and context.

    Returns:
      One row per context: both speeds and their ratio, and the cached call split into the
      prefill (a call for one new token, same cache size, so no new compilation) and the
      time per further token.
    """
    model = GopherLM(config, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(0)
    rows = []
    for context in contexts:
        prompt = rng.integers(0, config.vocab_size, context - new_tokens).tolist()
        cached_s, prefill_s = (
            _median_seconds(
                functools.partial(generate, model, prompt, n, temperature=0, max_len=context),
                reps,
            )
            for n in (new_tokens, 1)
        )
        uncached_s = _median_seconds(
            functools.partial(generate_uncached, model, prompt, new_tokens, temperature=0), reps
        )
        rows.append(
            {
                "context": context,
                "new_tokens": new_tokens,
                "cached_tokens_per_s": new_tokens / cached_s,
                "cached_prefill_s": prefill_s,
                "cached_step_ms": 1e3 * max(cached_s - prefill_s, 1e-9) / (new_tokens - 1),
                "uncached_tokens_per_s": new_tokens / uncached_s,
                "speedup": uncached_s / cached_s,
            }
        )
    return rows


def tokenizer_speed(vocab_size: int, max_chars: int | None) -> dict[str, Any]:
    """SentencePiece training time and encoding throughput on the embedded training corpus.

    Encoding goes one document at a time, as `gopherlite.data.batches` does.

    Args:
      vocab_size: Pieces to train.
      max_chars: Train and encode only the first documents up to this many characters
        (None: the whole training split).

    Returns:
      Corpus megabytes, training seconds, encoding MB/s and tokens per byte.
    """
    texts = []
    chars = 0
    for document in default_documents("train"):
        if max_chars is not None and chars >= max_chars:
            break
        texts.append(document.text)
        chars += len(document.text)
    num_bytes = sum(len(text.encode("utf-8")) for text in texts)
    start = time.perf_counter()
    tokenizer = Tokenizer.train("\n\n".join(texts), vocab_size=vocab_size)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    tokens = sum(len(tokenizer.encode(text)) for text in texts)
    encode_s = time.perf_counter() - start
    return {
        "vocab_size": vocab_size,
        "corpus_mb": num_bytes / 1e6,
        "train_s": train_s,
        "encode_mb_per_s": num_bytes / 1e6 / encode_s,
        "tokens_per_byte": tokens / num_bytes,
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare the results with the targets.

    Args:
      results: `run` output without ``targets``.

    Returns:
      One row per target: its name, the measured value, the threshold and whether it was met.
    """
    tiny_mfu = next(
        r["mfu_fp32_peak"]
        for r in results["training"]
        if r["model"] == "tiny" and r["precision"] == "fp32"
    )
    relative = next(
        r["ratio"] for r in results["architecture"] if r["choice"] == "relative attention"
    )
    longest = max(results["decoding"], key=lambda r: r["context"])
    return [
        {
            "target": "tiny fp32 train-step MFU ≥ 40% of the float32 matmul peak",
            "value": tiny_mfu,
            "threshold": TARGET_TINY_MFU,
            "reached": tiny_mfu >= TARGET_TINY_MFU,
        },
        {
            "target": "relative attention step ≤ 1.10× absolute positions",
            "value": relative,
            "threshold": TARGET_RELATIVE_RATIO,
            "reached": relative <= TARGET_RELATIVE_RATIO,
        },
        {
            "target": f"cached decoding ≥ 10× recomputation at context {longest['context']}",
            "value": longest["speedup"],
            "threshold": TARGET_DECODE_SPEEDUP,
            "reached": longest["speedup"] >= TARGET_DECODE_SPEEDUP,
        },
    ]


def run(quick: bool) -> dict[str, Any]:
    """Run every benchmark.

    Args:
      quick: Smoke-sized shapes and few repetitions (well under a minute); the numbers only
        show that everything runs.

    Returns:
      ``machine``, ``quick``, ``peak_flops`` (with ``peak_flops_start`` and
      ``peak_flops_end``, the two measurements it is the best of), ``training``,
      ``architecture``, ``scan``, ``decoding``, ``tokenizer``, ``targets`` and ``seconds``
      (wall time of the whole run).
    """
    s = SETTINGS[quick]
    start = time.perf_counter()
    results: dict[str, Any] = {"machine": machine_info(), "quick": quick}
    peaks_start = matmul_peaks(s["matmul_size"], s["matmul_repeats"])
    results["training"] = []
    for name, shape in s["training"].items():
        rows, trainers = training_throughput(name, *shape, reps=s["train_reps"])
        results["training"] += rows
        if name == "tiny":
            tiny_fp32 = trainers["fp32"]
        del trainers  # free the larger shapes' state before the next benchmark
    tiny = s["training"]["tiny"]
    results["architecture"] = architecture_costs(*tiny, reps=s["ablation_reps"], gopher=tiny_fp32)
    del tiny_fp32
    results["scan"] = scan_costs(*tiny, reps=s["ablation_reps"], depths=s["scan_depths"])
    results["decoding"] = decoding_speed(
        tiny[0], s["decode_contexts"], s["decode_new_tokens"], s["decode_reps"]
    )
    results["tokenizer"] = tokenizer_speed(s["tokenizer_vocab"], s["tokenizer_chars"])
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


def format_table(results: dict[str, Any]) -> str:
    """Render `run`'s results as Markdown tables.

    Args:
      results: `run` output.

    Returns:
      The tables, one per section, with the machine line first and the targets last.
    """
    m = results["machine"]
    peaks = results["peak_flops"]
    lines = [
        f"{'Quick (smoke-sized) run' if results['quick'] else 'Full run'} on {m['platform']}, "
        f"{m['cpu_count']} cores, devices {', '.join(m['devices'])}; jax {m['jax']}, "
        f"flax {m['flax']}; {m['date']}; 1-minute load average {m['loadavg_1min']:.2f} at the "
        f"start, {m['loadavg_1min_end']:.2f} at the end; {results['seconds']:.0f} s in all.",
        "",
        "| matmul peak | GFLOP/s (best) | at start | at end |",
        "|---|---:|---:|---:|",
        *(
            f"| {dtype} | {flops / 1e9:.1f} | {results['peak_flops_start'][dtype] / 1e9:.1f} "
            f"| {results['peak_flops_end'][dtype] / 1e9:.1f} |"
            for dtype, flops in peaks.items()
        ),
        "",
        "| training | precision | params | B × L | step s | tokens/s | MFU (fp32 peak) "
        "| MFU (bf16 peak) |",
        "|---|---|---:|---|---:|---:|---:|---:|",
        *(
            f"| {r['model']} | {r['precision']} | {r['params'] / 1e6:.2f}M "
            f"| {r['batch_size']} × {r['seq_len']} | {r['step_s']:.4f} "
            f"| {r['tokens_per_s']:.0f} | {r['mfu_fp32_peak']:.1%} | {r['mfu_bf16_peak']:.1%} |"
            for r in results["training"]
        ),
        "",
        "| Gopher's choice (tiny train step) | baseline | choice step s | baseline step s "
        "| median ratio |",
        "|---|---|---:|---:|---:|",
        *(
            f"| {r['choice']} | {r['baseline']} | {r['choice_step_s']:.4f} "
            f"| {r['baseline_step_s']:.4f} | {r['ratio']:.3f}× |"
            for r in results["architecture"]
        ),
        "",
        "| scan over layers: n_layers | compile s scanned | compile s unrolled "
        "| step s scanned | step s unrolled | median step ratio |",
        "|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['n_layers']} | {r['scanned_compile_s']:.2f} | {r['unrolled_compile_s']:.2f} "
            f"| {r['scanned_step_s']:.4f} | {r['unrolled_step_s']:.4f} | {r['step_ratio']:.3f}× |"
            for r in results["scan"]
        ),
        "",
        "| decoding context | new tokens | cached tokens/s | cached prefill s "
        "| cached ms/token after prefill | uncached tokens/s | speedup |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['context']} | {r['new_tokens']} | {r['cached_tokens_per_s']:.1f} "
            f"| {r['cached_prefill_s']:.4f} | {r['cached_step_ms']:.2f} "
            f"| {r['uncached_tokens_per_s']:.1f} | {r['speedup']:.1f}× |"
            for r in results["decoding"]
        ),
        "",
        "| tokenizer vocab | corpus MB | train s | encode MB/s | tokens/byte |",
        "|---:|---:|---:|---:|---:|",
        "| {vocab_size} | {corpus_mb:.2f} | {train_s:.2f} | {encode_mb_per_s:.2f} "
        "| {tokens_per_byte:.3f} |".format(**results["tokenizer"]),
        "",
        "| target | measured | reached |",
        "|---|---:|---|",
        *(
            f"| {t['target']} | {t['value']:.3f} | {'yes' if t['reached'] else 'MISSED'} |"
            for t in results["targets"]
        ),
    ]
    return "\n".join(lines)
