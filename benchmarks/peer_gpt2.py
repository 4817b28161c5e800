"""An independent peer for the bench: a plain Flax NNX GPT-2 that shares no gopherlite code.

The bench (`gopherlite.bench.peer`) loads this file by path and times its train step against
gopherlite's, in alternation, at the same shape and on the same batch. For that comparison to
say something about gopherlite, nothing here may come from it: the model is assembled from the
framework's own layers, and the loss, the optimizer and the jitted step are written here.

The model is GPT-2 (Radford et al. 2019) as the framework gives it:

- ``nnx.Embed`` token embeddings plus an ``nnx.Embed`` table of learned absolute positions;
- pre-norm residual blocks, each ``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))``, with
  ``nnx.LayerNorm`` (scale and bias, epsilon 1e-5 as in GPT-2);
- causal self-attention: one fused ``nnx.Linear`` for queries, keys and values, then
  ``jax.nn.dot_product_attention(..., is_causal=True)``, then an output ``nnx.Linear``;
- a GELU MLP (tanh approximation, as GPT-2) of width ``d_ff``;
- a final ``nnx.LayerNorm`` and logits against the token embedding (tied unembedding,
  ``nnx.Embed.attend``), as GPT-2 ties them.

Every ``nnx.Linear`` has a bias by default, as in GPT-2 (``GPT2Config.use_bias``); those
biases are the only parameters gopherlite's bias-free GPT-2 mode does not have. Initialisation
is GPT-2's: normal(0.02) for matrices and embeddings, zero biases, and the two residual output
projections of each block scaled by 1/sqrt(2 · n_layers).

Training: float32 cross-entropy averaged over every target (`cross_entropy`), Adam with
decoupled weight decay on matrices only (``optax.adamw``, β = (0.9, 0.95), constant learning
rate) after global-norm clipping at 1.0, and one ``jax.jit`` step that donates the old state.

Run it alone to train a few steps on random tokens::

  python benchmarks/peer_gpt2.py --steps 5
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx


@dataclasses.dataclass(frozen=True)
class GPT2Config:
    """Shape of the peer GPT-2.

    Attributes:
      vocab_size: Token ids lie in ``[0, vocab_size)``.
      max_len: Rows of the learned position table (longest input).
      n_layers: Transformer blocks.
      n_heads: Attention heads per block.
      d_head: Size of each head's queries, keys and values.
      d_model: Width of the residual stream.
      d_ff: Hidden width of the MLP.
      use_bias: Biases in every linear layer (GPT-2: yes).
      init_std: Standard deviation of the normal initialiser.
      layer_norm_eps: Epsilon of every LayerNorm.
    """

    vocab_size: int = 4096
    max_len: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_head: int = 32
    d_model: int = 128
    d_ff: int = 512
    use_bias: bool = True
    init_std: float = 0.02
    layer_norm_eps: float = 1e-5


def _linear(
    config: GPT2Config, d_in: int, d_out: int, *, residual: bool, rngs: nnx.Rngs
) -> nnx.Linear:
    """A GPT-2 linear layer: N(0, init_std²) weights, scaled by 1/sqrt(2·n_layers) when it
    writes into the residual stream (GPT-2's residual scaling)."""
    std = config.init_std / math.sqrt(2 * config.n_layers) if residual else config.init_std
    return nnx.Linear(
        d_in, d_out, use_bias=config.use_bias, kernel_init=nnx.initializers.normal(std),
        rngs=rngs,
    )  # fmt: skip


class CausalSelfAttention(nnx.Module):
    """Multi-head causal self-attention with fused query/key/value projections."""

    def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs) -> None:
        """Create the fused ``[D, 3·H·K]`` projection and the ``[H·K, D]`` output projection.

        Args:
          config: Model shape.
          rngs: Random streams for initialisation.
        """
        self.n_heads, self.d_head = config.n_heads, config.d_head
        width = config.n_heads * config.d_head
        self.qkv = _linear(config, config.d_model, 3 * width, residual=False, rngs=rngs)
        self.out = _linear(config, width, config.d_model, residual=True, rngs=rngs)

    def __call__(self, x_BxLxD: jax.Array) -> jax.Array:
        """Attend from every position to itself and the positions before it.

        Args:
          x_BxLxD: Normalised residual stream.

        Returns:
          The attention output, ``[B, L, D]``.
        """
        B, L, _ = x_BxLxD.shape
        qkv_BxLx3xHxK = self.qkv(x_BxLxD).reshape(B, L, 3, self.n_heads, self.d_head)
        q_BxLxHxK, k_BxLxHxK, v_BxLxHxK = (qkv_BxLx3xHxK[:, :, i] for i in range(3))
        o_BxLxHxK = jax.nn.dot_product_attention(q_BxLxHxK, k_BxLxHxK, v_BxLxHxK, is_causal=True)
        return self.out(o_BxLxHxK.reshape(B, L, self.n_heads * self.d_head))


