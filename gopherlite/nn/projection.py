"""The feed-forward block's matmuls, with the weight gradient's operands in a chosen order.

``y = x @ W`` has two gradients: ``dx = dy @ Wᵀ`` and ``dW = xᵀ dy``, a contraction over all
``B · L`` tokens. How that contraction is written (which activation comes first) is invisible
in the maths but not to XLA:CPU's layout choices: with JAX's own backward of the up
projection of Gopher's MLP (``D → 4D``, G Sec. 3.1), the compiled tiny train step transposes
the wide ``[B·L, 4D]`` hidden gradient inside the GELU backward's fusion, the slowest copies
of its profile (4 × 9 ms, ``benchmarks/results/profile_tiny.md`` of 2026-12-07). `matmul`
keeps the forward and ``dx`` of a plain matmul and forms ``dW`` with the narrower activation
first (``[D, F]`` directly, or ``[F, D]`` transposed once: a weight-sized copy); the
transposes then disappear from the compiled step.

Measured on 2 cores, 2026-12-07, alternating in one process: the gradient of 4 MLP blocks at
the tiny shape (16 × 128 tokens, D = 128, F = 512) 0.56× the default's time; the whole tiny
train step 0.82×, the 44M step 0.94× (on the tiny step: the same losses over three steps,
gradient norms equal to float32 rounding). The order is a layout hint only; the values are
the same sums.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


@jax.custom_vjp
def matmul(x_NxD: Array, w_DxF: Array) -> Array:
    """``x @ w`` over the last axis of ``x`` (any leading axes), narrow-first weight gradient.

    Args:
      x_NxD: Activations ``[..., D]``.
      w_DxF: Weights ``[D, F]``, same dtype as ``x``.

    Returns:
      ``[..., F]``, as ``jnp.einsum("...D,DF->...F", x, w)``.
    """
    return jnp.einsum("...D,DF->...F", x_NxD, w_DxF)


def _matmul_fwd(x_NxD: Array, w_DxF: Array) -> tuple[Array, tuple[Array, Array]]:
    return matmul(x_NxD, w_DxF), (x_NxD, w_DxF)


def _matmul_bwd(res: tuple[Array, Array], dy_NxF: Array) -> tuple[Array, Array]:
    x_NxD, w_DxF = res
    dx_NxD = jnp.einsum("...F,DF->...D", dy_NxF, w_DxF)
    D, F = w_DxF.shape
    if D <= F:  # the input is the narrower activation
        dw_DxF = jnp.einsum("...D,...F->DF", x_NxD, dy_NxF)
    else:  # the output gradient is: form [F, D], transpose the weight-sized result
        dw_DxF = jnp.einsum("...F,...D->FD", dy_NxF, x_NxD).T
    return dx_NxD, dw_DxF.astype(w_DxF.dtype)


matmul.defvjp(_matmul_fwd, _matmul_bwd)
