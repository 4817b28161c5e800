"""Chapter 05's computations: how RMSNorm and LayerNorm answer a shifted, scaled input.

LayerNorm subtracts the mean of the features and divides by their standard deviation;
RMSNorm (Zhang & Sennrich 2019) only divides by their root mean square, which Gopher uses
instead (Rae et al. 2021, Sec. 3.1). Both are unchanged when the input is multiplied by a
positive number; only LayerNorm is unchanged when a constant is added to every feature.

* :func:`sample_features`: an input vector (normal, uniform, or with one outlier feature).
* :func:`normalise`, :func:`norm_stats`: both norms of a vector (`gopherlite.nn.norm`), and its
  mean, standard deviation and root mean square.
* :func:`invariance_case`: ``scale · x + shift`` normalised before and after.
* :func:`speed_pairs`: the two norms' timings of `variants.norm_speed` side by side.

`gopherlite.workbook.viz.norms` draws them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import jax.numpy as jnp
import numpy as np

from gopherlite.config import ModelConfig
from gopherlite.nn.norm import layer_norm, rms_norm
from gopherlite.workbook.experiments.variants import NormTiming

Distribution = Literal["normal", "uniform", "outlier"]
DISTRIBUTIONS: tuple[Distribution, ...] = ("normal", "uniform", "outlier")
# The model's default epsilon inside the square root (ModelConfig.norm_eps).
EPS: float = next(f.default for f in dataclasses.fields(ModelConfig) if f.name == "norm_eps")


def sample_features(kind: Distribution = "normal", d: int = 32, seed: int = 0) -> np.ndarray:
    """A feature vector to normalise.

    Args:
      kind: ``"normal"`` (standard normal), ``"uniform"`` (unit variance, on ±√3), or
        ``"outlier"`` (standard normal with feature 0 set to 8, like the few huge
        activation features seen in large Transformers).
      d: Number of features.
      seed: Seed.

    Returns:
      float32 ``[d]``.
    """
    rng = np.random.default_rng(seed)
    if kind == "normal":
        x_D = rng.normal(size=d)
    elif kind == "uniform":
        x_D = rng.uniform(-np.sqrt(3), np.sqrt(3), size=d)
    elif kind == "outlier":
        x_D = rng.normal(size=d)
        x_D[0] = 8.0
    else:
        raise ValueError(f"Unknown distribution {kind!r}; choose one of {DISTRIBUTIONS}.")
    return x_D.astype(np.float32)


def normalise(x_D: np.ndarray, eps: float = EPS) -> dict[str, np.ndarray]:
    """Both norms of a vector, with unit gain and zero bias (`gopherlite.nn.norm`).

    Args:
      x_D: Features.
      eps: Epsilon inside the square root.

    Returns:
      ``{"LayerNorm": ..., "RMSNorm": ...}``, float32 ``[d]`` each.
    """
    x = jnp.asarray(x_D, jnp.float32)
    ones, zeros = jnp.ones_like(x), jnp.zeros_like(x)
    return {
        "LayerNorm": np.asarray(layer_norm(x, ones, zeros, eps)),
        "RMSNorm": np.asarray(rms_norm(x, ones, eps)),
    }


@dataclasses.dataclass(frozen=True)
class Stats:
    """Summary of a feature vector.

    Attributes:
      mean: Mean of the features.
      std: Standard deviation (population).
      rms: Root mean square, ``sqrt(mean(x²)) = sqrt(mean² + std²)``.
    """

    mean: float
    std: float
    rms: float


def norm_stats(x_D: np.ndarray) -> Stats:
    """Mean, standard deviation and root mean square of a vector.

    Args:
      x_D: Features.

    Returns:
      The statistics (float64).
    """
    x = np.asarray(x_D, np.float64)
    return Stats(float(x.mean()), float(x.std()), float(np.sqrt(np.mean(x**2))))


@dataclasses.dataclass(frozen=True)
class InvarianceCase:
    """An input before and after ``scale · x + shift``, and both norms of each.

    Attributes:
      base: The untouched input x.
      moved: ``scale · x + shift``.
      outputs: Norm name → output for ``moved``.
      reference: Norm name → output for ``base``.
    """

    base: np.ndarray
    moved: np.ndarray
    outputs: dict[str, np.ndarray]
    reference: dict[str, np.ndarray]

    def change(self, name: str) -> float:
        """Largest change of a norm's output caused by the shift and scale."""
        return float(np.max(np.abs(self.outputs[name] - self.reference[name])))


def invariance_case(
    x_D: np.ndarray, shift: float, scale: float, eps: float = EPS
) -> InvarianceCase:
    """Apply ``scale · x + shift`` and normalise before and after.

    Args:
      x_D: The input.
      shift: Added to every feature.
      scale: Multiplies every feature.
      eps: Epsilon of both norms.

    Returns:
      The case.
    """
    moved = (scale * np.asarray(x_D, np.float32) + shift).astype(np.float32)
    return InvarianceCase(x_D, moved, normalise(moved, eps), normalise(x_D, eps))


@dataclasses.dataclass(frozen=True)
class SpeedPair:
    """RMSNorm's and LayerNorm's median times for one mode and size.

    Attributes:
      mode: ``"forward"`` or ``"forward+backward"``.
      tokens: Rows normalised per call.
      d_model: Features per row.
      rms_seconds: RMSNorm's time per call.
      layer_seconds: LayerNorm's time per call.
    """

    mode: str
    tokens: int
    d_model: int
    rms_seconds: float
    layer_seconds: float

    @property
    def ratio(self) -> float:
        """LayerNorm's time over RMSNorm's (above 1: RMSNorm is faster)."""
        return self.layer_seconds / self.rms_seconds


def speed_pairs(timings: Sequence[NormTiming]) -> list[SpeedPair]:
    """Pair each (mode, size)'s RMSNorm and LayerNorm timings.

    Args:
      timings: From `gopherlite.workbook.experiments.variants.norm_speed`, both kinds for
        every mode and size.

    Returns:
      One pair per (mode, tokens, d_model), in the order they first appear.
    """
    by_key = {(t.mode, t.tokens, t.d_model, t.kind): t.seconds for t in timings}
    return [
        SpeedPair(
            mode,
            tokens,
            d_model,
            by_key[(mode, tokens, d_model, "rms")],
            by_key[(mode, tokens, d_model, "layer")],
        )
        for mode, tokens, d_model in dict.fromkeys(k[:3] for k in by_key)
    ]
