"""Command line: ``python -m gopherlite {train,eval,sample,memory,tokenizer,bench} ...``.

Every subcommand has ``--help``. Bad input (unknown preset, missing checkpoint, a prompt longer
than the model can take, unreadable corpus file, ...) prints one line saying what was wrong
and how to fix it, and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
import sys
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gopherlite.checkpoint import CheckpointError
from gopherlite.cli_curate import add_curate
from gopherlite.cli_eval import add_eval, positive_int
from gopherlite.config import PRESETS, get_preset
from gopherlite.data.tokenizer import Tokenizer
from gopherlite.evaluate import unigram_bits_per_byte
from gopherlite.hardware import CHIPS
from gopherlite.precision import POLICIES, get_policy
from gopherlite.runlock import RunLockedError
from gopherlite.sharding import LAYOUTS, get_layout, initialize_distributed, make_mesh, parse_mesh
from gopherlite.train.interrupts import TrainingStoppedError

if TYPE_CHECKING:
    from gopherlite.train import TrainConfig

# TrainConfig fields the parser itself checks are positive (argparse's usage line on error).
_POSITIVE = (
    "steps",
    "batch_size",
    "seq_len",
    "log_every",
    "checkpoint_every",
    "keep_checkpoints",
    "loss_chunk",
)
# TrainConfig fields whose default comes from the preset (`TrainConfig.for_preset`).
_FROM_PRESET = {
    "learning_rate": "the preset's Table 1 rate",
    "batch_size": "the preset's Table 1 tokens per batch / seq-len",
    "seq_len": "the preset's context",
}


def _field_help(cls: type) -> dict[str, str]:
    """Each attribute's description from a dataclass docstring's ``Attributes:`` section."""
    helps: dict[str, str] = {}
    name = None
    lines = (cls.__doc__ or "").split("Attributes:", 1)[-1].splitlines()
    for line in lines:
        text = line.strip()
        if not text:
            continue
        head, sep, rest = text.partition(": ")
        if sep and head.isidentifier() and len(line) - len(line.lstrip()) <= 6:
            name, helps[head] = head, rest
        elif name is not None:
            helps[name] += " " + text
    return {k: v.replace("``", "").replace("`", "") for k, v in helps.items()}


def _add_train_config_flags(p: argparse.ArgumentParser) -> None:
    """One flag per `TrainConfig` field (``--warmup-steps`` for ``warmup_steps``), help and
    default from the dataclass itself, so a default is changed in one place."""
    from gopherlite.train import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    helps = _field_help(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        kind = hints[field.name]
        options: dict[str, Any] = {}
        if field.name == "precision":
            options["choices"] = tuple(POLICIES)
        elif typing.get_origin(kind) is typing.Literal:
            options["choices"] = typing.get_args(kind)
        elif kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            base = [t for t in typing.get_args(kind) if t is not type(None)] or [kind]
            options["type"] = positive_int if field.name in _POSITIVE else base[0]
        default = _FROM_PRESET.get(field.name, field.default)
        flags = ["--" + field.name.replace("_", "-")]
        if field.name == "keep_checkpoints":
            flags.append("--keep")
        p.add_argument(
            *flags,
            dest=f"config_{field.name}",
            metavar=None if "choices" in options or kind is bool else field.name.upper(),
            help=f"{helps.get(field.name, '')} (default: {default})".replace("%", "%%"),
            **options,
        )


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The `TrainConfig` of a ``train`` command line: the preset's defaults, then the flags.

    Args:
      args: Parsed ``train`` arguments.

    Returns:
      The config.
    """
    from gopherlite.train import TrainConfig

    given = {
        field.name: getattr(args, f"config_{field.name}")
        for field in dataclasses.fields(TrainConfig)
        if getattr(args, f"config_{field.name}") is not None
    }
    return TrainConfig.for_preset(args.preset, **given)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model (resumes from --out's latest checkpoint)",
        description="Train a Gopher-family model on the embedded corpus (or --corpus files). "
        "Resumes from the latest checkpoint in --out when there is one; appends one JSON record "
        "per logged step to OUT/metrics.jsonl.",
    )
    p.add_argument("--preset", required=True, help=f"model size: {', '.join(PRESETS)}")
    p.add_argument("--out", required=True, type=pathlib.Path, help="run folder")
    _add_train_config_flags(p)
    p.add_argument(
        "--mesh",
        default="data=-1",
        help="per-axis degrees of the (data, fsdp, tensor) device mesh, one may be -1 "
        "(default: data parallel over every device), e.g. data=2,fsdp=2,tensor=2",
    )
    p.add_argument("--layout", default="2d", help=f"sharding layout: {', '.join(LAYOUTS)}")
    p.add_argument(
        "--remat", action="store_true", help="rematerialise blocks (less memory, more compute)"
    )
    p.add_argument(
        "--scan-layers",
        action="store_true",
        help="run the blocks with one lax.scan over stacked weights (compile time independent "
        "of depth); a run resumes only with the same setting",
    )
    p.add_argument("--coordinator-address", help="multi-host: HOST:PORT of process 0, or auto")
    p.add_argument("--num-processes", type=positive_int, help="multi-host: process count")
    p.add_argument("--process-id", type=int, help="multi-host: this process's index")
    p.add_argument("--corpus", nargs="+", type=pathlib.Path, help="UTF-8 text files to train on")
    p.add_argument("--tokenizer", type=pathlib.Path, help="existing tokenizer for a new run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> None:
    initialize_distributed(args.coordinator_address, args.num_processes, args.process_id)
    from gopherlite.runs import train_run

    # The Trainer applies the precision policy.
    model_config = get_preset(args.preset).replace(remat=args.remat, scan_layers=args.scan_layers)
    train_config = train_config_from_args(args)
    result, data = train_run(
        model_config,
        train_config,
        args.out,
        corpus_paths=args.corpus,
        tokenizer_path=args.tokenizer,
        progress=not args.no_progress,
        mesh=make_mesh(**parse_mesh(args.mesh)),
        layout=get_layout(args.layout).name,
    )
    final = result.final_eval or {}
    baseline = unigram_bits_per_byte(data.train, data.heldout, model_config.vocab_size)
    last = result.history[-1] if result.history else {}
    print(
        f"step {result.trainer.step}: train loss {last.get('loss', float('nan')):.3f}, "
        f"held-out {final.get('eval_bits_per_byte', float('nan')):.3f} bits/byte "
        f"(unigram baseline {baseline:.3f}, on the {data.heldout_share:.1%} of the corpus's "
        f"bytes held out); run folder {args.out}"
    )


def _add_sample(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="continue a prompt with a trained model",
        description="Generate text with the KV cache. --temperature 0 is greedy; Gopher's "
        "dialogue agent sampled with --top-p 0.8.",
    )
    p.add_argument("--checkpoint", required=True, type=pathlib.Path, help="run folder (--out)")
    p.add_argument("--prompt", required=True)
    p.add_argument("--max-new-tokens", type=positive_int, default=64)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=positive_int)
    p.add_argument("--top-p", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--max-len",
        type=positive_int,
        help="longest prompt + continuation in tokens (default: the training context)",
    )
    p.set_defaults(func=_sample)


