"""`GopherLM`: the decoder-only Transformer of Gopher (Rae et al. 2021, Sec. 3.1).

GPT-2's architecture (pre-norm residual blocks, GELU feed-forward of width 4 · d_model, a final
norm, input and output embeddings tied) with Gopher's two changes: RMSNorm instead of
LayerNorm, and Transformer-XL relative attention instead of learned absolute positions.
Tying is inferred from Table 1's parameter counts (see ``gopher_facts.md`` Sec. 1).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import nnx
from flax.nnx.nn.dtypes import promote_dtype

from gopherlite.config import ModelConfig
from gopherlite.nn.attention import Attention, KVCache
from gopherlite.nn.init import dtype_of, logical, normal_init
from gopherlite.nn.norm import Norm
from gopherlite.nn.projection import matmul
from gopherlite.sharding import constrain


class FeedForward(nnx.Module):
    """GELU MLP ``W_down gelu(W_up x)`` of hidden width d_ff, bias-free."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs) -> None:
        """Create the two projections.

        Args:
          config: Model config; uses d_model, d_ff, n_layers, init_std and dtypes.
          rngs: Random streams for initialisation.
        """
        out_std = config.init_std / math.sqrt(2 * config.n_layers)
        common = dict(
            use_bias=False,
            dtype=dtype_of(config.dtype),
            param_dtype=dtype_of(config.param_dtype),
            rngs=rngs,
        )
        self.up = nnx.Linear(
            config.d_model, config.d_ff, kernel_init=normal_init(config.init_std, "embed", "mlp"),
            **common,
        )  # fmt: skip
        self.down = nnx.Linear(
            config.d_ff, config.d_model, kernel_init=normal_init(out_std, "mlp", "embed"),
            **common,
        )  # fmt: skip

    def __call__(self, x_BxLxD: jax.Array) -> jax.Array:
        """Apply the MLP.

        Args:
          x_BxLxD: Normalised activations.

        Returns:
          The MLP output, same shape.
        """
        h_BxLxF = constrain(_project(self.up, x_BxLxD), "batch", "length", "mlp")
        return _project(self.down, jax.nn.gelu(h_BxLxF, approximate=True))


def _project(linear: nnx.Linear, x_BxLxD: jax.Array) -> jax.Array:
    """``linear(x)`` with `projection.matmul`'s backward (same dtypes as ``nnx.Linear``)."""
    x_BxLxD, kernel_DxF = promote_dtype((x_BxLxD, linear.kernel[...]), dtype=linear.dtype)
    return matmul(x_BxLxD, kernel_DxF)


