"""Five precision policies trained side by side: Gopher's bfloat16 comparison (G Sec. 3.2, App. C).

The comparison itself lives in `gopherlite.workbook.experiments.precision_study` (chapter 06
runs a shorter one);
this script sizes it, records the machine, and writes the results. Every policy of
`gopherlite.precision.POLICIES` trains the tiny preset from the same initial
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
import json
import os
import pathlib
import platform
import sys
import time
from collections.abc import Sequence

import jax

from gopherlite.config import PRESETS
from gopherlite.workbook.experiments.precision_study import (
    Run,
    load_data,
    make_runs,
    reading,
    summarise,
    train_side_by_side,
    verdict,
)

REPO = pathlib.Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "precision"
FULL = {"steps": 400, "batch_size": 8, "eval_every": 50, "heldout_windows": 0}
QUICK = {"steps": 6, "batch_size": 4, "eval_every": 3, "heldout_windows": 8}


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


def print_evaluation(step: int, runs: Sequence[Run]) -> None:
    """One progress line per evaluation: every run's held-out bits per byte."""
    summary = ", ".join(f"{r.name} {r.heldout[-1][1]:.4f}" for r in runs)
    print(f"step {step}: held-out bpb {summary}", flush=True)


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
    runs = make_runs(
        steps=args.steps,
        batch_size=args.batch_size,
        seq_len=seq_len,
        learning_rate=args.learning_rate,
        seed=args.seed,
        noise_seeds=args.noise_seeds,
    )
    start = time.perf_counter()
    compile_seconds, loadavg_during = train_side_by_side(
        runs,
        train,
        heldout,
        steps=args.steps,
        batch_size=args.batch_size,
        eval_every=args.eval_every,
        seed=args.seed,
        on_eval=print_evaluation,
    )
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
