"""Position information: sinusoid tables, the relative-shift trick and distance clamping.

Transformer-XL (Dai et al. 2019, Sec. 3.3 and App. B), which Gopher uses instead of GPT-2's
learned absolute positions (G Sec. 3.1), feeds only the *distance* i − j between a query and a
key through a fixed sinusoid table. No table runs out, so a model can be evaluated on longer
sequences than it was trained on.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def sinusoids(positions_P: jax.Array, d: int) -> jax.Array:
    """Fixed sinusoid embedding of (relative) positions, sine half then cosine half.

    ``inv_freq_k = 1 / 10000^(2k/d)``; the result is ``[sin(p · inv_freq), cos(p · inv_freq)]``
    concatenated (not interleaved), as in Transformer-XL's ``PositionalEmbedding``.

    Args:
      positions_P: Positions or distances, any numeric dtype.
      d: Embedding width (even).

    Returns:
      A float32 table of shape ``[P, d]``.
    """
    inv_freq_F = 1.0 / (10000.0 ** (jnp.arange(0, d, 2, dtype=jnp.float32) / d))
    angles_PxF = positions_P.astype(jnp.float32)[:, None] * inv_freq_F[None, :]
    return jnp.concatenate([jnp.sin(angles_PxF), jnp.cos(angles_PxF)], axis=-1)


def clamp_distances(distances: jax.Array, clamp_len: int | None) -> jax.Array:
    """Clamp relative distances to ``[0, clamp_len]`` (Transformer-XL's ``clamp_len``).

    Negative distances (keys in the future) only occur where the causal mask hides the score,
    so they are clamped to 0 as well.

    Args:
      distances: Integer query − key distances.
      clamp_len: Largest distance kept distinct, or None for no upper clamp.

    Returns:
      The clamped distances.
    """
    return jnp.clip(distances, 0, clamp_len)


def rel_shift(x_BxHxQxC: jax.Array) -> jax.Array:
    """Align distance-indexed scores to key positions (Transformer-XL App. B).

    On input, column ``c`` of query row ``i`` holds the score for distance ``D0 − c`` (a table
    in descending distance order whose first entry belongs to the last query). On output,
    entry ``[i, j]`` holds row ``i``'s score for key ``j``: ``out[i, j] = x[i, j + Q − 1 − i]``.
    The trick pads one zero column on the left, reinterprets the ``[Q, C + 1]`` block as
    ``[C + 1, Q]``, drops the first row and reinterprets the rest as ``[Q, C]``: a shift of
    each row by a different amount with no gather. Entries that wrap around land only where
    key ``j`` is in query ``i``'s future, which the causal mask removes.

    Args:
      x_BxHxQxC: Scores indexed by distance, with ``Q <= C``.

    Returns:
      Scores indexed by key position, same shape.
    """
    *lead, Q, C = x_BxHxQxC.shape
    padded = jnp.pad(x_BxHxQxC, [(0, 0)] * len(lead) + [(0, 0), (1, 0)])
    padded = padded.reshape(*lead, C + 1, Q)[..., 1:, :]
    return padded.reshape(*lead, Q, C)
