"""Five precision policies trained side by side: Gopher's bfloat16 comparison (G Sec. 3.2, App. C).

Every policy of `gopherlite.precision.POLICIES` trains the tiny preset from the same initial
weights (one seed) on the same batches; more float32 runs from other initial weights measure how
far equally good runs land apart (the noise). The runs take their steps in
turn, each step timed on its own and the order rotated every step, so every policy's step time
is measured under the same contention from other work on the machine. Reported per policy:
the training-loss curve, held-out bits per byte (curve and final), memory per parameter
(`gopherlite.costs.bytes_per_parameter`) and the median step time.

Usage::

  python benchmarks/precision.py           # full run, writes benchmarks/results/precision.*
  python benchmarks/precision.py --quick   # smoke run in about a minute, writes nothing

Gopher App. C: bfloat16 parameters with stochastic rounding did not fully recover float32
training; a float32 master copy of the parameters kept in the optimizer state did. The default
learning rate here is Gopher's own for its 1.4B model (2e-4), ten times below the tiny
preset's 3e-3: at the tiny preset's rate most updates are larger than bfloat16's resolution of
the weights and rounding to nearest loses little; at Gopher's rates they are not.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import platform
import sys
import time

import jax
import numpy as np

from gopherlite.batches import BatchIterator, PackedWindows, pack_documents
from gopherlite.config import PRESETS
from gopherlite.costs import bytes_per_parameter
from gopherlite.evaluate import evaluate
from gopherlite.precision import POLICIES
from gopherlite.runs import load_documents
from gopherlite.tokenizer import Tokenizer
from gopherlite.train import TrainConfig, Trainer

REPO = pathlib.Path(__file__).resolve().parents[1]
TOKENIZER = REPO / "data" / "tokenizer_4k.model"
RESULTS = REPO / "benchmarks" / "results" / "precision"
FULL = {"steps": 400, "batch_size": 8, "eval_every": 50, "heldout_windows": 0}
QUICK = {"steps": 6, "batch_size": 4, "eval_every": 3, "heldout_windows": 8}


@dataclasses.dataclass
class Run:
    """One training run of the comparison and what it measured."""

    name: str
    policy: str
    seed: int
    trainer: Trainer
    losses: list[float] = dataclasses.field(default_factory=list)
    step_seconds: list[float] = dataclasses.field(default_factory=list)
    heldout: list[tuple[int, float]] = dataclasses.field(default_factory=list)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: a few steps, no files")
    p.add_argument("--steps", type=int, help=f"steps per run (full {FULL['steps']})")
    p.add_argument("--batch-size", type=int, help=f"windows per step (full {FULL['batch_size']})")
    p.add_argument("--learning-rate", type=float, default=2e-4, help="peak learning rate")
    p.add_argument("--eval-every", type=int, help="steps between held-out evaluations")
    p.add_argument("--heldout-windows", type=int, help="held-out windows scored (0: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of every policy's run")
    p.add_argument(
        "--noise-seeds", type=int, nargs="+", default=[1, 2], help="seeds of extra float32 runs"
    )
    p.add_argument("--out", type=pathlib.Path, help="write OUT.json and OUT.md")
    args = p.parse_args()
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None and not args.quick:
        args.out = RESULTS
    return args


def load_data(seq_len: int, heldout_windows: int) -> tuple[PackedWindows, PackedWindows, float]:
    """Training and held-out windows of the embedded corpus with the committed tokenizer."""
    tokenizer = Tokenizer.load(TOKENIZER)
    train_docs, heldout_docs = load_documents(None)
    train = pack_documents(tokenizer, train_docs, seq_len)
    heldout = pack_documents(tokenizer, heldout_docs, seq_len)
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
    return train, heldout, train.num_bytes / train.num_tokens


def make_runs(args: argparse.Namespace, seq_len: int) -> list[Run]:
    """One trainer per policy (same seed) and a float32 trainer per noise seed."""
    specs = [(name, name, args.seed) for name in POLICIES]
    specs += [(f"fp32_seed{seed}", "fp32", seed) for seed in args.noise_seeds]
    runs = []
    for name, policy, seed in specs:
        config = TrainConfig(
            steps=args.steps,
            batch_size=args.batch_size,
            seq_len=seq_len,
            learning_rate=args.learning_rate,
            seed=seed,
            precision=policy,
        )
        runs.append(Run(name, policy, seed, Trainer(PRESETS["tiny"], config)))
    return runs


def heldout_bpb(run: Run, heldout: PackedWindows) -> float:
    return evaluate(run.trainer.model, heldout, batch_size=16).bits_per_byte


def train_side_by_side(
    runs: list[Run], train: PackedWindows, heldout: PackedWindows, args: argparse.Namespace
) -> tuple[float, list[tuple[int, float]]]:
    """Step every run on the same batches in rotating order.

    Returns:
      Compile seconds, and the 1-minute load average at each evaluation.
    """
    batches = BatchIterator(train, args.batch_size, seed=args.seed)
    first = next(batches)
    compile_start = time.perf_counter()
    for run in runs:
        run.trainer.compile(first)
    compile_seconds = time.perf_counter() - compile_start
    batch, loadavg = first, []
    for step in range(1, args.steps + 1):
        shift = step % len(runs)
        for run in runs[shift:] + runs[:shift]:
            start = time.perf_counter()
            metrics = jax.block_until_ready(run.trainer.train_step(batch))
            run.step_seconds.append(time.perf_counter() - start)
            run.losses.append(float(metrics["loss"]))
        if step % args.eval_every == 0 or step == args.steps:
            loadavg.append((step, os.getloadavg()[0]))
            for run in runs:
                run.heldout.append((step, heldout_bpb(run, heldout)))
            summary = ", ".join(f"{r.name} {r.heldout[-1][1]:.4f}" for r in runs)
            print(f"step {step}: held-out bpb {summary}", flush=True)
        batch = next(batches)
    return compile_seconds, loadavg


def summarise(runs: list[Run], bytes_per_token: float) -> list[dict]:
    """One row per run: final held-out bpb, late training loss, bytes/param, step time."""
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
                "final_train_bpb": float(np.mean(late)) / math.log(2) / bytes_per_token,
                "bytes_per_parameter": bytes_per_parameter(run.policy),
                "step_seconds_median": float(np.median(seconds)),
                "step_seconds_iqr": [float(q) for q in np.percentile(seconds, [25, 75])],
            }
        )
    return rows


def verdict(rows: list[dict]) -> dict:
    """The ordering by held-out bpb, the seed noise, and how they compare with Gopher App. C.

    The noise σ is the standard deviation of the final held-out bpb over the float32 runs
    (seed ``--seed`` and the noise seeds); a difference between two single runs has standard
    deviation √2·σ. "Within noise" means within 2·√2·σ, "clearly worst" last by more than
    3·√2·σ.
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
    """The measured ordering read against Gopher App. C's finding."""
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


