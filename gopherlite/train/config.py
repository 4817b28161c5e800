"""Training settings, Gopher's optimiser and learning-rate schedule (G Sec. 3.2).

Gopher trains with Adam, a linear warm-up from 1e-7 to the peak learning rate over 1,500 steps
followed by a cosine decay to 10% of the peak, and global-norm gradient clipping at 1.0 (0.25
for the two largest models). The warm-up is scaled down for runs shorter than Gopher's, and
the cosine spans the run (Chinchilla found that overshooting the cycle length hurts).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import jax
import optax
from flax import nnx

from gopherlite.config import TRAINING_DEFAULTS, ModelConfig, get_preset
from gopherlite.nn import GopherLM
from gopherlite.precision import PolicyOptimizer, get_policy, init_model

GOPHER_WARMUP_STEPS = 1500
DEFAULT_LEARNING_RATE = 2e-4  # Table 1's rate for 417M and 1.4B; presets have their own


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train (the model's shape lives in `ModelConfig`).

    `TrainConfig.for_preset` starts from a preset's Table 1 learning rate and batch
    (`gopherlite.config.TRAINING_DEFAULTS`); the command line's ``train`` flags are these fields.

    Attributes:
      steps: Optimiser steps in the whole run (the schedule spans them).
      batch_size: Sequences per step (global, across all devices).
      seq_len: Window length; None means the model's ``max_seq_len``.
      learning_rate: Peak learning rate (Table 1's per size: `TrainConfig.for_preset`).
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
      async_checkpoints: Write checkpoints to disk in the background while training goes on
        (Orbax's asynchronous saves; the step waits only for the copy to host memory).
      seed: Seed of the initialisation, of the data order and of stochastic rounding.
      precision: Precision policy, one of `gopherlite.precision.POLICIES`: ``"fp32"``,
        ``"mixed"``, ``"bf16_rne"``, ``"bf16_sr"`` or ``"bf16_master"`` (G Sec. 3.2, App. C).
        It sets the model's activation and parameter dtypes and how parameters are updated.
      loss_chunk: Positions per chunk of the training loss (`gopherlite.train.loss`): the
        logits of only ``batch_size × loss_chunk`` tokens exist at once. None (or a size
        that does not divide the sequence) forms them in one piece; the loss is the same.
        Measured on the tiny fp32 step (16 × 128, alternating): 64 needs 187 MB of XLA
        scratch against 215 MB in one piece, at the same step time.
    """

    steps: int = 400
    batch_size: int = 16
    seq_len: int | None = None
    learning_rate: float = DEFAULT_LEARNING_RATE
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
    checkpoint_every: int = 100
    keep_checkpoints: int = 3
    async_checkpoints: bool = True
    seed: int = 0
    precision: str = "fp32"
    loss_chunk: int | None = 64

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "checkpoint_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be ≥ 1, got {getattr(self, name)}.")
        if self.seq_len is not None and self.seq_len < 1:
            raise ValueError(f"TrainConfig.seq_len must be ≥ 1, got {self.seq_len}.")
        if self.loss_chunk is not None and self.loss_chunk < 1:
            raise ValueError(f"TrainConfig.loss_chunk must be None or ≥ 1, got {self.loss_chunk}.")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(
                f"TrainConfig.optimizer must be 'adam' or 'adamw', got {self.optimizer!r}."
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}.")
        if self.grad_clip <= 0:
            raise ValueError(f"grad_clip must be positive, got {self.grad_clip}.")
        for name in ("learning_rate", "eps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TrainConfig.{name} must be > 0, got {getattr(self, name)}.")
        for name in ("eval_every", "init_learning_rate", "weight_decay"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"TrainConfig.{name} must be ≥ 0, got {getattr(self, name)}.")
        for name in ("b1", "b2", "final_lr_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"TrainConfig.{name} must be in [0, 1], got {value}.")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise ValueError(f"TrainConfig.warmup_steps must be ≥ 0, got {self.warmup_steps}.")
        get_policy(self.precision)  # raises, listing the policies, for an unknown name

    @classmethod
    def for_preset(cls, preset: str, **changes: Any) -> TrainConfig:
        """Settings that start from a preset's training defaults (Table 1's rate and batch).

        Args:
          preset: A `gopherlite.PRESETS` name.
          **changes: Any fields to set instead of the defaults; ``batch_size`` defaults to the
            preset's tokens per batch divided by the window (``seq_len`` or the preset's).

        Returns:
          The config.
        """
        model = get_preset(preset)
        defaults = TRAINING_DEFAULTS[preset.lower()]
        seq_len = changes.get("seq_len") or model.max_seq_len
        base = {"learning_rate": defaults.learning_rate, "batch_size": defaults.batch_size(seq_len)}
        return cls(**{**base, **changes})

    @classmethod
    def from_dict(
        cls, fields: dict[str, Any], model_fields: dict[str, Any] | None = None
    ) -> TrainConfig:
        """A config from `dataclasses.asdict` output, e.g. a checkpoint's metadata.

        Runs saved before the learning rate moved out of `ModelConfig` stored ``None`` here
        and the rate as the model's ``max_learning_rate``; that rate is used.

        Args:
          fields: Field names and values.
          model_fields: The model config's saved fields, for the legacy learning rate.

        Returns:
          The config.
        """
        fields = dict(fields)
        if fields.get("learning_rate") is None:
            legacy = (model_fields or {}).get("max_learning_rate", DEFAULT_LEARNING_RATE)
            fields["learning_rate"] = legacy
        return cls(**fields)

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
    warmup = config.resolved_warmup()
    return optax.warmup_cosine_decay_schedule(
        init_value=config.init_learning_rate,
        peak_value=peak,
        warmup_steps=warmup,
        decay_steps=max(config.steps, warmup + 1),  # a run that is all warm-up never decays
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
    optimizer = make_optimizer(train_config, train_config.learning_rate)
    return model, PolicyOptimizer(model, optimizer, policy=policy)