def _sample(args: argparse.Namespace) -> None:
    from gopherlite.runs import load_run
    from gopherlite.sample import generate

    run = load_run(args.checkpoint)
    config = run.model.config
    prompt_ids = run.tokenizer.encode(args.prompt)
    limit = args.max_len or config.max_seq_len
    if len(prompt_ids) + args.max_new_tokens > limit:
        raise ValueError(
            f"The prompt is {len(prompt_ids)} tokens; with --max-new-tokens {args.max_new_tokens} "
            f"that is more than the limit of {limit} tokens (the model's training context unless "
            "--max-len says otherwise). Shorten the prompt or ask for fewer tokens."
        )
    new_ids = generate(
        run.model,
        prompt_ids,
        args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        eos_id=run.tokenizer.eos_id,
    )
    print(args.prompt + run.tokenizer.decode(new_ids))


def _add_memory(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "memory",
        help="will it fit? memory per device for a preset, mesh, layout, precision and chip",
        description="Estimate parameters, optimizer state, gradients and activations per device "
        "for one training step, and whether they fit the chip. Parameters and optimizer state "
        "are exact (the trainer's own sharding rules on an abstract mesh); activations are an "
        "analytic estimate. --find searches for the fewest devices that fit.",
    )
    p.add_argument("--preset", required=True, help=f"model size: {', '.join(PRESETS)}")
    p.add_argument("--chip", required=True, help=f"one of: {', '.join(CHIPS)}")
    p.add_argument("--mesh", default="data=1", help="complete degrees, e.g. fsdp=256,tensor=2")
    p.add_argument("--layout", default="2d", help=f"sharding layout: {', '.join(LAYOUTS)}")
    p.add_argument("--precision", default="fp32", help=f"one of: {', '.join(POLICIES)}")
    p.add_argument("--per-device-batch", type=positive_int, default=1)
    p.add_argument("--seq-len", type=positive_int, help="default: the preset's context")
    p.add_argument("--remat", action="store_true", help="rematerialise blocks")
    p.add_argument("--find", action="store_true", help="search for the fewest devices that fit")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_memory)


