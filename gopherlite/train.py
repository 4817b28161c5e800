"""Training a Gopher-family model: optimiser, schedule, jitted step and the loop (G Sec. 3.2).

Gopher trains with Adam, a linear warm-up from 1e-7 to the peak learning rate over 1,500 steps
followed by a cosine decay to 10% of the peak, and global-norm gradient clipping at 1.0 (0.25
for the two largest models). The loss is the softmax cross-entropy in float32 (G App. C). The
warm-up is scaled down for runs shorter than Gopher's, and the cosine spans the run (Chinchilla
found that overshooting the cycle length hurts).
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh
from tqdm.auto import tqdm

from gopherlite.batches import Batch, PackedWindows
from gopherlite.checkpoint import Checkpointer, CheckpointError
from gopherlite.config import ModelConfig
from gopherlite.evaluate import cross_entropy, evaluate
from gopherlite.hardware import peak_flops
from gopherlite.nn import GopherLM
from gopherlite.precision import PolicyOptimizer, get_policy, init_model, rounding_key
from gopherlite.sharding import (
    Layout,
    activation_sharding,
    batch_sharding,
    get_layout,
    local_batch_rows,
    make_mesh,
    put_batch,
    state_shardings,
)

GOPHER_WARMUP_STEPS = 1500


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train (the model's shape lives in `ModelConfig`).

    Attributes:
      steps: Optimiser steps in the whole run (the schedule spans them).
      batch_size: Sequences per step (global, across all devices).
      seq_len: Window length; None means the model's ``max_seq_len``.
      learning_rate: Peak learning rate; None means the model config's Table 1 value.
      warmup_steps: Linear warm-up length; None means min(1500, steps // 20) (Gopher's 1,500
        scaled for short runs).
      init_learning_rate: Learning rate at step 0 (Gopher: 1e-7).
      final_lr_fraction: Cosine decay ends at this fraction of the peak (Gopher: 0.1).
      optimizer: ``"adam"`` (Gopher) or ``"adamw"`` (Chinchilla's improvement).
      b1: Adam β1 (UNVERIFIED for Gopher; the common 0.9).
      b2: Adam β2 (UNVERIFIED for Gopher; 0.95 as in GPT-3).
      eps: Adam ε.
      weight_decay: Decoupled weight decay for ``adamw`` on matrices only.
      grad_clip: Global-norm clipping threshold (Gopher: 1.0; 0.25 for 7.1B and 280B).
      label_smoothing: Label smoothing of the targets (0 disables).
      log_every: Steps between metric records.
      eval_every: Steps between held-out evaluations (0: only at the end).
      checkpoint_every: Steps between checkpoints (a final one is always written).
      keep_checkpoints: Newest checkpoints kept on disk.
      seed: Seed of the initialisation, of the data order and of stochastic rounding.
      precision: Precision policy, one of `gopherlite.precision.POLICIES`: ``"fp32"``,
        ``"mixed"``, ``"bf16_rne"``, ``"bf16_sr"`` or ``"bf16_master"`` (G Sec. 3.2, App. C).
        It sets the model's activation and parameter dtypes and how parameters are updated.
    """

    steps: int = 1000
    batch_size: int = 16
    seq_len: int | None = None
    learning_rate: float | None = None
    warmup_steps: int | None = None
    init_learning_rate: float = 1e-7
    final_lr_fraction: float = 0.1
    optimizer: Literal["adam", "adamw"] = "adam"
    b1: float = 0.9
    b2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    label_smoothing: float = 0.0
    log_every: int = 10
    eval_every: int = 0
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    seed: int = 0
    precision: str = "fp32"

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be ≥ 1, got {getattr(self, name)}.")
        if self.seq_len is not None and self.seq_len < 1:
            raise ValueError(f"TrainConfig.seq_len must be ≥ 1, got {self.seq_len}.")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(
                f"TrainConfig.optimizer must be 'adam' or 'adamw', got {self.optimizer!r}."
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}.")
        if self.grad_clip <= 0:
            raise ValueError(f"grad_clip must be positive, got {self.grad_clip}.")
        get_policy(self.precision)  # raises, listing the policies, for an unknown name

    def resolved_warmup(self) -> int:
        """Warm-up steps actually used (see ``warmup_steps``)."""
        if self.warmup_steps is not None:
            return min(self.warmup_steps, self.steps)
        return max(1, min(GOPHER_WARMUP_STEPS, self.steps // 20))


def learning_rate_schedule(config: TrainConfig, peak: float) -> optax.Schedule:
    """Gopher's schedule: linear warm-up from 1e-7, cosine decay to 10% of the peak.

    Args:
      config: Steps, warm-up and the end fraction.
      peak: Peak learning rate.

    Returns:
      A function from step to learning rate.
    """
    return optax.warmup_cosine_decay_schedule(
        init_value=config.init_learning_rate,
        peak_value=peak,
        warmup_steps=config.resolved_warmup(),
        decay_steps=config.steps,
        end_value=peak * config.final_lr_fraction,
    )


def make_optimizer(config: TrainConfig, peak: float) -> optax.GradientTransformation:
    """Global-norm clipping followed by Adam (or AdamW) on the schedule.

    Args:
      config: Optimiser settings.
      peak: Peak learning rate.

    Returns:
      The optax transformation.
    """
    schedule = learning_rate_schedule(config, peak)
    if config.optimizer == "adam":
        opt = optax.adam(schedule, b1=config.b1, b2=config.b2, eps=config.eps)
    else:
        # Decay matrices only: norms' gains and the u/v bias vectors are left alone.
        opt = optax.adamw(
            schedule,
            b1=config.b1,
            b2=config.b2,
            eps=config.eps,
            weight_decay=config.weight_decay,
            mask=lambda params: jax.tree.map(lambda p: p.ndim >= 2, params),
        )
    return optax.chain(optax.clip_by_global_norm(config.grad_clip), opt)


def build_model_and_optimizer(
    model_config: ModelConfig, train_config: TrainConfig
) -> tuple[GopherLM, nnx.Optimizer]:
    """The model (seeded by ``train_config.seed``) and its optimizer, as the precision says.

    The precision policy (``train_config.precision``) sets the model's dtypes
    (`gopherlite.precision.Policy.apply_to`) and the optimizer's state and update rule
    (`gopherlite.precision.PolicyOptimizer`: float32 Adam moments in every policy, plus a
    float32 master copy under ``bf16_master``). Call under `nnx.eval_shape` to get the train
    state's structure without allocating it.

    Args:
      model_config: The model's shape (dtypes left at their float32 defaults or set to the
        policy's).
      train_config: Seed, optimizer and precision settings.

    Returns:
      ``(model, optimizer)``.
    """
    policy = get_policy(train_config.precision)
    model = init_model(model_config, policy, train_config.seed)
    peak = train_config.learning_rate or model_config.max_learning_rate
    return model, PolicyOptimizer(model, make_optimizer(train_config, peak), policy=policy)


class Trainer:
    """A model, its optimizer and one compiled, state-donating train step.

    The model and optimizer are split once into a static graph and a state pytree. The state
    is created directly in its sharded layout (shapes from `nnx.eval_shape`, shardings from the
    layout's rules, then a jitted initialiser with those ``out_shardings``), so no device ever
    holds an unsharded copy. The step is a pure ``jax.jit`` function of (state, batch) with
    explicit shardings that donates the old state, so parameters are updated in place.
    """

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        *,
        mesh: Mesh | None = None,
        layout: str | Layout = "2d",
    ) -> None:
        """Build the model (seeded by ``train_config.seed``) and the optimizer on a mesh.

        Args:
          model_config: The model's shape.
          train_config: How to train it.
          mesh: Device mesh (`gopherlite.sharding.make_mesh`); None means the first device.
          layout: Name of a `gopherlite.sharding.LAYOUTS` entry, or a `Layout`.
        """
        # The policy's dtypes are part of the model (and of every checkpoint's metadata).
        self.model_config = get_policy(train_config.precision).apply_to(model_config)
        self.train_config = train_config
        model_config = self.model_config
        self.peak_learning_rate = train_config.learning_rate or model_config.max_learning_rate
        self.seq_len = train_config.seq_len or model_config.max_seq_len
        self.schedule = learning_rate_schedule(train_config, self.peak_learning_rate)
        self.mesh = mesh if mesh is not None else make_mesh(devices=jax.devices()[:1])
        self.layout = get_layout(layout) if isinstance(layout, str) else layout

        def build() -> tuple[GopherLM, nnx.Optimizer]:
            return build_model_and_optimizer(model_config, train_config)

        self.graphdef, abstract = nnx.split(nnx.eval_shape(build))
        self.state_shardings = state_shardings(abstract, self.mesh, self.layout)
        self.batch_sharding = batch_sharding(self.mesh)
        self.local_rows = local_batch_rows(self.batch_sharding, train_config.batch_size)
        self.state = jax.jit(lambda: nnx.state(build()), out_shardings=self.state_shardings)()
        self._step = jax.jit(
            self._pure_step,
            in_shardings=(self.state_shardings, self.batch_sharding),
            out_shardings=(self.state_shardings, None),
            donate_argnums=0,
        )

    @property
    def step(self) -> int:
        """Optimiser steps taken so far."""
        _, optimizer = nnx.merge(self.graphdef, self.state)
        return int(optimizer.step[...])

    @property
    def model(self) -> GopherLM:
        """The current model (its arrays are donated, so it is valid until the next step)."""
        model, _ = nnx.merge(self.graphdef, self.state)
        return model

    def abstract_state(self) -> Any:
        """Shapes, dtypes and shardings of the train state (the target for a restore).

        Restoring into this target places every array on this trainer's mesh, whatever mesh
        the checkpoint was written from.
        """
        return jax.tree.map(
            lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
            self.state,
            self.state_shardings,
        )

    def load_state(self, state: Any) -> None:
        """Replace the train state (e.g. with one restored from a checkpoint).

        Args:
          state: A pytree with the structure of ``self.state``.
        """
        self.state = state

    def train_step(self, batch: Batch) -> dict[str, jax.Array]:
        """One optimiser step on a batch; returns on-device metrics (no host sync).

        Args:
          batch: This process's rows (``self.local_rows``) of the inputs, targets and weights;
            on a single host, the whole ``[B, L]`` batch.

        Returns:
          ``loss`` (mean nats per target), ``grad_norm`` and ``learning_rate``.
        """
        with activation_sharding(self.mesh, self.layout):
            self.state, metrics = self._step(self.state, self.put(batch))
        return metrics

    def put(self, batch: Batch) -> Batch:
        """Assemble the global, sharded batch from this process's rows.

        Args:
          batch: This process's rows.

        Returns:
          The batch as global `jax.Array`s split over the mesh's data axes.
        """
        size = self.train_config.batch_size
        start, stop = self.local_rows
        if batch.inputs_BxL.shape[0] != stop - start:
            raise ValueError(
                f"Got a batch of {batch.inputs_BxL.shape[0]} rows, but this process supplies rows "
                f"{start}..{stop - 1} of the global batch of {size} (TrainConfig.batch_size); "
                "make the data iterator's batch size match."
            )
        return Batch(*(put_batch(self.batch_sharding, a, size) for a in batch))

    def compile(self, batch: Batch) -> float:
        """Compile the step ahead of time for this batch shape.

        Args:
          batch: An example batch (only its shapes are used).

        Returns:
          Seconds spent compiling.
        """
        start = time.perf_counter()
        with activation_sharding(self.mesh, self.layout):
            self._step = self._step.lower(self.state, self.put(batch)).compile()
        return time.perf_counter() - start

    def compiled_text(self) -> str:
        """The optimised HLO of the train step, as XLA compiled it (for profiling).

        Returns:
          The HLO text of the program `compile` produced.
        """
        if not isinstance(self._step, jax.stages.Compiled):
            raise RuntimeError("The train step is not compiled yet: call compile(batch) first.")
        return self._step.as_text()

    def _pure_step(self, state: Any, batch: Batch) -> tuple[Any, dict[str, jax.Array]]:
        model, optimizer = nnx.merge(self.graphdef, state)
        step = optimizer.step[...]

        def loss_fn(model: GopherLM) -> jax.Array:
            logits_BxLxV = model(batch.inputs_BxL)
            total, weight = cross_entropy(
                logits_BxLxV,
                batch.targets_BxL,
                batch.weights_BxL,
                self.train_config.label_smoothing,
            )
            return total / jnp.maximum(weight, 1.0)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        # Stochastic rounding's noise is a function of (seed, step): resuming redraws it exactly.
        optimizer.update(model, grads, key=rounding_key(self.train_config.seed, step))
        metrics = {
            "loss": loss,
            "grad_norm": optax.tree.norm(jax.tree.map(lambda g: g.astype(jnp.float32), grads)),
            "learning_rate": self.schedule(step),
        }
        return nnx.state((model, optimizer)), metrics


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
