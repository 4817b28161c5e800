"""Multi-head causal self-attention with Transformer-XL relative positions and a KV cache.

For query position i and key position j the unscaled relative score is the sum of four terms
(Transformer-XL, Dai et al. 2019, Sec. 3.3), with keys split into a content projection W_kE
and a position projection W_kR of the sinusoid table R:

  (a) q_i · k_j           content-content        (c) u · k_j            global content bias
  (b) q_i · W_kR R_{i−j}  content-position       (d) v · W_kR R_{i−j}   global position bias

computed as ``q · k + u · k`` for (a)+(c) and ``q · W_kR R + v · W_kR R`` followed by the
relative shift for (b)+(d) (the bias products once per key, broadcast over the queries).
Scores are scaled by 1/sqrt(d_head), masked causally and soft-maxed in float32 in every
precision policy (G App. C). With ``position="absolute"`` the layer is GPT-2's plain
scaled dot-product attention and positions enter through the embedding instead.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from gopherlite.config import ModelConfig
from gopherlite.nn.blockwise import blockwise_attention
from gopherlite.nn.init import dtype_of, logical, normal_init
from gopherlite.nn.positions import clamp_distances, rel_shift, sinusoids
from gopherlite.sharding import constrain

# Large negative instead of -inf: a fully masked row (never produced here) would give NaNs.
_MASKED = -1e30


class KVCache(NamedTuple):
    """One layer's decoding state: content keys and values for ``C`` slots.

    Attributes:
      k_BxCxHxK: Content keys W_kE x_j of every position written so far.
      v_BxCxHxK: Values of every position written so far.
      r_CxHxK: Projected relative keys W_kR R_d for distances d = 0 … C−1 (relative attention
        only; computed once when the cache is made, since they depend on weights alone).
      index: Number of positions already written (int32 scalar).
    """

    k_BxCxHxK: jax.Array
    v_BxCxHxK: jax.Array
    r_CxHxK: jax.Array | None
    index: jax.Array


class Attention(nnx.Module):
    """Causal multi-head attention, relative (Transformer-XL, Gopher) or absolute (GPT-2)."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs) -> None:
        """Create the projections (and for relative attention W_kR, u and v).

        Args:
          config: Model config; uses d_model, n_heads, d_head, n_layers, position, clamp_len,
            init_std, dtype and param_dtype.
          rngs: Random streams for initialisation.
        """
        D, H, K = config.d_model, config.n_heads, config.d_head
        self.relative = config.position == "relative"
        self.clamp_len = config.clamp_len
        self.blockwise_from, self.block = config.blockwise_from, config.attention_block
        self.d_model, self.n_heads, self.d_head = D, H, K
        self.dtype = dtype_of(config.dtype)
        param_dtype = dtype_of(config.param_dtype)
        std, out_std = config.init_std, config.init_std / math.sqrt(2 * config.n_layers)

        def proj(einsum: str, shape: tuple[int, ...], std: float, *names: str) -> nnx.Einsum:
            return nnx.Einsum(
                einsum,
                shape,
                kernel_init=normal_init(std, *names),
                dtype=self.dtype,
                param_dtype=param_dtype,
                rngs=rngs,
            )

        self.query = proj("BLD,DHK->BLHK", (D, H, K), std, "embed", "heads", "kv")
        self.key = proj("BLD,DHK->BLHK", (D, H, K), std, "embed", "heads", "kv")
        self.value = proj("BLD,DHK->BLHK", (D, H, K), std, "embed", "heads", "kv")
        self.out = proj("BLHK,HKD->BLD", (H, K, D), out_std, "heads", "kv", "embed")
        if self.relative:
            self.pos_key = proj("PD,DHK->PHK", (D, H, K), std, "embed", "heads", "kv")  # W_kR
            self.u = nnx.Param(jnp.zeros((H, K), param_dtype), **logical("heads", "kv"))
            self.v = nnx.Param(jnp.zeros((H, K), param_dtype), **logical("heads", "kv"))

    def relative_keys(self, distances_P: jax.Array) -> jax.Array:
        """Project the sinusoid table of the given distances: W_kR R_d.

        Args:
          distances_P: Query − key distances (clamped here if ``clamp_len`` is set).

        Returns:
          Relative keys ``[P, H, K]`` in the compute dtype.
        """
        R_PxD = sinusoids(clamp_distances(distances_P, self.clamp_len), self.d_model)
        return self.pos_key(R_PxD.astype(self.dtype))

    def init_cache(self, batch_size: int, max_len: int) -> KVCache:
        """An empty cache with ``max_len`` slots.

        Args:
          batch_size: Sequences decoded together.
          max_len: Slots; the prompt plus every generated token must fit.

        Returns:
          The empty cache (index 0).
        """
        zeros = jnp.zeros((batch_size, max_len, self.n_heads, self.d_head), self.dtype)
        r = self.relative_keys(jnp.arange(max_len)) if self.relative else None
        return KVCache(zeros, zeros, r, jnp.zeros((), jnp.int32))

    def __call__(
        self, x_BxQxD: jax.Array, cache: KVCache | None = None
    ) -> tuple[jax.Array, KVCache | None]:
        """Attend causally from Q new positions to themselves and everything cached.

        Without a cache the Q positions are the whole sequence (positions 0 … Q−1). With a
        cache they are positions ``index … index+Q−1``; their keys and values are written into
        the cache first, and slots beyond them are masked.

        Args:
          x_BxQxD: Normalised inputs of the new positions.
          cache: Decoding state, or None for a full forward pass.

        Returns:
          The attention output ``[B, Q, D]`` and the updated cache (None without one).
        """
        Q = x_BxQxD.shape[1]
        names = ("batch", "length", "heads", "kv")
        q_BxQxHxK = constrain(self.query(x_BxQxD), *names)
        k_BxQxHxK = constrain(self.key(x_BxQxD), *names)
        v_BxQxHxK = constrain(self.value(x_BxQxD), *names)

        if cache is None:
            offset = jnp.zeros((), jnp.int32)
            k_BxCxHxK, v_BxCxHxK = k_BxQxHxK, v_BxQxHxK
            new_cache = None
        else:
            offset = cache.index
            start = (0, offset, 0, 0)
            k_BxCxHxK = jax.lax.dynamic_update_slice(cache.k_BxCxHxK, k_BxQxHxK, start)
            v_BxCxHxK = jax.lax.dynamic_update_slice(cache.v_BxCxHxK, v_BxQxHxK, start)
            new_cache = KVCache(k_BxCxHxK, v_BxCxHxK, cache.r_CxHxK, offset + Q)
        C = k_BxCxHxK.shape[1]
        if cache is None and self.uses_blockwise(Q):
            return self.out(self._blockwise(q_BxQxHxK, k_BxQxHxK, v_BxQxHxK)), None

        if self.relative:
            # Column c of the distance-indexed table holds distance (offset + Q − 1) − c.
            distances_C = offset + Q - 1 - jnp.arange(C)
            if cache is None:
                r_CxHxK = self.relative_keys(distances_C)
            else:
                r_CxHxK = cache.r_CxHxK[jnp.clip(distances_C, 0, C - 1)]
            scores_BxHxQxC = self._relative_scores(q_BxQxHxK, k_BxCxHxK, r_CxHxK)
        else:
            scores_BxHxQxC = jnp.einsum(
                "BQHK,BCHK->BHQC", q_BxQxHxK, k_BxCxHxK, preferred_element_type=jnp.float32
            )
        scores_BxHxQxC = scores_BxHxQxC / math.sqrt(q_BxQxHxK.shape[-1])

        causal_QxC = jnp.arange(C)[None, :] <= (offset + jnp.arange(Q))[:, None]
        scores_BxHxQxC = jnp.where(causal_QxC[None, None], scores_BxHxQxC, _MASKED)
        probs_BxHxQxC = jax.nn.softmax(scores_BxHxQxC, axis=-1).astype(self.dtype)
        out_BxQxHxK = jnp.einsum("BHQC,BCHK->BQHK", probs_BxHxQxC, v_BxCxHxK)
        return self.out(out_BxQxHxK), new_cache

    def uses_blockwise(self, length: int) -> bool:
        """Whether a full pass over ``length`` positions runs tile by tile (see config)."""
        return (
            self.blockwise_from is not None
            and length >= self.blockwise_from
            and length % self.block == 0
        )

    def _blockwise(
        self, q_BxLxHxK: jax.Array, k_BxLxHxK: jax.Array, v_BxLxHxK: jax.Array
    ) -> jax.Array:
        """The same attention as the dense path, over key tiles (`gopherlite.nn.blockwise`)."""
        if not self.relative:
            return blockwise_attention(q_BxLxHxK, None, k_BxLxHxK, v_BxLxHxK, None, self.block)
        L = q_BxLxHxK.shape[1]
        qu_BxLxHxK = q_BxLxHxK + self.u[...].astype(q_BxLxHxK.dtype)[None, None]
        qv_BxLxHxK = q_BxLxHxK + self.v[...].astype(q_BxLxHxK.dtype)[None, None]
        r_LxHxK = self.relative_keys(jnp.arange(L))  # distances 0 … L−1, clamped
        return blockwise_attention(
            qu_BxLxHxK, qv_BxLxHxK, k_BxLxHxK, v_BxLxHxK, r_LxHxK, self.block
        )

    def _relative_scores(
        self, q_BxQxHxK: jax.Array, k_BxCxHxK: jax.Array, r_CxHxK: jax.Array
    ) -> jax.Array:
        """The four Transformer-XL terms, unscaled, in float32: (a)+(c) plus shifted (b)+(d).

        The bias terms (c) = u · k_j and (d) = v · W_kR R do not depend on the query, so they
        are computed once per key (``[B, H, C]`` and ``[H, C]``) and broadcast over the
        queries, instead of materialising ``q + u`` and ``q + v`` (two more ``[B, Q, H, K]``
        arrays and their layout copies). Measured on the tiny train step: 1.4–2.0% faster, and
        the relative/absolute step-time ratio 1.079–1.084 instead of 1.094–1.111.
        """
        u_HxK = self.u[...].astype(q_BxQxHxK.dtype)
        v_HxK = self.v[...].astype(q_BxQxHxK.dtype)
        f32 = jnp.float32
        a_BxHxQxC = jnp.einsum("BQHK,BCHK->BHQC", q_BxQxHxK, k_BxCxHxK, preferred_element_type=f32)
        c_BxHxC = jnp.einsum("HK,BCHK->BHC", u_HxK, k_BxCxHxK, preferred_element_type=f32)
        b_BxHxQxC = jnp.einsum("BQHK,CHK->BHQC", q_BxQxHxK, r_CxHxK, preferred_element_type=f32)
        d_HxC = jnp.einsum("HK,CHK->HC", v_HxK, r_CxHxK, preferred_element_type=f32)
        ac_BxHxQxC = a_BxHxQxC + c_BxHxC[:, :, None, :]
        return ac_BxHxQxC + rel_shift(b_BxHxQxC + d_HxC[None, :, None, :])