def _memory(args: argparse.Namespace) -> None:
    from gopherlite.costs import memory_per_device, smallest_fit

    config = get_preset(args.preset)
    get_policy(args.precision)
    if args.find:
        estimate = smallest_fit(
            config,
            chip=args.chip,
            precision=args.precision,
            per_device_batch=args.per_device_batch,
            remat=args.remat,
        )
        if estimate is None:
            raise ValueError(f"No layout fits {args.preset} on up to 8192 {args.chip} devices.")
    else:
        degrees = parse_mesh(args.mesh)
        if -1 in degrees.values():
            raise ValueError("memory needs complete mesh degrees (no -1), e.g. fsdp=8,tensor=2.")
        estimate = memory_per_device(
            config,
            chip=args.chip,
            mesh=degrees,
            layout=get_layout(args.layout).name,
            precision=args.precision,
            per_device_batch=args.per_device_batch,
            seq_len=args.seq_len,
            remat=args.remat,
        )
    report = estimate.to_dict()
    if args.json:
        print(json.dumps(report))
        return
    gib = 2**30
    devices = math.prod(estimate.mesh.values())
    print(
        f"{args.preset} on {devices} {args.chip} device(s), mesh "
        + ",".join(f"{k}={v}" for k, v in estimate.mesh.items())
        + f", layout {estimate.layout}, precision {estimate.precision}"
        + (", remat" if estimate.remat else "")
    )
    for key in ("params", "optimizer", "gradients", "activations", "total", "device_memory"):
        print(f"{key:>14}: {report[key] / gib:10.2f} GiB")
    print(f"{'fits':>14}: {'yes' if estimate.fits else 'no'}")


def _add_tokenizer(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokenizer", help="train, apply and inspect SentencePiece tokenizers")
    tsub = p.add_subparsers(dest="tokenizer_command", required=True)

    t = tsub.add_parser("train", help="train a BPE tokenizer with byte fallback")
    t.add_argument("--vocab-size", type=positive_int, default=4096)
    t.add_argument("--out", required=True, type=pathlib.Path, help="file to write (.model)")
    t.add_argument("--corpus", nargs="+", type=pathlib.Path, help="text files (default: embedded)")
    t.set_defaults(func=_tokenizer_train)

    e = tsub.add_parser("encode", help="print the ids (or pieces) of a text")
    e.add_argument("--tokenizer", required=True, type=pathlib.Path)
    e.add_argument("--pieces", action="store_true", help="print pieces instead of ids")
    e.add_argument("text")
    e.set_defaults(func=_tokenizer_encode)

    d = tsub.add_parser("decode", help="print the text of some ids")
    d.add_argument("--tokenizer", required=True, type=pathlib.Path)
    d.add_argument("ids", nargs="+", type=int)
    d.set_defaults(func=_tokenizer_decode)

    s = tsub.add_parser("stats", help="bytes per token and byte-fallback rate on held-out text")
    s.add_argument("--tokenizer", required=True, type=pathlib.Path)
    s.add_argument("--corpus", nargs="+", type=pathlib.Path, help="text files (default: embedded)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_tokenizer_stats)


def _tokenizer_train(args: argparse.Namespace) -> None:
    from gopherlite.data.pipeline import load_documents

    train_docs, _ = load_documents(args.corpus)
    text = "\n\n".join(doc.text for doc in train_docs)
    tokenizer = Tokenizer.train(text, vocab_size=args.vocab_size)
    tokenizer.save(args.out)
    print(f"wrote {args.out}: {tokenizer!r}")


def _tokenizer_encode(args: argparse.Namespace) -> None:
    tokenizer = Tokenizer.load(args.tokenizer)
    out = tokenizer.pieces(args.text) if args.pieces else tokenizer.encode(args.text)
    print(" ".join(map(str, out)))


def _tokenizer_decode(args: argparse.Namespace) -> None:
    print(Tokenizer.load(args.tokenizer).decode(args.ids))


def _tokenizer_stats(args: argparse.Namespace) -> None:
    from gopherlite.data.pipeline import load_documents

    _, heldout_docs = load_documents(args.corpus)
    stats = Tokenizer.load(args.tokenizer).stats("\n\n".join(d.text for d in heldout_docs))
    report = dataclasses.asdict(stats)
    print(json.dumps(report) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="measure peak matmul, training MFU, Gopher's choices, decoding and tokenizer speed",
        description="Benchmark this machine in one process: the measured matmul peak, training "
        "tokens/s and MFU (fp32, mixed), relative attention and RMSNorm against their "
        "baselines (timed alternately), cached against uncached decoding, and SentencePiece "
        "speed. Prints a table; --json also writes every number.",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, few repetitions")
    p.add_argument("--json", type=pathlib.Path, help="write the results to this JSON file")
    p.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> None:
    from gopherlite.bench import format_table, run

    results = run(quick=args.quick)
    print(format_table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.json}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m gopherlite``.

    Returns:
      The parser with every subcommand.
    """
    parser = argparse.ArgumentParser(
        prog="python -m gopherlite",
        description="Train, evaluate and sample Gopher-family language models.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_train,
        add_eval,
        _add_sample,
        _add_memory,
        _add_tokenizer,
        add_curate,
        _add_bench,
    ):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
      argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
      Exit status: 0 on success, 2 on bad input, 128 + the signal's number (143 for SIGTERM,
      130 for SIGINT) when a signal stopped training after saving.
    """
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except TrainingStoppedError as stopped:
        print(
            f"gopherlite {args.command}: {stopped}; resume with the same command.",
            file=sys.stderr,
        )
        return stopped.exit_status
    except (ValueError, OSError, CheckpointError, RunLockedError) as err:
        print(f"gopherlite {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"gopherlite {args.command}: interrupted; run the same command again to resume "
            "from the latest checkpoint.",
            file=sys.stderr,
        )
        return 130
    return 0
