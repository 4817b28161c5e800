"""RMSNorm (Zhang & Sennrich 2019), used by Gopher instead of LayerNorm (G Sec. 3.1).

RMSNorm rescales each feature vector by its root mean square and a learned gain:
``y = g · x / sqrt(mean(x²) + eps)``. LayerNorm first subtracts the mean (and, in GPT-2, adds a
learned bias); on zero-mean inputs the two coincide. Statistics are computed in float32 under
every precision policy and the result is cast back to the activation dtype.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from gopherlite.config import ModelConfig
from gopherlite.nn.init import dtype_of, logical


def rms_norm(x_BxLxD: jax.Array, scale_D: jax.Array, eps: float) -> jax.Array:
    """Root-mean-square normalisation over the last axis, statistics in float32.

    Args:
      x_BxLxD: Input features (any leading shape).
      scale_D: Learned gain g.
      eps: Added to the mean square inside the square root.

    Returns:
      ``scale · x / sqrt(mean(x²) + eps)`` in the dtype of ``x``.
    """
    x32 = x_BxLxD.astype(jnp.float32)
    inv_rms = jax.lax.rsqrt(jnp.mean(jnp.square(x32), axis=-1, keepdims=True) + eps)
    y = x32 * inv_rms * scale_D.astype(jnp.float32).reshape((1,) * (x32.ndim - 1) + (-1,))
    return y.astype(x_BxLxD.dtype)


def layer_norm(x_BxLxD: jax.Array, scale_D: jax.Array, bias_D: jax.Array, eps: float) -> jax.Array:
    """LayerNorm: RMSNorm of the mean-centred input plus a learned bias.

    Written through `rms_norm` so that the one difference between the two, the mean term, is
    explicit: ``layer_norm(x, g, 0) == rms_norm(x - mean(x), g)``.

    Args:
      x_BxLxD: Input features.
      scale_D: Learned gain.
      bias_D: Learned bias.
      eps: Added to the variance inside the square root.

    Returns:
      The normalised features in the dtype of ``x``.
    """
    x32 = x_BxLxD.astype(jnp.float32)
    centred = x32 - jnp.mean(x32, axis=-1, keepdims=True)
    y = rms_norm(centred, scale_D, eps) + bias_D.astype(jnp.float32).reshape(
        (1,) * (x32.ndim - 1) + (-1,)
    )
    return y.astype(x_BxLxD.dtype)


class Norm(nnx.Module):
    """The block norm selected by ``config.norm``: RMSNorm (Gopher) or LayerNorm (GPT-2)."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs) -> None:
        """Create the gain (and, for LayerNorm, the bias) of width d_model.

        Args:
          config: Model config; uses ``norm``, ``d_model``, ``norm_eps`` and ``param_dtype``.
          rngs: Unused (norms are initialised deterministically); kept for a uniform API.
        """
        del rngs
        self.kind = config.norm
        self.eps = config.norm_eps
        param_dtype = dtype_of(config.param_dtype)
        self.scale = nnx.Param(jnp.ones((config.d_model,), param_dtype), **logical("embed"))
        if self.kind == "layer":
            self.bias = nnx.Param(jnp.zeros((config.d_model,), param_dtype), **logical("embed"))

    def __call__(self, x_BxLxD: jax.Array) -> jax.Array:
        """Normalise the last axis.

        Args:
          x_BxLxD: Activations.

        Returns:
          Normalised activations, same shape and dtype.
        """
        if self.kind == "rms":
            return rms_norm(x_BxLxD, self.scale[...], self.eps)
        return layer_norm(x_BxLxD, self.scale[...], self.bias[...], self.eps)