class Block(nnx.Module):
    """Pre-norm residual block: ``x + attn(norm(x))`` then ``x + ffn(norm(x))``."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs) -> None:
        """Create the two norms, the attention and the feed-forward.

        Args:
          config: Model config.
          rngs: Random streams for initialisation.
        """
        self.attn_norm = Norm(config, rngs=rngs)
        self.attn = Attention(config, rngs=rngs)
        self.ffn_norm = Norm(config, rngs=rngs)
        self.ffn = FeedForward(config, rngs=rngs)

    def __call__(
        self, x_BxLxD: jax.Array, cache: KVCache | None = None, *, prefill: bool = False
    ) -> tuple[jax.Array, KVCache | None]:
        """Apply the block.

        Args:
          x_BxLxD: Residual stream.
          cache: This layer's decoding state, or None.
          prefill: Fill an empty ``cache`` with positions 0 … L−1 (`Attention.prefill`).

        Returns:
          The new residual stream and the updated cache.
        """
        h_BxLxD = self.attn_norm(x_BxLxD)
        if prefill:
            h_BxLxD, cache = self.attn.prefill(h_BxLxD, cache)
        else:
            h_BxLxD, cache = self.attn(h_BxLxD, cache)
        x_BxLxD = x_BxLxD + h_BxLxD
        return x_BxLxD + self.ffn(self.ffn_norm(x_BxLxD)), cache


class GopherLM(nnx.Module):
    """A Gopher-family language model: int32 tokens ``[B, L]`` to float32 logits ``[B, L, V]``.

    Example:
      >>> model = GopherLM(PRESETS["tiny"], rngs=nnx.Rngs(0))
      >>> logits_BxLxV = model(jnp.zeros((2, 16), jnp.int32))
    """

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs) -> None:
        """Create the embedding, the blocks and the final norm.

        Args:
          config: Model config (see `gopherlite.PRESETS`).
          rngs: Random streams for initialisation, e.g. ``nnx.Rngs(0)``.
        """
        self.config = config
        self.dtype = dtype_of(config.dtype)
        self.embed = nnx.Embed(
            config.vocab_size,
            config.d_model,
            embedding_init=normal_init(config.init_std, "vocab", "embed"),
            dtype=self.dtype,
            param_dtype=dtype_of(config.param_dtype),
            rngs=rngs,
        )
        if config.position == "absolute":
            table_LxD = nnx.initializers.normal(config.init_std)(
                rngs.params(), (config.max_seq_len, config.d_model), dtype_of(config.param_dtype)
            )
            self.pos_embed = nnx.Param(table_LxD, **logical("length", "embed"))
        if config.scan_layers:
            self.blocks = _stacked_blocks(config, rngs)
        else:
            self.blocks = nnx.List([Block(config, rngs=rngs) for _ in range(config.n_layers)])
        self.final_norm = Norm(config, rngs=rngs)

    def __call__(self, tokens_BxL: jax.Array) -> jax.Array:
        """Full causal forward pass.

        Args:
          tokens_BxL: Integer token ids.

        Returns:
          Float32 next-token logits ``[B, L, V]``.
        """
        x_BxLxD = self.embed_tokens(tokens_BxL, offset=0)
        x_BxLxD, _ = self.apply_blocks(x_BxLxD)
        return self.unembed(x_BxLxD)

    def embed_tokens(self, tokens_BxL: jax.Array, offset: jax.Array | int = 0) -> jax.Array:
        """Token embeddings (plus learned positions in the absolute variant).

        Args:
          tokens_BxL: Integer token ids.
          offset: Position of the first token (nonzero when decoding with a cache).

        Returns:
          Embeddings ``[B, L, D]`` in the compute dtype.
        """
        if tokens_BxL.ndim != 2 or not jnp.issubdtype(tokens_BxL.dtype, jnp.integer):
            raise TypeError(
                "GopherLM expects integer token ids of shape [batch, length]; got "
                f"{tokens_BxL.dtype} of shape {tuple(tokens_BxL.shape)}. Use "
                "jnp.asarray(ids, jnp.int32)[None] for a single sequence."
            )
        L = tokens_BxL.shape[1]
        x_BxLxD = self.embed(tokens_BxL)
        if self.config.position == "absolute":
            if isinstance(offset, int) and offset + L > self.config.max_seq_len:
                raise ValueError(
                    f"Sequence of {offset + L} positions is longer than this absolute-position "
                    f"model's max_seq_len={self.config.max_seq_len}; shorten the input or use "
                    "position='relative', which has no length limit."
                )
            pos_LxD = jax.lax.dynamic_slice_in_dim(self.pos_embed[...], offset, L, axis=0)
            x_BxLxD = x_BxLxD + pos_LxD.astype(self.dtype)[None]
        return constrain(x_BxLxD, "batch", "length", "embed")

    def apply_blocks(
        self, x_BxLxD: jax.Array, caches: Caches | None = None, *, prefill: bool = False
    ) -> tuple[jax.Array, Caches | None]:
        """Run every block on the residual stream.

        Args:
          x_BxLxD: Embeddings.
          caches: The decoding state from `init_cache`, or None for a full forward pass.
          prefill: The caches are empty and ``x_BxLxD`` holds positions 0 … L−1 (`prefill`).

        Returns:
          The final residual stream (before the final norm) and the updated caches.
        """
        if self.config.scan_layers:
            return _scan_blocks(
                self.blocks, x_BxLxD, caches, remat=self.config.remat, prefill=prefill
            )
        if caches is None and self.config.remat:
            # Save only each block's input; recompute its insides in the backward pass.
            remat_block = nnx.remat(lambda block, x: block(x)[0])
            for block in self.blocks:
                x_BxLxD = remat_block(block, x_BxLxD)
            return x_BxLxD, None
        new_caches = [] if caches is not None else None
        for i, block in enumerate(self.blocks):
            cache = None if caches is None else caches[i]
            x_BxLxD, cache = block(x_BxLxD, cache, prefill=prefill)
            if new_caches is not None:
                new_caches.append(cache)
        return x_BxLxD, new_caches

    def final_hidden(self, tokens_BxL: jax.Array) -> jax.Array:
        """The full pass up to the logits: blocks, then the final norm (``[B, L, D]``).

        Used with `unembedding` by the training loss (`gopherlite.train.loss`), which forms
        the logits chunk by chunk instead of all at once.
        """
        x_BxLxD, _ = self.apply_blocks(self.embed_tokens(tokens_BxL, offset=0))
        return self.final_norm(x_BxLxD)

    def unembedding(self) -> jax.Array:
        """The output projection ``[V, D]`` in the compute dtype: the tied input embedding."""
        return self.embed.embedding[...].astype(self.dtype)

    def unembed(self, x_BxLxD: jax.Array) -> jax.Array:
        """Final norm, then logits against the tied embedding with float32 accumulation.

        Args:
          x_BxLxD: Residual stream after the last block.

        Returns:
          Float32 logits ``[B, L, V]``.
        """
        h_BxLxD = self.final_norm(x_BxLxD)
        logits_BxLxV = jnp.einsum(
            "BLD,VD->BLV", h_BxLxD, self.unembedding(), preferred_element_type=jnp.float32
        )
        return constrain(logits_BxLxV, "batch", "length", "vocab")

    def init_cache(self, batch_size: int, max_len: int) -> Caches:
        """Empty decoding state for every layer.

        Args:
          batch_size: Sequences decoded together.
          max_len: Slots per layer: prompt plus generated tokens must fit.

        Returns:
          One `KVCache` per layer, or with ``scan_layers`` one `KVCache` whose arrays have a
          leading layer axis.
        """
        if self.config.position == "absolute" and max_len > self.config.max_seq_len:
            raise ValueError(
                f"A cache of {max_len} positions exceeds this absolute-position model's "
                f"max_seq_len={self.config.max_seq_len}; ask for fewer tokens."
            )
        if self.config.scan_layers:
            graphdef, layers = nnx.split(self.blocks)
            return jax.vmap(
                lambda one_layer: nnx.merge(graphdef, one_layer).attn.init_cache(
                    batch_size, max_len
                )
            )(layers)
        return [block.attn.init_cache(batch_size, max_len) for block in self.blocks]

    def decode(self, tokens_BxQ: jax.Array, caches: Caches) -> tuple[jax.Array, Caches]:
        """Process Q new tokens after the cached ones (prefill or one decoding step).

        The caller must keep ``index + Q`` within the cache's size; `gopherlite.generate`
        checks this before it starts.

        Args:
          tokens_BxQ: The new token ids.
          caches: Decoding state from `init_cache` or a previous call.

        Returns:
          Float32 logits of the new positions ``[B, Q, V]`` and the updated caches.
        """
        index = caches.index[0] if isinstance(caches, KVCache) else caches[0].index
        x_BxQxD = self.embed_tokens(tokens_BxQ, offset=index)
        x_BxQxD, caches = self.apply_blocks(x_BxQxD, caches)
        return self.unembed(x_BxQxD), caches

    def prefill(self, tokens_BxL: jax.Array, caches: Caches) -> tuple[jax.Array, Caches]:
        """Fill empty caches with a prompt: the same logits and caches as `decode`, faster.

        `decode` scores the L new positions against all C slots (``[B, H, L, C]``) because the
        cache index is a traced value. Here the caches are known to be empty, so every layer
        runs the full-pass attention over the prompt alone (`Attention.prefill`): tile by
        tile once the prompt reaches ``config.blockwise_from`` (memory linear in L), dense
        below. A long prompt that is not a multiple of ``config.attention_block`` is split:
        the largest multiple goes through the full pass, the few remaining positions through
        `decode`.

        Args:
          tokens_BxL: The prompt's token ids.
          caches: Empty decoding state from `init_cache` (index 0), with at least L slots.

        Returns:
          Float32 logits of the prompt ``[B, L, V]`` and the caches with index L.
        """
        L, start = tokens_BxL.shape[1], self.config.blockwise_from
        head = L - L % self.config.attention_block
        if start is None or head < max(start, 1):
            head = L
        x_BxLxD = self.embed_tokens(tokens_BxL[:, :head], offset=0)
        x_BxLxD, caches = self.apply_blocks(x_BxLxD, caches, prefill=True)
        logits_BxLxV = self.unembed(x_BxLxD)
        if head == L:
            return logits_BxLxV, caches
        tail_BxTxV, caches = self.decode(tokens_BxL[:, head:], caches)
        return jnp.concatenate([logits_BxLxV, tail_BxTxV], axis=1), caches


# Decoding state: one `KVCache` per layer, or one with a leading layer axis (``scan_layers``).
Caches = list[KVCache] | KVCache

# Logical name of the stacked blocks' leading axis; no layout shards it, so every device holds
# all layers of its shard of each parameter.
_LAYERS = {nnx.PARTITION_NAME: "layers"}


def _stacked_blocks(config: ModelConfig, rngs: nnx.Rngs) -> Block:
    """``n_layers`` blocks created by one vmapped constructor: parameters ``[n_layers, ...]``.

    Args:
      config: Model config.
      rngs: Random streams; split so each layer draws different initial weights.

    Returns:
      One `Block` whose every variable has a leading layer axis named ``layers``.
    """

    @nnx.split_rngs(splits=config.n_layers)
    @nnx.vmap(in_axes=0, out_axes=0, transform_metadata=_LAYERS)
    def create(rngs: nnx.Rngs) -> Block:
        return Block(config, rngs=rngs)

    return create(rngs)


def _scan_blocks(
    blocks: Block,
    x_BxLxD: jax.Array,
    caches: KVCache | None,
    *,
    remat: bool,
    prefill: bool = False,
) -> tuple[jax.Array, KVCache | None]:
    """Run stacked blocks with one ``jax.lax.scan`` over the layer axis.

    The blocks are split into their structure and their stacked arrays; each scan step
    rebuilds one layer from its slice. Plain JAX transforms (not Flax's lifted ones) keep this
    usable inside any outer ``jax.grad`` or ``jax.jit`` that closes over the model.

    Args:
      blocks: Stacked blocks from `_stacked_blocks`.
      x_BxLxD: Residual stream entering the first block.
      caches: Stacked decoding state, or None for a full forward pass.
      remat: Recompute each block's insides in the backward pass (full pass only).
      prefill: Fill empty caches with positions 0 … L−1 (`GopherLM.prefill`).

    Returns:
      The residual stream after the last block and the updated stacked caches.
    """
    graphdef, layers = nnx.split(blocks)
    if caches is None:

        def layer(x_BxLxD: jax.Array, one_layer: nnx.State) -> tuple[jax.Array, None]:
            return nnx.merge(graphdef, one_layer)(x_BxLxD)[0], None

        body = jax.checkpoint(layer) if remat else layer
        return jax.lax.scan(body, x_BxLxD, layers)[0], None

    # The stacked caches are carried, not scanned over: a scanned-over cache would be sliced
    # out and stacked back whole for every layer and step (three copies of each layer's
    # cache per step in XLA:CPU's HLO). Carried, only the L new slots are written back.
    def decode_layer(
        carry: tuple[jax.Array, KVCache], one_layer_and_index: tuple[nnx.State, jax.Array]
    ) -> tuple[tuple[jax.Array, KVCache], None]:
        (x_BxLxD, stacked), (one_layer, i) = carry, one_layer_and_index
        cache = jax.tree.map(lambda leaf: leaf[i], stacked)
        x_BxLxD, cache = nnx.merge(graphdef, one_layer)(x_BxLxD, cache, prefill=prefill)
        L = x_BxLxD.shape[1]
        start = cache.index - L

        def put(stack_SxNxCxK: jax.Array, layer_NxCxK: jax.Array) -> jax.Array:
            new_NxLxK = jax.lax.dynamic_slice_in_dim(layer_NxCxK, start, L, axis=1)
            return jax.lax.dynamic_update_slice(stack_SxNxCxK, new_NxLxK[None], (i, 0, start, 0))

        stacked = dataclasses.replace(
            stacked,
            k_NxCxK=put(stacked.k_NxCxK, cache.k_NxCxK),
            v_NxCxK=put(stacked.v_NxCxK, cache.v_NxCxK),
            index=stacked.index.at[i].set(cache.index),
        )
        return (x_BxLxD, stacked), None

    n_layers = jax.tree.leaves(layers)[0].shape[0]
    (x_BxLxD, caches), _ = jax.lax.scan(
        decode_layer, (x_BxLxD, caches), (layers, jnp.arange(n_layers))
    )
    return x_BxLxD, caches


def count_params(config: ModelConfig, *, include_embeddings: bool = True) -> int:
    """Count `GopherLM`'s parameters from shapes alone (`nnx.eval_shape`, nothing allocated).

    Args:
      config: Model config.
      include_embeddings: If False, leave out the token embedding and any absolute
        position table.

    Returns:
      The number of scalar parameters.
    """
    abstract = nnx.eval_shape(lambda: GopherLM(config, rngs=nnx.Rngs(0)))
    total = 0
    for path, leaf in nnx.to_flat_state(nnx.state(abstract, nnx.Param)):
        if not include_embeddings and path[0] in ("embed", "pos_embed"):
            continue
        total += math.prod(leaf.shape)
    return total
