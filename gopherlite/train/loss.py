"""The training loss without the ``[B, L, V]`` logits: unembedding and cross-entropy, fused.

A language model's last matmul makes ``B · L · V`` float32 logits (Gopher: 32,000 per token,
G Sec. 3.1), and the usual backward pass keeps them, or their softmax, until the gradient is
formed. Here the sequence is cut into chunks of ``c`` positions; for each chunk the logits are
formed, the float32 cross-entropy (G App. C) and its gradient ``w · (softmax - target)``
are computed at once (`nll_and_logit_grad`, tested against JAX's gradient of
`gopherlite.evaluate.token_nll`), and that gradient is pushed through the unembedding
straight away (to the final hidden states and to the
embedding table). Only the ``[B, c, V]`` logits of one chunk exist at a time; the backward
pass merely scales the saved gradients by the incoming cotangent, so nothing is recomputed.

It is used for training only (a gradient is always wanted there); evaluation keeps
`gopherlite.evaluate.cross_entropy`, whose loss this equals.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from gopherlite.sharding import constrain

Array = jax.Array


def _chunks(x_BxLx: Array, c: int) -> Array:
    """``[B, L, ...]`` → ``[L // c, B, c, ...]`` (chunks of the sequence, batch kept inside)."""
    B, L = x_BxLx.shape[:2]
    return jnp.moveaxis(x_BxLx.reshape(B, L // c, c, *x_BxLx.shape[2:]), 1, 0)


def _unchunk(x_NxBxcx: Array) -> Array:
    N, B, c = x_NxBxcx.shape[:3]
    return jnp.moveaxis(x_NxBxcx, 0, 1).reshape(B, N * c, *x_NxBxcx.shape[3:])


def nll_and_logit_grad(
    z_BxLxV: Array, targets_BxL: Array, weights_BxL: Array, smoothing: float
) -> tuple[Array, Array]:
    """``Σ w · token_nll(z)`` and its gradient w.r.t. the logits, written out.

    With ``p = softmax(z)`` and the target distribution ``q = (1 - ε) · onehot + ε / V``, the
    loss of a token is ``logsumexp(z) - q · z`` and its gradient ``w · (p - q)``. Formed in
    one pass over the logits (the one-hot from a comparison with ``iota``), where JAX's own
    backward of `gopherlite.evaluate.token_nll` adds the target's ``-1`` with a scatter. The
    tests check both against `token_nll` and ``jax.grad`` of it in float64.

    Args:
      z_BxLxV: Float32 (or float64) logits.
      targets_BxL: Integer ids to predict.
      weights_BxL: Per-token weights, same dtype as the logits.
      smoothing: Label-smoothing mass ε (a Python float).

    Returns:
      The weighted loss sum (a scalar) and ``[B, L, V]`` gradient.
    """
    V = z_BxLxV.shape[-1]
    m_BxLx1 = jnp.max(z_BxLxV, axis=-1, keepdims=True)  # for a safe exp; cancels in the loss
    e_BxLxV = jnp.exp(z_BxLxV - m_BxLx1)
    s_BxLx1 = jnp.sum(e_BxLxV, axis=-1, keepdims=True)
    lse_BxL = (m_BxLx1 + jnp.log(s_BxLx1))[..., 0]
    is_target_BxLxV = (
        jax.lax.broadcasted_iota(jnp.int32, z_BxLxV.shape, 2) == targets_BxL[..., None]
    )
    q_BxLxV = jnp.where(is_target_BxLxV, 1.0 - smoothing + smoothing / V, smoothing / V)
    q_BxLxV = q_BxLxV.astype(z_BxLxV.dtype)
    nll_BxL = lse_BxL - jnp.sum(q_BxLxV * z_BxLxV, axis=-1)
    dz_BxLxV = weights_BxL[..., None] * (e_BxLxV / s_BxLx1 - q_BxLxV)
    return jnp.sum(nll_BxL * weights_BxL), dz_BxLxV


def _loss_and_grads(
    h_BxLxD: Array, table_VxD: Array, targets_BxL: Array, weights_BxL: Array, smoothing: float,
    chunk: int,
) -> tuple[Array, Array, Array, Array]:  # fmt: skip
    """Weighted NLL sum, weight sum, and their gradients w.r.t. ``h`` and ``table``."""
    f32 = jnp.promote_types(h_BxLxD.dtype, jnp.float32)  # float64 in the tests

    def one_chunk(dtable_DxV: Array, xs: tuple[Array, Array, Array]) -> tuple[Array, tuple]:
        h_BxcxD, t_Bxc, w_Bxc = xs
        z_BxcxV = jnp.einsum("BLD,VD->BLV", h_BxcxD, table_VxD, preferred_element_type=f32)
        z_BxcxV = constrain(z_BxcxV, "batch", "length", "vocab")

        # The chunk's loss and its logit gradient together, pushed through the unembedding
        # at once so the logits can be dropped.
        total, dz_BxcxV = nll_and_logit_grad(z_BxcxV, t_Bxc, w_Bxc.astype(f32), smoothing)
        dh_BxcxD = jnp.einsum("BLV,VD->BLD", dz_BxcxV, table_VxD.astype(f32))
        # The table gradient is formed as [D, V] (transposed once, at the end): XLA:CPU then
        # transposes the small [B·c, D] hidden states for the matmul rather than the [B·c, V]
        # logit gradient (2-6% faster tiny steps, measured A/B in one process, 2026-12-07).
        dtable_DxV = dtable_DxV + jnp.einsum("BLD,BLV->DV", h_BxcxD.astype(f32), dz_BxcxV)
        return dtable_DxV, (total, jnp.sum(w_Bxc.astype(f32)), dh_BxcxD.astype(h_BxLxD.dtype))

    zeros_DxV = jnp.zeros(table_VxD.shape[::-1], f32)
    if chunk == h_BxLxD.shape[1]:  # one chunk: no loop
        dtable_DxV, (total, weight, dh_BxLxD) = one_chunk(
            zeros_DxV, (h_BxLxD, targets_BxL, weights_BxL)
        )
        return total, weight, dh_BxLxD, dtable_DxV.T
    xs = (_chunks(h_BxLxD, chunk), _chunks(targets_BxL, chunk), _chunks(weights_BxL, chunk))
    dtable_DxV, (totals, weights, dh_NxBxcxD) = jax.lax.scan(one_chunk, zeros_DxV, xs)
    return totals.sum(), weights.sum(), _unchunk(dh_NxBxcxD), dtable_DxV.T


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def fused_cross_entropy(
    h_BxLxD: Array,
    table_VxD: Array,
    targets_BxL: Array,
    weights_BxL: Array,
    label_smoothing: float = 0.0,
    chunk: int | None = None,
) -> tuple[Array, Array]:
    """Weighted cross-entropy of the logits ``h · tableᵀ`` without holding them all.

    Equals ``gopherlite.evaluate.cross_entropy(einsum(h, table), targets, weights, ε)``
    (float32 logits and loss in every precision policy, G App. C).

    Args:
      h_BxLxD: Final hidden states (after the final norm), in the compute dtype.
      table_VxD: The unembedding (Gopher ties it to the input embedding), compute dtype.
      targets_BxL: Integer ids to predict.
      weights_BxL: 1.0 for real targets, 0.0 for padding (no gradient flows to them).
      label_smoothing: Mass ε spread uniformly over the vocabulary (a Python float).
      chunk: Positions per chunk; None, or a size that does not divide L, means one chunk.

    Returns:
      ``(sum of weight · loss, sum of weights)``, two float32 scalars.
    """
    total, weight, _, _ = _loss_and_grads(
        h_BxLxD, table_VxD, targets_BxL, weights_BxL, label_smoothing,
        chunk_size(h_BxLxD.shape[1], chunk),
    )  # fmt: skip
    return total, weight


def chunk_size(L: int, chunk: int | None) -> int:
    """The chunk the loss uses for length ``L``: ``chunk``, or ``L`` if None or not a divisor."""
    return L if chunk is None or chunk <= 0 or L % chunk else chunk


def _fwd(
    h: Array, table: Array, targets: Array, weights: Array, smoothing: float, chunk: int | None
) -> tuple[tuple[Array, Array], tuple[Array, ...]]:
    total, weight, dh, dtable = _loss_and_grads(
        h, table, targets, weights, smoothing, chunk_size(h.shape[1], chunk)
    )
    dtypes = (jnp.zeros((0,), h.dtype), jnp.zeros((0,), table.dtype))  # dtypes, not data
    return (total, weight), (dh, dtable, *dtypes, weights)


def _bwd(
    smoothing: float, chunk: int | None, saved: tuple[Array, ...], cotangents: tuple[Array, Array]
) -> tuple[Array | None, ...]:
    del smoothing, chunk
    dh, dtable, h, table, weights = saved
    g_total = cotangents[0]  # the weight sum does not depend on h or the table
    return (
        (g_total * dh).astype(h.dtype),
        (g_total * dtable).astype(table.dtype),
        None,
        jnp.zeros_like(weights),
    )


fused_cross_entropy.defvjp(_fwd, _bwd)
