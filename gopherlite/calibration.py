"""Calibration of next-token predictions: does a model's confidence match how often it is right?

For every held-out target the model's *confidence* is the probability of its top token and it is
*right* when that token is the target. Binned by confidence, a calibrated model is right as
often as it is confident in each bin; the expected calibration error (ECE, Guo et al. 2017) is
the mean gap between the two, weighted by the share of predictions in each bin. Label
smoothing (Szegedy et al. 2016), which trains towards ``(1 − ε) · onehot + ε / V`` instead of the
one-hot target, caps the confidence a model is pushed towards; chapter 03 measures what it does
to held-out loss and to calibration (Müller et al. 2019 discuss both).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from gopherlite.data.batches import PackedWindows, iterate_in_order
from gopherlite.nn.transformer import GopherLM


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Confidence against accuracy of a model's top-token predictions, by confidence bin.

    Attributes:
      edges: Bin edges ``[n_bins + 1]`` from 0 to 1.
      confidence: Mean top-token probability in each bin (NaN where a bin is empty).
      accuracy: Share of the bin's predictions whose top token was the target (NaN if empty).
      counts: Predictions in each bin.
      ece: Expected calibration error, ``Σ_b (n_b / n) · |accuracy_b − confidence_b|``.
      mean_confidence: Mean top-token probability over all targets.
      top1_accuracy: Share of all targets that were the top token.
    """

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    counts: np.ndarray
    ece: float
    mean_confidence: float
    top1_accuracy: float


@nnx.jit(static_argnums=4)
def _bin_sums(
    model: GopherLM,
    inputs_BxL: jax.Array,
    targets_BxL: jax.Array,
    weights_BxL: jax.Array,
    n_bins: int,
) -> jax.Array:
    """Per bin: [summed confidence, summed correct, count] for one batch, ``[3, n_bins]``."""
    probs_BxLxV = jax.nn.softmax(model(inputs_BxL).astype(jnp.float32), axis=-1)
    confidence_BxL = probs_BxLxV.max(axis=-1)
    correct_BxL = (probs_BxLxV.argmax(axis=-1) == targets_BxL).astype(jnp.float32)
    bin_BxL = jnp.clip((confidence_BxL * n_bins).astype(jnp.int32), 0, n_bins - 1)
    onehot_BxLxN = jax.nn.one_hot(bin_BxL, n_bins) * weights_BxL[..., None]
    return jnp.stack(
        [
            jnp.einsum("BLN,BL->N", onehot_BxLxN, confidence_BxL),
            jnp.einsum("BLN,BL->N", onehot_BxLxN, correct_BxL),
            onehot_BxLxN.sum(axis=(0, 1)),
        ]
    )


def calibration(
    model: GopherLM, windows: PackedWindows, *, n_bins: int = 10, batch_size: int = 8
) -> Calibration:
    """Bin every held-out target by the model's top-token probability.

    Args:
      model: The language model.
      windows: Held-out windows; padding targets (weight 0) are left out.
      n_bins: Equal-width confidence bins over [0, 1].
      batch_size: Windows per forward pass.

    Returns:
      The per-bin confidence and accuracy and the summary numbers.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}.")
    sums = [_bin_sums(model, *batch, n_bins) for batch in iterate_in_order(windows, batch_size)]
    conf_N, correct_N, count_N = np.asarray(jax.device_get(sums), np.float64).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence_N = np.where(count_N > 0, conf_N / count_N, np.nan)
        accuracy_N = np.where(count_N > 0, correct_N / count_N, np.nan)
    total = count_N.sum()
    gaps_N = np.nan_to_num(np.abs(accuracy_N - confidence_N))
    return Calibration(
        edges=np.linspace(0.0, 1.0, n_bins + 1),
        confidence=confidence_N,
        accuracy=accuracy_N,
        counts=count_N.astype(np.int64),
        ece=float((count_N / total * gaps_N).sum()),
        mean_confidence=float(conf_N.sum() / total),
        top1_accuracy=float(correct_N.sum() / total),
    )