def markdown(result: dict) -> str:
    """A short summary: settings, the table, the ordering against the noise, plot data."""
    s, v, m = result["settings"], result["verdict"], result["machine"]
    seeds = ", ".join(str(seed) for seed in s["noise_seeds"])
    lines = [
        "# Precision policies on the tiny preset (Gopher G Sec. 3.2, App. C)",
        "",
        f"Written by `python benchmarks/precision.py {' '.join(s['argv'])}` on {m['when']}. "
        f"Tiny preset, {s['steps']} steps of {s['batch_size']} × {s['seq_len']} tokens, peak "
        f"learning rate {s['learning_rate']:g} (warm-up {s['warmup_steps']} steps, cosine to "
        f"10%), Adam, seed {s['seed']} for every policy (same initial weights, same batches); "
        f"`fp32_seed*` are float32 runs from other initial weights (seeds {seeds}) on the same "
        f"batches, to show the noise. Held-out: {s['heldout_windows']} windows of the embedded "
        "corpus's held-out split.",
        "",
        "| run | held-out bpb | train loss (last 10%) | bytes/param | step time (s, median) |",
        "|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['run']} | {r['final_heldout_bpb']:.4f} | {r['final_train_loss']:.4f} | "
            f"{r['bytes_per_parameter']['total']} | {r['step_seconds_median']:.3f} |"
        )
    gaps = ", ".join(f"{n} {d:+.4f}" for n, d in v["minus_fp32_bpb"].items() if n != "fp32")
    lines += [
        "",
        f"Ordering by held-out bpb (best first): {' < '.join(v['ordering_best_first'])}.",
        f"Held-out bpb minus fp32's: {gaps}. Noise: the float32 runs' seed-to-seed standard "
        f"deviation times √2 (the spread of a difference of two runs) is "
        f"{v['sigma_diff_bpb']:.4f} bpb.",
        f"bf16_rne clearly worst (last, by more than 3 × that): {v['rne_clearly_worst']} "
        f"(by {v['rne_minus_next_worst_bpb']:+.4f}). bf16_master within the noise of fp32 "
        f"(within 2 × that): {v['master_within_noise_of_fp32']}.",
        "",
        reading(v),
        "",
        "Bytes per parameter: parameters, float32 master copy, Adam's two float32 moments and "
        "gradients, unsharded (`gopherlite.costs.bytes_per_parameter`).",
        f"Step times: {m['backend']} with {m['cpu_count']} cores shared with other jobs; 1-minute "
        f"load average {m['loadavg_start'][0]:.2f} at the start, "
        + ", ".join(f"{x:.2f}" for _, x in m["loadavg_during"])
        + " at the evaluations. The runs took their steps in rotating order, so contention hit "
        "all alike: compare them with each other, not with other machines.",
        "",
        "## Held-out bits per byte during training (plot data)",
        "",
        "| step | " + " | ".join(r["run"] for r in result["rows"]) + " |",
        "|---|" + "---|" * len(result["rows"]),
    ]
    curves = [result["curves"][r["run"]]["heldout_bpb"] for r in result["rows"]]
    for i, (step, _) in enumerate(curves[0]):
        lines.append(f"| {step} | " + " | ".join(f"{c[i][1]:.4f}" for c in curves) + " |")
    lines += ["", "Per-step training losses are in the JSON file under `curves`.", ""]
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    loadavg_start = os.getloadavg()
    seq_len = PRESETS["tiny"].max_seq_len
    train, heldout, bytes_per_token = load_data(seq_len, args.heldout_windows)
    runs = make_runs(args, seq_len)
    start = time.perf_counter()
    compile_seconds, loadavg_during = train_side_by_side(runs, train, heldout, args)
    rows = summarise(runs, bytes_per_token)
    result = {
        "settings": {
            "preset": "tiny",
            "steps": args.steps,
            "batch_size": args.batch_size,
            "seq_len": seq_len,
            "learning_rate": args.learning_rate,
            "warmup_steps": runs[0].trainer.train_config.resolved_warmup(),
            "seed": args.seed,
            "noise_seeds": args.noise_seeds,
            "argv": sys.argv[1:],
            "heldout_windows": len(heldout),
            "quick": args.quick,
        },
        "machine": {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "jax": jax.__version__,
            "backend": jax.default_backend(),
            "loadavg_start": list(loadavg_start),
            "loadavg_during": loadavg_during,
            "compile_seconds": compile_seconds,
            "train_and_eval_seconds": time.perf_counter() - start,
        },
        "rows": rows,
        "verdict": verdict(rows),
        "curves": {r.name: {"train_loss": r.losses, "heldout_bpb": r.heldout} for r in runs},
    }
    summary = markdown(result)
    print(summary)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
        args.out.with_suffix(".md").write_text(summary)
        print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
