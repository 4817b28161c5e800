"""The five precision policies trained side by side (Gopher G Sec. 3.2, App. C).

Gopher compared float32 training with bfloat16 parameters updated by round-to-nearest, by
stochastic rounding, and with a float32 master copy of the parameters kept in the (sharded)
optimizer state (App. C). This module runs that comparison on a small model, for chapter 06
of the workbook and for ``benchmarks/precision.py``:

* `load_data` packs the embedded corpus's training and held-out splits;
* `make_runs` builds one `gopherlite.train.Trainer` per policy (same seed, so the same initial
  weights) plus float32 "noise" runs from other seeds;
* `train_side_by_side` steps every run on the same batches, in an order rotated every step so
  contention from other work on the machine hits every policy alike, timing each step and
  scoring held-out bits per byte now and then;
* `summarise`, `verdict` and `reading` turn the runs into table rows, the ordering against the
  seed-to-seed noise, and one paragraph read against Gopher's finding.

Example::

    train, heldout, bytes_per_token = load_data(128, heldout_windows=32)
    runs = make_runs(steps=100, batch_size=8, seq_len=128)
    train_side_by_side(runs, train, heldout, steps=100, batch_size=8, eval_every=25)
    rows = summarise(runs, bytes_per_token)
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import time
from collections.abc import Callable, Sequence

import numpy as np

from gopherlite.config import PRESETS, ModelConfig
from gopherlite.costs import bytes_per_parameter
from gopherlite.data.batches import BatchIterator, PackedWindows
from gopherlite.evaluate import bits_per_byte, evaluate
from gopherlite.precision import POLICIES
from gopherlite.train import TrainConfig, Trainer
from gopherlite.workbook.experiments.variants import load_experiment_data

# Gopher's peak learning rate for its 1.4B model (G Table 1): small enough that many Adam
# updates fall below half a bfloat16 step of the weights, which is where the policies differ.
GOPHER_LEARNING_RATE = 2e-4


@dataclasses.dataclass
class Run:
    """One training run of the comparison and what it measured.

    Attributes:
      name: The run's label (a policy name, or ``fp32_seed<k>`` for a noise run).
      policy: Its precision policy, a key of `gopherlite.precision.POLICIES`.
      seed: Seed of its initial weights and of its stochastic rounding.
      trainer: The trainer holding its state.
      losses: Training loss of every step (nats per token).
      step_seconds: Wall-clock seconds of every step.
      heldout: ``(step, held-out bits per byte)`` at each evaluation.
    """

    name: str
    policy: str
    seed: int
    trainer: Trainer
    losses: list[float] = dataclasses.field(default_factory=list)
    step_seconds: list[float] = dataclasses.field(default_factory=list)
    heldout: list[tuple[int, float]] = dataclasses.field(default_factory=list)


def load_data(
    seq_len: int, heldout_windows: int = 0, tokenizer_path: str | pathlib.Path | None = None
) -> tuple[PackedWindows, PackedWindows, float]:
    """Training and held-out windows of the embedded corpus.

    Args:
      seq_len: Window length.
      heldout_windows: Keep only the first this many held-out windows (0: all). The byte count
        is scaled by the kept share of the targets, so bits per byte stay defined.
      tokenizer_path: A SentencePiece model; None for the repository's ``data/tokenizer_4k.model``
        (or, where the package is installed without it, the same tokenizer trained afresh).

    Returns:
      ``(train, heldout, bytes_per_token)``, the last over the training split (to turn a
      training loss in nats per token into bits per byte).
    """
    data = load_experiment_data(seq_len, tokenizer_path=tokenizer_path)
    train, heldout = data.train, data.heldout
    if heldout_windows:
        # Bits per byte of a prefix: scale its byte count by its share of the targets.
        keep = slice(0, heldout_windows)
        share = heldout.weights_NxL[keep].sum() / heldout.weights_NxL.sum()
        heldout = PackedWindows(
            heldout.inputs_NxL[keep],
            heldout.targets_NxL[keep],
            heldout.weights_NxL[keep],
            round(heldout.num_bytes * share),
        )
    return train, heldout, data.bytes_per_token


def make_runs(
    *,
    steps: int,
    batch_size: int,
    seq_len: int,
    learning_rate: float = GOPHER_LEARNING_RATE,
    seed: int = 0,
    noise_seeds: Sequence[int] = (),
    policies: Sequence[str] = tuple(POLICIES),
    model_config: ModelConfig | None = None,
) -> list[Run]:
    """One trainer per policy (all with ``seed``) and a float32 trainer per noise seed.

    Every policy starts from the same weights (`gopherlite.precision.init_model` draws bfloat16
    weights in float32 and rounds them), so the runs differ only in how they store and update
    the parameters.

    Args:
      steps: Steps per run (sets the learning-rate schedule).
      batch_size: Windows per step.
      seq_len: Tokens per window.
      learning_rate: Peak learning rate (default: Gopher's 1.4B rate, 2e-4).
      seed: Seed of every policy's run.
      noise_seeds: Seeds of extra float32 runs, to measure seed-to-seed noise.
      policies: Which policies to run (default: all five, in `POLICIES` order).
      model_config: The model; None for the ``"tiny"`` preset.

    Returns:
      The runs, policies first, in order.
    """
    model_config = model_config or PRESETS["tiny"]
    specs = [(name, name, seed) for name in policies]
    specs += [(f"fp32_seed{s}", "fp32", s) for s in noise_seeds]
    runs = []
    for name, policy, run_seed in specs:
        config = TrainConfig(
            steps=steps,
            batch_size=batch_size,
            seq_len=seq_len,
            learning_rate=learning_rate,
            seed=run_seed,
            precision=policy,
        )
        runs.append(Run(name, policy, run_seed, Trainer(model_config, config)))
    return runs


def heldout_bpb(run: Run, heldout: PackedWindows) -> float:
    """Held-out bits per byte of a run's current model.

    Args:
      run: The run.
      heldout: Held-out windows with a byte count.

    Returns:
      Bits per byte.
    """
    return evaluate(run.trainer.model, heldout, batch_size=16).bits_per_byte


def train_side_by_side(
    runs: Sequence[Run],
    train: PackedWindows,
    heldout: PackedWindows,
    *,
    steps: int,
    batch_size: int,
    eval_every: int,
    seed: int = 0,
    on_eval: Callable[[int, Sequence[Run]], None] | None = None,
) -> tuple[float, list[tuple[int, float]]]:
    """Step every run on the same batches in rotating order, scoring held-out text now and then.

    Each step of each run is timed on its own; the order of the runs shifts by one every step,
    so a burst of load from other work falls on every policy alike. Losses, step times and
    held-out scores are appended to the runs.

    Args:
      runs: From `make_runs` (each with ``steps`` and ``batch_size`` matching these).
      train: Training windows.
      heldout: Held-out windows (with a byte count).
      steps: Steps per run.
      batch_size: Windows per step.
      eval_every: Steps between held-out evaluations (the last step is always scored).
      seed: Seed of the batch order.
      on_eval: Called as ``on_eval(step, runs)`` after each evaluation (e.g. to print).

    Returns:
      Seconds spent compiling, and the 1-minute load average at each evaluation as
      ``(step, load)`` pairs.
    """
    batches = BatchIterator(train, batch_size, seed=seed)
    first = next(batches)
    compile_start = time.perf_counter()
    for run in runs:
        run.trainer.compile(first)
    compile_seconds = time.perf_counter() - compile_start
    runs = list(runs)
    batch, loadavg = first, []
    for step in range(1, steps + 1):
        shift = step % len(runs)
        for run in runs[shift:] + runs[:shift]:
            metrics, seconds = run.trainer.timed_step(batch)
            run.step_seconds.append(seconds)
            run.losses.append(float(metrics["loss"]))
        if step % eval_every == 0 or step == steps:
            loadavg.append((step, os.getloadavg()[0]))
            for run in runs:
                run.heldout.append((step, heldout_bpb(run, heldout)))
            if on_eval is not None:
                on_eval(step, runs)
        batch = next(batches)
    return compile_seconds, loadavg


def summarise(runs: Sequence[Run], bytes_per_token: float) -> list[dict]:
    """One row per run: final held-out bpb, late training loss, bytes/param, step time.

    Args:
      runs: Trained runs.
      bytes_per_token: UTF-8 bytes per training token (from `load_data`).

    Returns:
      Rows with ``run``, ``policy``, ``seed``, ``final_heldout_bpb``, ``final_train_loss``
      (mean of the last 10% of the steps), ``final_train_bpb``, ``bytes_per_parameter`` (from
      `gopherlite.costs.bytes_per_parameter`), ``step_seconds_median`` and
      ``step_seconds_iqr`` (the first two steps are left out as warm-up).
    """
    rows = []
    for run in runs:
        late = run.losses[-max(1, len(run.losses) // 10) :]  # last 10% of the steps
        seconds = np.asarray(run.step_seconds[min(2, len(run.step_seconds) - 1) :])
        rows.append(
            {
                "run": run.name,
                "policy": run.policy,
                "seed": run.seed,
                "final_heldout_bpb": run.heldout[-1][1],
                "final_train_loss": float(np.mean(late)),
                "final_train_bpb": bits_per_byte(float(np.mean(late)), 1, bytes_per_token),
                "bytes_per_parameter": bytes_per_parameter(run.policy),
                "step_seconds_median": float(np.median(seconds)),
                "step_seconds_iqr": [float(q) for q in np.percentile(seconds, [25, 75])],
            }
        )
    return rows


def verdict(rows: Sequence[dict]) -> dict:
    """The ordering by held-out bpb, the seed noise, and how they compare with Gopher App. C.

    The noise σ is the standard deviation of the final held-out bpb over the float32 runs
    (the policies' seed and the noise seeds); a difference between two single runs has standard
    deviation √2·σ. "Within noise" means within 2·√2·σ, "clearly worst" last by more than
    3·√2·σ. With a single float32 run σ is unknown and taken as 0.

    Args:
      rows: From `summarise`, with one row for each of the five policies.

    Returns:
      ``ordering_best_first``, ``fp32_seed_runs_bpb``, ``sigma_diff_bpb`` (√2·σ),
      ``minus_fp32_bpb`` per policy, ``rne_minus_next_worst_bpb``, ``rne_clearly_worst`` and
      ``master_within_noise_of_fp32``.
    """
    final = {r["run"]: r["final_heldout_bpb"] for r in rows}
    fp32_runs = [r["final_heldout_bpb"] for r in rows if r["policy"] == "fp32"]
    sigma_diff = math.sqrt(2) * float(np.std(fp32_runs, ddof=1)) if len(fp32_runs) > 1 else 0.0
    ordering = sorted(POLICIES, key=final.__getitem__)
    rne_gap = final["bf16_rne"] - max(final[n] for n in POLICIES if n != "bf16_rne")
    return {
        "ordering_best_first": ordering,
        "fp32_seed_runs_bpb": fp32_runs,
        "sigma_diff_bpb": sigma_diff,
        "minus_fp32_bpb": {n: final[n] - final["fp32"] for n in POLICIES},
        "rne_minus_next_worst_bpb": rne_gap,
        "rne_clearly_worst": ordering[-1] == "bf16_rne" and rne_gap > 3 * sigma_diff,
        "master_within_noise_of_fp32": abs(final["bf16_master"] - final["fp32"]) <= 2 * sigma_diff,
    }


def reading(v: dict) -> str:
    """The measured ordering read against Gopher App. C's finding.

    Args:
      v: From `verdict`.

    Returns:
      One paragraph of plain text.
    """
    sr, band = v["minus_fp32_bpb"]["bf16_sr"], 2 * v["sigma_diff_bpb"]
    master = "matches" if v["master_within_noise_of_fp32"] else "does not match"
    rne = (
        "is clearly worst: without a master copy or stochastic rounding, updates smaller than "
        "half a bfloat16 step of the weight they update are rounded away"
        if v["rne_clearly_worst"]
        else "is not clearly worse than the rest: the seed-to-seed noise hides it"
    )
    sr_read = (
        "within the noise, so this run cannot resolve the small gap Gopher saw"
        if abs(sr) <= band
        else ("behind fp32 beyond the noise, as in Gopher" if sr > 0 else "ahead of fp32")
    )
    return (
        "Against Gopher App. C (bfloat16 parameters plus a float32 master copy in the optimizer "
        "state matched float32 everywhere; stochastic rounding did not fully recover it): here "
        f"bf16_master {master} fp32; bf16_sr is {sr:+.4f} bpb from fp32, {sr_read}; bf16_rne "
        f"{rne}."
    )
