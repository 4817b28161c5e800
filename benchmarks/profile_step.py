"""Profile one train step op by op: where the time goes before anything is optimised.

Compiles the train step of a preset (default: the tiny preset at the benchmark's 16 × 128
batch), warms it up, records a few steps with JAX's profiler and prints the time by kind of
op (matrix multiplications, copies and transposes, other fused work) and the slowest ops with
the JAX operation each came from. See `gopherlite.bench.profiling`.

Usage::

  python benchmarks/profile_step.py                       # tiny, fp32, 16 × 128
  python benchmarks/profile_step.py --precision mixed --top 30
  python benchmarks/profile_step.py --out benchmarks/results/profile_tiny.md
"""

from __future__ import annotations

import argparse
import os
import pathlib

from gopherlite.bench import machine_info, random_batch, warm_trainer
from gopherlite.bench.profiling import format_profile, profile_step, summarize
from gopherlite.config import get_preset


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="tiny")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--precision", default="fp32")
    p.add_argument("--scan-layers", action="store_true")
    p.add_argument("--steps", type=int, default=5, help="profiled steps")
    p.add_argument("--top", type=int, default=20, help="slowest ops listed")
    p.add_argument("--out", type=pathlib.Path, help="also write the report here (Markdown)")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    config = get_preset(args.preset).replace(scan_layers=args.scan_layers)
    batch = random_batch(config.vocab_size, args.batch_size, args.seq_len)
    trainer, _ = warm_trainer(config, batch, args.precision)
    trainer.timed_step(batch)
    machine = machine_info()
    ops = profile_step(lambda: trainer.train_step(batch), trainer.compiled_text(), args.steps)
    total = summarize(ops)["total"]
    header = (
        f"# Train-step profile: {args.preset}, {args.precision}, {args.batch_size} × "
        f"{args.seq_len}{', scan_layers' if args.scan_layers else ''}\n\n"
        f"{machine['date']}; {machine['platform']}, {machine['cpu_count']} cores; jax "
        f"{machine['jax']}; 1-minute load average {machine['loadavg_1min']:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after. {args.steps} steps profiled; all ops together "
        f"{total:.1f} ms per step.\n"
    )
    report = header + "\n" + format_profile(ops, args.top) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
