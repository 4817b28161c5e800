"""The training loop: resume, step, then log, evaluate and checkpoint through hooks (G Sec. 3.2).

`steps` is the one loop over optimiser steps: it yields each step's `StepResult`, optionally
timed. `train` resumes a run folder, builds the hooks (`gopherlite.train.hooks`) and feeds them
every step; the chapters' studies and the bench call `steps` or `Trainer.timed_step` instead of
writing their own loops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import sys
from collections.abc import Iterator
from typing import Any

import jax
from jax.sharding import Mesh

from gopherlite.checkpoint import Checkpointer, CheckpointError
from gopherlite.config import ModelConfig
from gopherlite.data.batches import Batch, PackedWindows
from gopherlite.evaluate import evaluate
from gopherlite.hardware import peak_flops
from gopherlite.runlock import hold_run_folder
from gopherlite.sharding import Layout
from gopherlite.train.config import TrainConfig
from gopherlite.train.hooks import Callback, Checkpoints, MetricsLog, Progress, StepResult
from gopherlite.train.interrupts import StopSignals, TrainingStoppedError
from gopherlite.train.peers import PeerWatch
from gopherlite.train.step import Trainer


@dataclasses.dataclass
class TrainResult:
    """What a training run leaves behind.

    Attributes:
      trainer: The trainer holding the final state (``trainer.model`` is the model).
      history: Every logged metric record, in order.
      final_eval: Held-out evaluation at the end (None without held-out data).
    """

    trainer: Trainer
    history: list[dict[str, Any]]
    final_eval: dict[str, Any] | None


def run_meta(trainer: Trainer, data_position: dict[str, Any], extra: dict[str, Any]) -> dict:
    """The JSON metadata stored with every checkpoint of a run.

    Args:
      trainer: The trainer (configs and step).
      data_position: The batch iterator's position after the last step.
      extra: Anything else the caller records (e.g. the tokenizer's checksum).

    Returns:
      The metadata dict.
    """
    return {
        "step": trainer.step,
        "model_config": dataclasses.asdict(trainer.model_config),
        "train_config": dataclasses.asdict(trainer.train_config),
        "data_position": data_position,
        **extra,
    }


def _check_same_run(meta: dict[str, Any], trainer: Trainer, directory: pathlib.Path) -> None:
    # A field newer than the checkpoint was saved with its default value.
    defaults = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    saved = {**defaults, **meta["model_config"]}
    wanted = dataclasses.asdict(trainer.model_config)
    diffs = [f"{k}: {saved[k]!r} there, {v!r} here" for k, v in wanted.items() if saved[k] != v]
    saved_precision = meta["train_config"].get("precision", "fp32")
    if saved_precision != trainer.train_config.precision:
        diffs.append(
            f"precision: {saved_precision!r} there, {trainer.train_config.precision!r} here"
        )
    if diffs:
        raise CheckpointError(
            f"The checkpoint in {directory} was written for a different model "
            f"({'; '.join(diffs)}). Nothing was overwritten: use another output folder, or the "
            "same settings to resume."
        )


def _rewrite_metrics(
    path: pathlib.Path, keep_through_step: int, write: bool = True
) -> list[dict[str, Any]]:
    """Drop records past the restored step (written by the interrupted run), atomically.

    Args:
      path: The run's metrics log.
      keep_through_step: The restored step.
      write: Rewrite the file (only process 0 does; the others only read it).

    Returns:
      The records kept.
    """
    if not path.exists():
        return []
    kept = [
        line
        for line in path.read_text().splitlines()
        if line.strip() and json.loads(line)["step"] <= keep_through_step
    ]
    if write:
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        tmp.replace(path)
    return [json.loads(line) for line in kept]


def steps(
    trainer: Trainer, data: Iterator[Batch], last_step: int, *, timed: bool = False
) -> Iterator[StepResult]:
    """Take optimiser steps from the trainer's current step up to ``last_step``.

    Args:
      trainer: A trainer (compiled or not; the first step compiles it otherwise).
      data: Batches of this process's rows, one per step.
      last_step: The step to stop after.
      timed: Wait for every step and report its wall-clock time (for studies and the bench);
        False lets steps be dispatched ahead of the host.

    Yields:
      One `StepResult` per step.
    """
    for step in range(trainer.step + 1, last_step + 1):
        batch = next(data)
        if timed:
            metrics, seconds = trainer.timed_step(batch)
        else:
            metrics, seconds = trainer.train_step(batch), None
        yield StepResult(step, step == last_step, metrics, seconds)


def train(
    model_config: ModelConfig,
    train_config: TrainConfig,
    data: Iterator[Batch],
    *,
    bytes_per_token: float,
    out_dir: str | pathlib.Path | None = None,
    heldout: PackedWindows | None = None,
    callbacks: tuple[Callback, ...] = (),
    progress: bool = True,
    meta_extra: dict[str, Any] | None = None,
    mesh: Mesh | None = None,
    layout: str | Layout = "2d",
) -> TrainResult:
    """Train (or resume) a model, logging metrics and writing checkpoints.

    With ``out_dir``, the run resumes from the folder's latest checkpoint when there is one
    (model, optimizer and data position), appends one JSON record per logged step to
    ``out_dir/metrics.jsonl``, and checkpoints every ``checkpoint_every`` steps and at the end.
    An interrupted run resumed this way ends bit-identical to an uninterrupted one. A run
    already at ``train_config.steps`` returns without compiling a step; resuming with more
    steps than the run was planned for says, on stderr, that the learning-rate schedule is
    stretched from the resumed step. While it trains, the folder is locked against a second
    trainer (`gopherlite.runlock.RunLock`), and SIGTERM or SIGINT stop it after the current
    step with a checkpoint of that step (`gopherlite.train.interrupts`).

    Args:
      model_config: The model's shape.
      train_config: How to train.
      data: A `BatchIterator` (its ``position()``/``restore()`` make resuming exact).
      bytes_per_token: UTF-8 bytes per token of the training text (for bits per byte).
      out_dir: Run folder, or None to keep nothing on disk.
      heldout: Held-out windows for evaluation, or None.
      callbacks: Functions called with every logged record (e.g. a notebook's live plot).
      progress: Show a progress bar (notebook-aware).
      meta_extra: Extra JSON metadata for the checkpoints (e.g. tokenizer checksum).
      mesh: Device mesh; None means the first device. With several processes, ``data`` must
        yield this process's rows (``Trainer.local_rows``) of each global batch.
      layout: Sharding layout name (see `gopherlite.sharding.LAYOUTS`).

    Returns:
      The trainer, the logged history (earlier records of a resumed run included) and the
      final evaluation.

    Raises:
      TrainingStoppedError: a signal stopped the run (after its checkpoint was written).
      RunLockedError: another live trainer holds ``out_dir``.
    """
    # Exits in reverse: pending saves are written, the signals restored, the folder released.
    with hold_run_folder(out_dir), StopSignals() as stop, contextlib.ExitStack() as cleanup:
        trainer = Trainer(model_config, train_config, mesh=mesh, layout=layout)
        checkpointer, metrics_path, earlier = None, None, []
        folder = None if out_dir is None else pathlib.Path(out_dir) / "checkpoints"
        cleanup.enter_context(PeerWatch(folder))  # a lost peer stops this process in seconds
        if out_dir is not None:
            out_dir = pathlib.Path(out_dir)
            out_dir.mkdir(parents=True, exist_ok=True)
            metrics_path = out_dir / "metrics.jsonl"
            checkpointer = Checkpointer(
                folder,
                keep=train_config.keep_checkpoints,
                async_save=train_config.async_checkpoints,
            )
            cleanup.callback(checkpointer.close)
            if checkpointer.latest_step() is not None:
                _check_same_run(checkpointer.read_meta(), trainer, out_dir)
                state, meta = checkpointer.restore(trainer.abstract_state())
                trainer.load_state(state)
                data.restore(meta["data_position"])
                earlier = _rewrite_metrics(
                    metrics_path, trainer.step, write=jax.process_index() == 0
                )
                planned = meta["train_config"].get("steps", train_config.steps)
                if trainer.step < train_config.steps and planned != train_config.steps:
                    print(
                        f"Resuming at step {trainer.step} of a run planned for {planned} steps: "
                        f"the learning-rate schedule is stretched from step {trainer.step} to "
                        f"{train_config.steps}.",
                        file=sys.stderr,
                    )

        def save() -> None:
            if checkpointer is not None:
                checkpointer.save(
                    trainer.step,
                    trainer.state,
                    run_meta(trainer, data.position(), meta_extra or {}),
                )

        def held_out_eval() -> dict[str, Any]:
            result = evaluate(trainer.model, heldout, batch_size=train_config.batch_size).to_dict()
            return {f"eval_{k}": v for k, v in result.items()}

        log = None
        if trainer.step < train_config.steps:
            first = next(data)
            compile_seconds = trainer.compile(first)
            log = MetricsLog(
                log_every=train_config.log_every,
                eval_every=train_config.eval_every,
                held_out=held_out_eval if heldout is not None else None,
                bytes_per_token=bytes_per_token,
                tokens_per_step=train_config.batch_size * trainer.seq_len,
                flops_per_token=model_config.flops_per_token(trainer.seq_len),
                peak_flops=peak_flops(list(trainer.mesh.devices.flat)),
                compile_seconds=compile_seconds,
                path=metrics_path if jax.process_index() == 0 else None,  # one writer per run
                callbacks=callbacks,
            )
            bar = Progress(train_config.steps, trainer.step, log, enabled=progress)
            hooks = (log, Checkpoints(train_config.checkpoint_every, save), bar)
            try:
                batches = _chain(first, data)
                for result in steps(trainer, batches, train_config.steps):
                    for hook in hooks:
                        hook(result)
                    if stop.should_stop():
                        break
            finally:
                bar.bar.close()
        if checkpointer is not None and checkpointer.latest_step() != trainer.step:
            save()
        if stop.signum is not None:
            where = (
                None if checkpointer is None else str(checkpointer.directory / str(trainer.step))
            )
            raise TrainingStoppedError(trainer.step, stop.signum, where)
        final_eval = held_out_eval() if heldout is not None else None
        history = earlier + (log.history if log is not None else [])
        return TrainResult(trainer, history, final_eval)


def _chain(first: Batch, rest: Iterator[Batch]) -> Iterator[Batch]:
    """The batch the step was compiled with, then the iterator's next ones."""
    yield first
    yield from rest
