"""Chapter 04's small tables: the relative shift step by step, clamped distances, sinusoids.

The four score terms of a real layer live in the library (`gopherlite.nn.attention_terms`);
what is here are the tables that explain how the layer computes them (Transformer-XL,
Dai et al. 2019, Sec. 3.3 and App. B):

* :func:`distance_indexed` and :func:`rel_shift_steps`: the relative shift of
  `gopherlite.nn.positions.rel_shift`, one reshape at a time, on a labelled matrix.
* :func:`clamped_distance_table` and :func:`clamped_sinusoid_rows`: what ``clamp_len`` does.
* :func:`sinusoid_dot_products`: why the sinusoid table's dot products depend on distance only.

`gopherlite.workbook.viz.attention` draws them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from gopherlite.nn.positions import clamp_distances, sinusoids


@dataclasses.dataclass(frozen=True)
class ShiftStep:
    """One step of the relative-shift trick.

    Attributes:
      title: What happened in this step.
      values: The numbers after the step.
      labels: A label per entry (same shape as ``values``).
    """

    title: str
    values: np.ndarray
    labels: np.ndarray


def distance_indexed(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The matrix the relative shift starts from, for n queries and n keys.

    Row i holds query i's scores against the distinct distances in descending order:
    column c belongs to distance ``n − 1 − c`` (TXL's ``pos_seq`` runs from klen − 1 down to
    0), so only the last row needs every distance.

    Args:
      n: Sequence length.

    Returns:
      ``(distance_NxN, labels_NxN)``: each entry's distance, and labels ``"q2·r1"``.
    """
    distance_NxN = np.broadcast_to(n - 1 - np.arange(n)[None, :], (n, n)).astype(np.float64)
    labels = np.array([[f"q{i}·r{n - 1 - c}" for c in range(n)] for i in range(n)], dtype=object)
    return distance_NxN, labels


def rel_shift_steps(
    values_QxC: np.ndarray, labels_QxC: np.ndarray | None = None, pad_value: float = 0.0
) -> list[ShiftStep]:
    """The relative shift of `gopherlite.nn.positions.rel_shift`, one reshape at a time.

    Steps: the distance-indexed input; pad one column on the left; read the same memory as
    ``[C + 1, Q]``; drop the first row; read the rest as ``[Q, C]``. The last step equals
    ``rel_shift(values_QxC)`` (with ``pad_value`` 0, as there).

    Args:
      values_QxC: Any ``Q × C`` matrix with ``Q <= C``.
      labels_QxC: Labels of its entries (default: the values as text).
      pad_value: Value of the padded column (NaN draws it blank).

    Returns:
      Five steps.
    """
    Q, C = values_QxC.shape
    if labels_QxC is None:
        labels_QxC = np.vectorize(lambda v: f"{v:.2g}", otypes=[object])(values_QxC)
    values = np.asarray(values_QxC, np.float64)
    labels = np.asarray(labels_QxC, dtype=object)
    pad_v = np.pad(values, [(0, 0), (1, 0)], constant_values=pad_value)
    pad_l = np.concatenate([np.full((Q, 1), "pad", dtype=object), labels], axis=1)
    tall_v, tall_l = pad_v.reshape(C + 1, Q), pad_l.reshape(C + 1, Q)
    return [
        ShiftStep(f"1. scores by distance<br>[{Q}×{C}]", values, labels),
        ShiftStep(f"2. pad a column on the left<br>[{Q}×{C + 1}]", pad_v, pad_l),
        ShiftStep(f"3. read the same memory<br>as [{C + 1}×{Q}]", tall_v, tall_l),
        ShiftStep(f"4. drop the first row<br>[{C}×{Q}]", tall_v[1:], tall_l[1:]),
        ShiftStep(
            f"5. read as [{Q}×{C}]:<br>[i, j] holds distance i−j",
            tall_v[1:].reshape(Q, C),
            tall_l[1:].reshape(Q, C),
        ),
    ]


def clamped_distance_table(length: int, clamp_len: int | None) -> np.ndarray:
    """The distance each (query, key) pair feeds to the sinusoids, after the clamp.

    Args:
      length: Sequence length.
      clamp_len: Largest distinct distance (`gopherlite.nn.positions.clamp_distances`), or
        None for no clamp.

    Returns:
      float64 ``[length, length]``: query i, key j holds ``min(i − j, clamp_len)``; NaN above
      the diagonal, where the causal mask hides the key.
    """
    distance_LxL = np.asarray(
        clamp_distances(jnp.arange(length)[:, None] - jnp.arange(length)[None, :], clamp_len),
        np.float64,
    )
    distance_LxL[np.triu_indices(length, 1)] = np.nan
    return distance_LxL


def clamped_sinusoid_rows(length: int, clamp_len: int | None, d: int) -> np.ndarray:
    """The sinusoid row each true distance 0 … length − 1 reads after the clamp.

    Args:
      length: Number of distances.
      clamp_len: As in :func:`clamped_distance_table`.
      d: Sinusoid width (even).

    Returns:
      float32 ``[length, d]``; rows past ``clamp_len`` repeat row ``clamp_len``.
    """
    return np.asarray(sinusoids(clamp_distances(jnp.arange(length), clamp_len), d))


def sinusoid_dot_products(
    max_distance: int, d: int, starts: Sequence[int]
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """The sinusoid table R, and ``R_p · R_{p+k}`` against the offset k for several starts p.

    ``R_p · R_{p+k} = Σ_f [sin(p w_f) sin((p+k) w_f) + cos(p w_f) cos((p+k) w_f)]
    = Σ_f cos(k w_f)``: it depends on the offset k alone, whatever p is, so the curves of the
    different starts coincide (and start at d / 2 for k = 0).

    Args:
      max_distance: Rows of the table returned, and offsets k = 0 … max_distance − 1.
      d: Embedding width (even).
      starts: Start positions p.

    Returns:
      ``(table, curves)``: the table's first ``max_distance`` rows ``[max_distance, d]``, and
      per start p the dot products ``[max_distance]``.
    """
    table_PxD = np.asarray(sinusoids(jnp.arange(max_distance + max(starts)), d))
    offsets = np.arange(max_distance)
    curves = {p: table_PxD[p + offsets] @ table_PxD[p] for p in starts}
    return table_PxD[:max_distance], curves
