"""``python -m gopherlite eval``: held-out bits per byte (all, or by source) and choice accuracy."""

from __future__ import annotations

import argparse
import json
import pathlib


def positive_int(text: str) -> int:
    """An argparse type: a positive integer, or the usage line's error."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="held-out loss, perplexity and bits per byte of a checkpoint",
        description="Evaluate a run's checkpoint on the held-out text: loss (nats/token), "
        "perplexity, bits per byte, and the tokenizer's unigram bits per byte on the same text. "
        "--by-source scores each source group on its own (Gopher's per-subset table); "
        "--choices scores multiple-choice items by log-likelihood.",
    )
    p.add_argument("--checkpoint", required=True, type=pathlib.Path, help="run folder (--out)")
    p.add_argument("--step", type=int, help="checkpoint step (default: latest)")
    p.add_argument("--seq-len", type=positive_int, help="window (default: training context)")
    p.add_argument("--batch-size", type=positive_int, default=8)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--choices",
        type=pathlib.Path,
        help="score multiple-choice items from a JSON-lines file instead "
        '({"context": ..., "choices": [...], "answer": i} per line; gopherlite.choices)',
    )
    mode.add_argument(
        "--by-source",
        action="store_true",
        help="one line per source group: the name before ':' in the embedded corpus, the "
        "parent folder for your own files (gopherlite.evaluate.source_of)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_eval)


def _print(report: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        print(f"{key:>22}: {value:.4f}" if isinstance(value, float) else f"{key:>22}: {value}")


def _eval(args: argparse.Namespace) -> None:
    from gopherlite.runs import evaluate_run, evaluate_run_by_source, load_run

    run = load_run(args.checkpoint, args.step)
    step = run.meta["step"]
    if args.choices is not None:
        from gopherlite.choices import choice_accuracy, load_choice_items

        items = load_choice_items(args.choices)
        accuracy = choice_accuracy(run.model, run.tokenizer, items)
        chance = sum(1 / len(item.choices) for item in items) / len(items)
        _print({"step": step, "items": len(items), "accuracy": accuracy, "chance": chance},
               args.json)  # fmt: skip
    elif args.by_source:
        results = evaluate_run_by_source(run, seq_len=args.seq_len, batch_size=args.batch_size)
        if args.json:
            print(
                json.dumps({"step": step, "sources": {k: r.to_dict() for k, r in results.items()}})
            )
            return
        print(f"step {step}")
        print(f"{'source':>16} {'bytes':>10} {'tokens':>8} {'bits/byte':>9} {'unigram':>8}")
        for name, r in results.items():
            print(f"{name:>16} {r.bytes:>10,} {r.tokens:>8,} {r.bits_per_byte:>9.3f} "
                  f"{r.unigram_bits_per_byte:>8.3f}")  # fmt: skip
    else:
        result = evaluate_run(run, seq_len=args.seq_len, batch_size=args.batch_size)
        _print({"step": step, **result.to_dict()}, args.json)
