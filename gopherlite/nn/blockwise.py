"""Causal attention over blocks of keys with an online softmax, relative positions included.

The dense layer (`gopherlite.nn.attention.Attention`) forms the float32 ``[B, H, L, L]`` score
array of both Transformer-XL terms, so its memory grows with L². Here queries and keys are
cut into tiles of ``T`` positions and a query tile visits the key tiles at or before it,
keeping a running maximum ``m``, sum ``l`` and weighted value sum (the online softmax of
Milakov & Gimelshein 2018, used by FlashAttention, Dao et al. 2022). For tile (a, b) the two
Transformer-XL products (Dai et al. 2019, Sec. 3.3; Gopher Sec. 3.1) are

  content   (q_i + u) · k_j                 from the tile's keys
  position  (q_i + v) · W_kR R_{i−j}        from the tile's ``2T − 1`` distances
                                            (a−b)T − (T−1) … (a−b)T + (T−1), relative-shifted
                                            inside the tile (`rel_shift`)

so nothing of size ``[L, L]`` exists. The backward pass is written by hand (`jax.custom_vjp`):
it saves only the inputs, the output and the row log-sum-exp, and recomputes each tile's
weights, as FlashAttention's does; so the training step's memory grows linearly in L too.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from gopherlite.nn.positions import rel_shift

Array = jax.Array
Opt = jax.Array | None
_MASKED = -1e30  # as the dense layer: finite, so a fully masked tile row gives no NaN


def _acc_dtype(dtype: jnp.dtype) -> jnp.dtype:
    """Scores and sums in float32, or float64 when the inputs are float64 (the tests)."""
    return jnp.promote_types(dtype, jnp.float32)


def _block(x_BxLxHxK: jax.Array, index: jax.Array, T: int) -> jax.Array:
    return jax.lax.dynamic_slice_in_dim(x_BxLxHxK, index * T, T, axis=1)


def _window(a: jax.Array, b: jax.Array, T: int, L: int) -> jax.Array:
    """Rows of the distance table tile (a, b) needs, in ``rel_shift``'s descending order."""
    return jnp.clip((a - b) * T + T - 1 - jnp.arange(2 * T - 1), 0, L - 1)


def _shift(win_BxHxTxW: jax.Array) -> jax.Array:
    """Distance-indexed tile scores ``[.., T, 2T−1]`` → key-indexed ``[.., T, T]``."""
    return rel_shift(win_BxHxTxW)[..., : win_BxHxTxW.shape[-2]]


def _tile_scores(
    qu_a: Array, qv_a: Opt, k_b: Array, r_PxHxK: Opt, a: Array, b: Array, T: int, scale: float
) -> Array:
    """Scaled, causally masked scores of query tile a against key tile b ``[B, H, T, T]``."""
    f = _acc_dtype(qu_a.dtype)
    s_BxHxTxT = jnp.einsum("BQHK,BCHK->BHQC", qu_a, k_b, preferred_element_type=f)
    if r_PxHxK is not None:
        r_WxHxK = r_PxHxK[_window(a, b, T, r_PxHxK.shape[0])]
        win = jnp.einsum("BQHK,WHK->BHQW", qv_a, r_WxHxK, preferred_element_type=f)
        s_BxHxTxT = s_BxHxTxT + _shift(win)
    visible_TxT = (b < a) | (jnp.arange(T)[None, :] <= jnp.arange(T)[:, None])
    return jnp.where(visible_TxT[None, None], s_BxHxTxT * scale, _MASKED)