class MLP(nnx.Module):
    """GPT-2's feed-forward block: ``proj(gelu(fc(x)))``."""

    def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs) -> None:
        """Create the ``[D, F]`` and ``[F, D]`` projections.

        Args:
          config: Model shape.
          rngs: Random streams for initialisation.
        """
        self.fc = _linear(config, config.d_model, config.d_ff, residual=False, rngs=rngs)
        self.proj = _linear(config, config.d_ff, config.d_model, residual=True, rngs=rngs)

    def __call__(self, x_BxLxD: jax.Array) -> jax.Array:
        """Apply the MLP.

        Args:
          x_BxLxD: Normalised residual stream.

        Returns:
          The MLP output, ``[B, L, D]``.
        """
        return self.proj(jax.nn.gelu(self.fc(x_BxLxD), approximate=True))


class Block(nnx.Module):
    """Pre-norm residual block: attention, then the MLP, each after its own LayerNorm."""

    def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs) -> None:
        """Create the two LayerNorms, the attention and the MLP.

        Args:
          config: Model shape.
          rngs: Random streams for initialisation.
        """
        self.ln_1 = nnx.LayerNorm(config.d_model, epsilon=config.layer_norm_eps, rngs=rngs)
        self.attn = CausalSelfAttention(config, rngs=rngs)
        self.ln_2 = nnx.LayerNorm(config.d_model, epsilon=config.layer_norm_eps, rngs=rngs)
        self.mlp = MLP(config, rngs=rngs)

    def __call__(self, x_BxLxD: jax.Array) -> jax.Array:
        """Apply the block.

        Args:
          x_BxLxD: Residual stream.

        Returns:
          The new residual stream.
        """
        x_BxLxD = x_BxLxD + self.attn(self.ln_1(x_BxLxD))
        return x_BxLxD + self.mlp(self.ln_2(x_BxLxD))


class GPT2(nnx.Module):
    """GPT-2: int32 tokens ``[B, L]`` to float32 next-token logits ``[B, L, V]``."""

    def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs) -> None:
        """Create the token and position embeddings, the blocks and the final LayerNorm.

        Args:
          config: Model shape.
          rngs: Random streams for initialisation, e.g. ``nnx.Rngs(0)``.
        """
        init = nnx.initializers.normal(config.init_std)
        self.wte = nnx.Embed(config.vocab_size, config.d_model, embedding_init=init, rngs=rngs)
        self.wpe = nnx.Embed(config.max_len, config.d_model, embedding_init=init, rngs=rngs)
        self.blocks = nnx.List([Block(config, rngs=rngs) for _ in range(config.n_layers)])
        self.ln_f = nnx.LayerNorm(config.d_model, epsilon=config.layer_norm_eps, rngs=rngs)

    def __call__(self, tokens_BxL: jax.Array) -> jax.Array:
        """Full causal forward pass.

        Args:
          tokens_BxL: Integer token ids, ``L`` at most ``max_len``.

        Returns:
          Logits ``[B, L, V]`` against the tied token embedding.
        """
        L = tokens_BxL.shape[1]
        x_BxLxD = self.wte(tokens_BxL) + self.wpe(jnp.arange(L))[None]
        for block in self.blocks:
            x_BxLxD = block(x_BxLxD)
        return self.wte.attend(self.ln_f(x_BxLxD))


def cross_entropy(logits_BxLxV: jax.Array, targets_BxL: jax.Array) -> jax.Array:
    """Mean next-token cross-entropy in nats, computed in float32.

    Args:
      logits_BxLxV: Unnormalised scores for every vocabulary entry.
      targets_BxL: The token each position should predict.

    Returns:
      The mean over all ``B · L`` targets of ``logsumexp(logits) - logits[target]``.
    """
    logits_BxLxV = logits_BxLxV.astype(jnp.float32)
    target_BxL = jnp.take_along_axis(logits_BxLxV, targets_BxL[..., None], axis=-1)[..., 0]
    return jnp.mean(jax.nn.logsumexp(logits_BxLxV, axis=-1) - target_BxL)


