"""The training loop: resume, step, log, evaluate and checkpoint a run (G Sec. 3.2)."""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh
from tqdm.auto import tqdm

from gopherlite.checkpoint import Checkpointer, CheckpointError
from gopherlite.config import ModelConfig
from gopherlite.data.batches import Batch, PackedWindows
from gopherlite.evaluate import evaluate
from gopherlite.hardware import peak_flops
from gopherlite.sharding import (
    Layout,
)
from gopherlite.train.config import TrainConfig
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


Callback = Callable[[dict[str, Any]], None]


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


def _rewrite_metrics(path: pathlib.Path, keep_through_step: int) -> None:
    """Drop records past the restored step (written by the interrupted run), atomically."""
    if not path.exists():
        return
    kept = [
        line
        for line in path.read_text().splitlines()
        if line.strip() and json.loads(line)["step"] <= keep_through_step
    ]
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(line + "\n" for line in kept))
    tmp.replace(path)


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
    An interrupted run resumed this way ends bit-identical to an uninterrupted one.

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
      The trainer, the logged history and the final evaluation.
    """
    trainer = Trainer(model_config, train_config, mesh=mesh, layout=layout)
    checkpointer, metrics_path = None, None
    if out_dir is not None:
        out_dir = pathlib.Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        metrics_path = out_dir / "metrics.jsonl"
        checkpointer = Checkpointer(out_dir / "checkpoints", keep=train_config.keep_checkpoints)
        if checkpointer.latest_step() is not None:
            _check_same_run(checkpointer.read_meta(), trainer, out_dir)
            state, meta = checkpointer.restore(trainer.abstract_state())
            trainer.load_state(state)
            data.restore(meta["data_position"])
            _rewrite_metrics(metrics_path, trainer.step)

    def save() -> None:
        if checkpointer is not None:
            checkpointer.save(
                trainer.step, trainer.state, run_meta(trainer, data.position(), meta_extra or {})
            )

    def log(record: dict[str, Any]) -> None:
        history.append(record)
        if metrics_path is not None:
            with metrics_path.open("a") as f:
                f.write(json.dumps(record) + "\n")
        for callback in callbacks:
            callback(record)

    def held_out_eval() -> dict[str, Any]:
        result = evaluate(trainer.model, heldout, batch_size=train_config.batch_size).to_dict()
        return {f"eval_{k}": v for k, v in result.items()}

    history: list[dict[str, Any]] = []
    start = trainer.step
    first = next(data)
    compile_seconds = trainer.compile(first)
    peak, peak_source = peak_flops(list(trainer.mesh.devices.flat))
    tokens_per_step = train_config.batch_size * trainer.seq_len
    flops_per_token = model_config.flops_per_token(trainer.seq_len)
    bar = tqdm(total=train_config.steps, initial=start, disable=not progress, desc="train")

    pending: list[dict[str, jax.Array]] = []
    tokens_since, clock = 0, time.perf_counter()
    batch: Batch | None = first
    for step in range(start + 1, train_config.steps + 1):
        batch = batch if batch is not None else next(data)
        pending.append(trainer.train_step(batch))
        tokens_since += tokens_per_step
        batch = None
        if step % train_config.log_every == 0 or step == train_config.steps:
            fetched = jax.device_get(pending)
            elapsed = time.perf_counter() - clock
            loss = float(np.mean([m["loss"] for m in fetched]))
            tokens_per_second = tokens_since / elapsed
            record = {
                "step": step,
                "loss": loss,
                "bits_per_byte": loss / math.log(2) / bytes_per_token,
                "tokens_per_second": tokens_per_second,
                "mfu": tokens_per_second * flops_per_token / peak,
                "learning_rate": float(fetched[-1]["learning_rate"]),
                "grad_norm": float(fetched[-1]["grad_norm"]),
                "peak_flops_source": peak_source,
                "compile_seconds": compile_seconds,
            }
            if (
                heldout is not None
                and train_config.eval_every
                and step % train_config.eval_every == 0
            ):
                record |= held_out_eval()
            log(record)
            bar.set_postfix(loss=f"{loss:.3f}", bpb=f"{record['bits_per_byte']:.3f}")
            pending, tokens_since, clock = [], 0, time.perf_counter()
        if step % train_config.checkpoint_every == 0:
            save()
        bar.update(1)
    bar.close()
    if checkpointer is not None and checkpointer.latest_step() != trainer.step:
        save()
    final_eval = held_out_eval() if heldout is not None else None
    if checkpointer is not None:
        checkpointer.close()
    return TrainResult(trainer, history, final_eval)