def _forward(qu: Array, qv: Opt, k: Array, v: Array, r: Opt, T: int) -> tuple[Array, Array]:
    B, L, H, K = qu.shape
    f, scale = _acc_dtype(qu.dtype), 1.0 / math.sqrt(K)

    def query_tile(a: Array) -> tuple[Array, Array]:
        qu_a = _block(qu, a, T)
        qv_a = None if qv is None else _block(qv, a, T)

        def visit(b: Array, carry: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
            m_BxHxT, l_BxHxT, acc_BxHxTxK = carry
            s = _tile_scores(qu_a, qv_a, _block(k, b, T), r, a, b, T, scale)
            m_new = jnp.maximum(m_BxHxT, s.max(axis=-1))
            p_BxHxTxT = jnp.exp(s - m_new[..., None])
            correction = jnp.exp(m_BxHxT - m_new)
            pv = jnp.einsum(
                "BHQC,BCHK->BHQK", p_BxHxTxT.astype(v.dtype), _block(v, b, T),
                preferred_element_type=f,
            )  # fmt: skip
            return (
                m_new,
                l_BxHxT * correction + p_BxHxTxT.sum(axis=-1),
                acc_BxHxTxK * correction[..., None] + pv,
            )

        init = (
            jnp.full((B, H, T), _MASKED, f),
            jnp.zeros((B, H, T), f),
            jnp.zeros((B, H, T, K), f),
        )
        m, total, acc = jax.lax.fori_loop(0, a + 1, visit, init)
        return acc / total[..., None], m + jnp.log(total)

    o_NxBxHxTxK, lse_NxBxHxT = jax.lax.map(query_tile, jnp.arange(L // T))
    o_BxLxHxK = o_NxBxHxTxK.transpose(1, 0, 3, 2, 4).reshape(B, L, H, K)
    lse_BxHxL = lse_NxBxHxT.transpose(1, 2, 0, 3).reshape(B, H, L)
    return o_BxLxHxK.astype(v.dtype), lse_BxHxL


@functools.partial(jax.custom_vjp, nondiff_argnums=(5,))
def blockwise_attention(
    qu_BxLxHxK: jax.Array,
    qv_BxLxHxK: jax.Array | None,
    k_BxLxHxK: jax.Array,
    v_BxLxHxK: jax.Array,
    r_PxHxK: jax.Array | None,
    block: int,
) -> jax.Array:
    """Causal softmax attention over key tiles; with ``r`` the Transformer-XL position term.

    ``out_i = Σ_j softmax_j(s_ij) v_j`` over keys ``j ≤ i`` with
    ``s_ij = ((q_i + u) · k_j + (q_i + v) · r_{i−j}) / sqrt(K)`` (relative; Dai et al. 2019
    Sec. 3.3) or ``q_i · k_j / sqrt(K)`` (absolute, ``qv`` and ``r`` None).

    Args:
      qu_BxLxHxK: Queries plus the content bias ``u`` (plain queries when absolute).
      qv_BxLxHxK: Queries plus the position bias ``v``, or None (absolute positions).
      k_BxLxHxK: Content keys.
      v_BxLxHxK: Values.
      r_PxHxK: Projected relative keys ``W_kR R_d`` for distances ``d = 0 … P−1`` with
        ``P ≥ L`` (clamping already applied), or None (absolute positions).
      block: Tile size ``T``; ``L`` must be a multiple of it.

    Returns:
      The attention output ``[B, L, H, K]`` in the values' dtype.
    """
    _check(qu_BxLxHxK.shape[1], block, r_PxHxK)
    return _forward(qu_BxLxHxK, qv_BxLxHxK, k_BxLxHxK, v_BxLxHxK, r_PxHxK, block)[0]


def _check(L: int, block: int, r_PxHxK: jax.Array | None) -> None:
    if block <= 0 or L % block:
        raise ValueError(f"blockwise attention needs L ({L}) to be a multiple of block ({block})")
    if r_PxHxK is not None and r_PxHxK.shape[0] < L:
        raise ValueError(f"relative keys cover {r_PxHxK.shape[0]} distances, need {L}")


def _fwd(
    qu: Array, qv: Opt, k: Array, v: Array, r: Opt, block: int
) -> tuple[Array, tuple[Array | None, ...]]:
    _check(qu.shape[1], block, r)
    o, lse = _forward(qu, qv, k, v, r, block)
    return o, (qu, qv, k, v, r, o, lse)


def _bwd(
    T: int, residuals: tuple[Array | None, ...], do_BxLxHxK: Array
) -> tuple[Array | None, ...]:
    qu, qv, k, v, r, o, lse_BxHxL = residuals
    B, L, H, K = qu.shape
    f, scale = _acc_dtype(qu.dtype), 1.0 / math.sqrt(K)
    do_BxLxHxK = do_BxLxHxK.astype(f)
    # D_i = Σ_k dO_ik O_ik: the softmax backward's row term (FlashAttention's D).
    d_BxHxL = jnp.einsum("BLHK,BLHK->BHL", do_BxLxHxK, o.astype(f))
    zeros_win = jnp.zeros((B, H, T, 2 * T - 1), f)
    _, shift_vjp = jax.vjp(_shift, zeros_win)

    def key_tile(b: Array, grads: tuple[Array, ...]) -> tuple[Array, ...]:
        k_b, v_b = _block(k, b, T), _block(v, b, T)

        def visit(a: Array, carry: tuple[Array, ...]) -> tuple[Array, ...]:
            dqu, dqv, dr, dk_b, dv_b = carry
            qu_a = _block(qu, a, T)
            qv_a = None if qv is None else _block(qv, a, T)
            do_a = _block(do_BxLxHxK, a, T)
            lse_a = jax.lax.dynamic_slice_in_dim(lse_BxHxL, a * T, T, axis=2)
            d_a = jax.lax.dynamic_slice_in_dim(d_BxHxL, a * T, T, axis=2)
            s = _tile_scores(qu_a, qv_a, k_b, r, a, b, T, scale)
            p_BxHxTxT = jnp.exp(s - lse_a[..., None])
            dv_b = dv_b + jnp.einsum("BHQC,BQHK->BCHK", p_BxHxTxT, do_a)
            dp = jnp.einsum("BQHK,BCHK->BHQC", do_a, v_b, preferred_element_type=f)
            ds_BxHxTxT = p_BxHxTxT * (dp - d_a[..., None]) * scale
            dqu_a = jnp.einsum("BHQC,BCHK->BQHK", ds_BxHxTxT, k_b, preferred_element_type=f)
            dqu = jax.lax.dynamic_update_slice_in_dim(dqu, _block(dqu, a, T) + dqu_a, a * T, 1)
            dk_b = dk_b + jnp.einsum("BHQC,BQHK->BCHK", ds_BxHxTxT, qu_a, preferred_element_type=f)
            if r is not None:
                (dwin_BxHxTxW,) = shift_vjp(ds_BxHxTxT)
                rows_W = _window(a, b, T, r.shape[0])
                dqv_a = jnp.einsum(
                    "BHQW,WHK->BQHK", dwin_BxHxTxW, r[rows_W], preferred_element_type=f
                )
                dqv = jax.lax.dynamic_update_slice_in_dim(dqv, _block(dqv, a, T) + dqv_a, a * T, 1)
                dr_W = jnp.einsum("BHQW,BQHK->WHK", dwin_BxHxTxW, qv_a, preferred_element_type=f)
                dr = dr.at[rows_W].add(dr_W)
            return dqu, dqv, dr, dk_b, dv_b

        dqu, dqv, dr, dk, dv = grads
        zero_b = jnp.zeros((B, T, H, K), f)
        dqu, dqv, dr, dk_b, dv_b = jax.lax.fori_loop(
            b, L // T, visit, (dqu, dqv, dr, zero_b, zero_b)
        )
        dk = jax.lax.dynamic_update_slice_in_dim(dk, dk_b, b * T, 1)
        dv = jax.lax.dynamic_update_slice_in_dim(dv, dv_b, b * T, 1)
        return dqu, dqv, dr, dk, dv

    full = jnp.zeros((B, L, H, K), f)
    dr0 = jnp.zeros((1, H, K), f) if r is None else jnp.zeros(r.shape, f)
    dqv0 = full if qv is not None else jnp.zeros((1,), f)
    dqu, dqv, dr, dk, dv = jax.lax.fori_loop(0, L // T, key_tile, (full, dqv0, dr0, full, full))
    return (
        dqu.astype(qu.dtype),
        None if qv is None else dqv.astype(qv.dtype),
        dk.astype(k.dtype),
        dv.astype(v.dtype),
        None if r is None else dr.astype(r.dtype),
    )


blockwise_attention.defvjp(_fwd, _bwd)
