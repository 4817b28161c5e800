"""Training settings, Gopher's optimiser and learning-rate schedule (G Sec. 3.2).

Gopher trains with Adam, a linear warm-up from 1e-7 to the peak learning rate over 1,500 steps
followed by a cosine decay to 10% of the peak, and global-norm gradient clipping at 1.0 (0.25
for the two largest models). The warm-up is scaled down for runs shorter than Gopher's, and
the cosine spans the run (Chinchilla found that overshooting the cycle length hurts).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax
import optax
from flax import nnx

from gopherlite.config import ModelConfig
from gopherlite.nn import GopherLM
from gopherlite.precision import PolicyOptimizer, get_policy, init_model

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