def num_params(model: nnx.Module) -> int:
    """Count a model's parameters.

    Args:
      model: Any NNX module.

    Returns:
      The number of scalars in its ``nnx.Param`` variables.
    """
    return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def make_optimizer(learning_rate: float, weight_decay: float) -> optax.GradientTransformation:
    """Global-norm clipping at 1.0, then AdamW with decay on matrices only.

    Args:
      learning_rate: Constant learning rate.
      weight_decay: Decoupled weight decay of matrices and embeddings (biases and LayerNorm
        parameters are not decayed).

    Returns:
      The optax transformation.
    """
    return optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.adamw(
            learning_rate,
            b1=0.9,
            b2=0.95,
            weight_decay=weight_decay,
            mask=lambda params: jax.tree.map(lambda p: p.ndim >= 2, params),
        ),
    )


def make_train_step(graphdef: nnx.GraphDef) -> Callable[..., tuple[Any, jax.Array]]:
    """The pure train step of one (model, optimizer) structure, jitted, donating its state.

    Args:
      graphdef: Static structure of the ``(model, optimizer)`` pair from ``nnx.split``.

    Returns:
      ``step(state, inputs_BxL, targets_BxL) -> (new_state, loss)``.
    """

    def step(state: Any, inputs_BxL: jax.Array, targets_BxL: jax.Array) -> tuple[Any, jax.Array]:
        model, optimizer = nnx.merge(graphdef, state)

        def loss_fn(model: GPT2) -> jax.Array:
            return cross_entropy(model(inputs_BxL), targets_BxL)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), loss

    return jax.jit(step, donate_argnums=0)


class PeerTrainer:
    """The peer GPT-2, its optimizer and its compiled train step."""

    def __init__(
        self,
        config: GPT2Config,
        *,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.1,
        seed: int = 0,
    ) -> None:
        """Build the model (seeded) and the optimizer, and jit the step.

        Args:
          config: Model shape.
          learning_rate: Constant AdamW learning rate.
          weight_decay: AdamW decay of matrices.
          seed: Seed of the initialisation.
        """
        self.config = config
        model = GPT2(config, rngs=nnx.Rngs(seed))
        self.num_params = num_params(model)
        optimizer = nnx.Optimizer(model, make_optimizer(learning_rate, weight_decay), wrt=nnx.Param)
        self.graphdef, self.state = nnx.split((model, optimizer))
        self._step = make_train_step(self.graphdef)

    def compile(self, inputs_BxL: np.ndarray, targets_BxL: np.ndarray) -> float:
        """Compile the step ahead of time for this batch shape.

        Args:
          inputs_BxL: Example input ids (only shapes and dtypes are used).
          targets_BxL: Example target ids.

        Returns:
          Seconds spent compiling.
        """
        start = time.perf_counter()
        self._step = self._step.lower(self.state, inputs_BxL, targets_BxL).compile()
        return time.perf_counter() - start

    def step(self, inputs_BxL: np.ndarray, targets_BxL: np.ndarray) -> jax.Array:
        """One optimiser step (asynchronous: nothing is waited for).

        Args:
          inputs_BxL: Input token ids.
          targets_BxL: Target token ids.

        Returns:
          The step's loss (before the update), on the device.
        """
        self.state, loss = self._step(self.state, inputs_BxL, targets_BxL)
        return loss

    def timed_step(self, inputs_BxL: np.ndarray, targets_BxL: np.ndarray) -> tuple[float, float]:
        """One optimiser step, waited for, with its wall-clock time.

        The clock stops when both the loss and the new state are ready.

        Args:
          inputs_BxL: Input token ids.
          targets_BxL: Target token ids.

        Returns:
          The loss and the seconds the step took.
        """
        start = time.perf_counter()
        loss = self.step(inputs_BxL, targets_BxL)
        jax.block_until_ready((loss, self.state))
        return float(loss), time.perf_counter() - start


def main() -> None:
    """Train the peer a few steps on one batch of random tokens and print what happened."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=128)
    args = p.parse_args()
    config = GPT2Config()
    trainer = PeerTrainer(config)
    tokens_BxL1 = np.random.default_rng(0).integers(
        0, config.vocab_size, (args.batch_size, args.seq_len + 1), dtype=np.int32
    )
    inputs_BxL, targets_BxL = tokens_BxL1[:, :-1], tokens_BxL1[:, 1:]
    print(f"{trainer.num_params:,} parameters; compiled in "
          f"{trainer.compile(inputs_BxL, targets_BxL):.2f} s; ln(vocab) = "
          f"{math.log(config.vocab_size):.3f}")  # fmt: skip
    seconds = []
    for i in range(args.steps):
        loss, step_s = trainer.timed_step(inputs_BxL, targets_BxL)
        seconds.append(step_s)
        print(f"step {i}: loss {loss:.4f}, {step_s:.4f} s")
    print(f"median step {statistics.median(seconds):.4f} s")


if __name__ == "__main__":
    main()
