"""The four Transformer-XL score terms of a real attention layer, one by one.

Transformer-XL (Dai et al. 2019, Sec. 3.3), which Gopher adopts (Rae et al. 2021, Sec. 3.1),
scores query i against key j with four terms, with W_kR R_{i−j} the projected sinusoid of the
distance:

  (a) q_i · k_j            content–content      (c) u · k_j            global content bias
  (b) q_i · W_kR R_{i−j}   content–position     (d) v · W_kR R_{i−j}   global position bias

`gopherlite.nn.attention.Attention` adds them up in one fused computation (the relative
shift). Here each term is computed on its own with the layer's own projections and a distance
gather (the slow, obvious way the layer avoids), so a reader can look at each and check that
their sum is the layer's score.

* :func:`relative_score_terms`: the four terms of one layer, as :class:`ScoreTerms`.
* :func:`attention_inputs`: what each block's attention layer reads, for a model's tokens;
  :func:`model_score_terms`: the terms of every layer.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from gopherlite.nn.attention import Attention
from gopherlite.nn.positions import clamp_distances
from gopherlite.nn.transformer import GopherLM

# The four terms, then their sum and the attention weights: the names `ScoreTerms.term` takes.
TERMS: tuple[str, ...] = ("a", "b", "c", "d")
TERM_NAMES: tuple[str, ...] = (*TERMS, "total", "weights")


@dataclasses.dataclass(frozen=True)
class ScoreTerms:
    """The four unscaled Transformer-XL score terms ``[B, H, Q, C]`` of one attention layer.

    Entries with key j after query i (j > i) are NaN: the causal mask removes them.

    Attributes:
      a_BxHxQxC: (a) content–content, ``q_i · k_j``.
      b_BxHxQxC: (b) content–position, ``q_i · W_kR R_{i−j}``.
      c_BxHxQxC: (c) global content bias, ``u · k_j`` (the same for every query row).
      d_BxHxQxC: (d) global position bias, ``v · W_kR R_{i−j}`` (depends on i − j only).
      d_head: Key size; the layer divides the total by its square root before the softmax.
    """

    a_BxHxQxC: jax.Array
    b_BxHxQxC: jax.Array
    c_BxHxQxC: jax.Array
    d_BxHxQxC: jax.Array
    d_head: int

    def total(self) -> jax.Array:
        """The unscaled score, ``(a) + (b) + (c) + (d)``, as the layer adds it up."""
        return self.a_BxHxQxC + self.b_BxHxQxC + self.c_BxHxQxC + self.d_BxHxQxC

    def weights(self) -> jax.Array:
        """Attention weights: softmax over the visible keys of ``total() / sqrt(d_head)``."""
        masked = jnp.isnan(self.a_BxHxQxC)
        logits = jnp.where(masked, -jnp.inf, self.total() / math.sqrt(self.d_head))
        return jnp.where(masked, jnp.nan, jax.nn.softmax(logits, axis=-1))

    def term(self, name: str) -> jax.Array:
        """One term by name: ``"a"``, ``"b"``, ``"c"``, ``"d"``, ``"total"`` or ``"weights"``.

        Args:
          name: One of ``TERM_NAMES``.

        Returns:
          The ``[B, H, Q, C]`` array, NaN above the diagonal.

        Raises:
          ValueError: an unknown name.
        """
        if name == "total":
            return self.total()
        if name == "weights":
            return self.weights()
        if name not in TERMS:
            raise ValueError(f"Unknown term {name!r}; choose one of {list(TERM_NAMES)}.")
        return getattr(self, f"{name}_BxHxQxC")

    def mean_magnitudes(self, head: int = 0, sequence: int = 0) -> dict[str, float]:
        """Mean absolute size of each term for one head, over the visible (causal) entries.

        Args:
          head: The head.
          sequence: Which sequence of the batch.

        Returns:
          ``{"a": …, "b": …, "c": …, "d": …}``.
        """
        return {
            name: float(jnp.nanmean(jnp.abs(self.term(name)[sequence, head]))) for name in TERMS
        }


def relative_score_terms(attn: Attention, x_BxLxD: jax.Array) -> ScoreTerms:
    """Compute the four Transformer-XL terms of a relative `Attention` layer separately.

    Uses the layer's own projections (``query``, ``key``, ``relative_keys`` with its clamp, and
    the biases ``u`` and ``v``), but not its fused computation: W_kR R_{i−j} is gathered for
    every (i, j) pair, an ``[L, L, H, d_head]`` array, instead of the relative shift
    (TXL Sec. 3.3). Their sum equals the layer's unscaled, unmasked scores on and below the
    diagonal.

    Args:
      attn: A relative-attention layer (``config.position == "relative"``).
      x_BxLxD: The layer's (normalised) inputs for positions 0 … L−1.

    Returns:
      The four terms, float32, NaN above the diagonal.

    Raises:
      ValueError: the layer uses absolute positions (it has only term (a)).
    """
    if not attn.relative:
        raise ValueError("An absolute-position layer has no relative terms: only q·k.")
    L = x_BxLxD.shape[1]
    q_BxQxHxK = attn.query(x_BxLxD).astype(jnp.float32)
    k_BxCxHxK = attn.key(x_BxLxD).astype(jnp.float32)
    r_PxHxK = attn.relative_keys(jnp.arange(L)).astype(jnp.float32)  # distances 0 … L−1
    future_QxC = jnp.arange(L)[None, :] > jnp.arange(L)[:, None]
    distance_QxC = clamp_distances(jnp.arange(L)[:, None] - jnp.arange(L)[None, :], None)
    r_QxCxHxK = r_PxHxK[distance_QxC]
    u_HxK = attn.u[...].astype(jnp.float32)
    v_HxK = attn.v[...].astype(jnp.float32)
    B, H = x_BxLxD.shape[0], attn.n_heads
    a = jnp.einsum("BQHK,BCHK->BHQC", q_BxQxHxK, k_BxCxHxK)
    b = jnp.einsum("BQHK,QCHK->BHQC", q_BxQxHxK, r_QxCxHxK)
    c_BxHx1xC = jnp.einsum("HK,BCHK->BHC", u_HxK, k_BxCxHxK)[:, :, None, :]
    c = jnp.broadcast_to(c_BxHx1xC, (B, H, L, L))
    d = jnp.broadcast_to(jnp.einsum("HK,QCHK->HQC", v_HxK, r_QxCxHxK)[None], (B, H, L, L))
    hide = lambda t: jnp.where(future_QxC[None, None], jnp.nan, t)  # noqa: E731
    return ScoreTerms(hide(a), hide(b), hide(c), hide(d), attn.d_head)


def attention_inputs(model: GopherLM, tokens_BxL: jax.Array) -> list[jax.Array]:
    """What each block's attention layer reads: the normalised residual stream.

    Args:
      model: A language model built with ``scan_layers=False``.
      tokens_BxL: Integer token ids.

    Returns:
      One ``[B, L, D]`` array per layer: ``attn_norm`` of the residual stream entering it.

    Raises:
      ValueError: the model stacks its blocks (``scan_layers=True``).
    """
    if model.config.scan_layers:
        raise ValueError(
            "attention_inputs walks the blocks one at a time, but this model stacks them "
            "(scan_layers=True); build the model with scan_layers=False to inspect its layers."
        )
    x_BxLxD = model.embed_tokens(tokens_BxL)
    inputs = []
    for block in model.blocks:
        inputs.append(block.attn_norm(x_BxLxD))
        x_BxLxD, _ = block(x_BxLxD)
    return inputs


def model_score_terms(model: GopherLM, tokens_BxL: jax.Array) -> list[ScoreTerms]:
    """The four terms of every layer of a relative-attention model, for the same tokens.

    Args:
      model: A relative-attention model built with ``scan_layers=False``.
      tokens_BxL: Integer token ids.

    Returns:
      One :class:`ScoreTerms` per layer, from :func:`attention_inputs`.
    """
    inputs = attention_inputs(model, tokens_BxL)
    return [
        relative_score_terms(block.attn, x_BxLxD)
        for block, x_BxLxD in zip(model.blocks, inputs, strict=True)
    ]


def attention_weights(model: GopherLM, tokens_BxL: jax.Array) -> list[jax.Array]:
    """Every layer's attention weights for the same tokens, relative or absolute positions.

    Relative layers: softmax of the four terms (`relative_score_terms`). Absolute layers (GPT-2
    style): softmax of ``q · k / sqrt(d_head)`` over the visible keys, from the layer's own
    query and key projections.

    Args:
      model: A language model built with ``scan_layers=False``.
      tokens_BxL: Integer token ids.

    Returns:
      One float32 ``[B, H, Q, C]`` array per layer; each row sums to 1 over keys 0 … i and is 0
      for keys after the query.
    """
    weights = []
    for block, x_BxLxD in zip(model.blocks, attention_inputs(model, tokens_BxL), strict=True):
        attn: Attention = block.attn
        if attn.relative:
            w_BxHxQxC = jnp.nan_to_num(relative_score_terms(attn, x_BxLxD).weights())
        else:
            q_BxQxHxK = attn.query(x_BxLxD).astype(jnp.float32)
            k_BxCxHxK = attn.key(x_BxLxD).astype(jnp.float32)
            L = x_BxLxD.shape[1]
            scores = jnp.einsum("BQHK,BCHK->BHQC", q_BxQxHxK, k_BxCxHxK) / math.sqrt(attn.d_head)
            visible_QxC = jnp.arange(L)[None, :] <= jnp.arange(L)[:, None]
            w_BxHxQxC = jax.nn.softmax(
                jnp.where(visible_QxC[None, None], scores, -jnp.inf), axis=-1
            )
        weights.append(w_BxHxQxC)
    return weights
