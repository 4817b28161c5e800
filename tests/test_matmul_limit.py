"""`bench.matmul_limit`: the matmuls of a traced program, counted as often as they run.

Counts and FLOPs are checked against programs whose matmuls are known by construction, and the
tiny train step's matmul FLOPs against the analytic count `ModelConfig.flops_per_token`
(an independent accounting: 6 · parameters per token plus attention, Kaplan et al. 2020).
"""

import jax
import jax.numpy as jnp
import pytest

from gopherlite import PRESETS
from gopherlite.bench import random_batch
from gopherlite.bench.matmul_limit import step_matmuls, time_matmuls
from gopherlite.train import TrainConfig, Trainer


def test_counts_scan_bodies_length_times_and_nested_jits_once():
    def f(x_NxD, w_DxD):
        y_NxD = x_NxD @ w_DxD  # 1 matmul of [8,4]x[4,4]

        def body(carry_NxD, _):
            return jnp.einsum("nd,de->ne", carry_NxD, w_DxD), None  # 5 times

        y_NxD, _ = jax.lax.scan(body, y_NxD, None, length=5)
        z_8x3 = jax.jit(lambda a: a @ jnp.ones((4, 3)))(y_NxD)  # once, inside a nested jit
        return jnp.sum(z_8x3)

    x, w = jnp.ones((8, 4)), jnp.ones((4, 4))
    found = step_matmuls(jax.make_jaxpr(f)(x, w))
    by_shape = {(m.lhs_shape, m.rhs_shape): n for m, n in found.items()}
    assert by_shape == {((8, 4), (4, 4)): 6, ((8, 4), (4, 3)): 1}
    assert sum(n * m.flops() for m, n in found.items()) == 6 * 2 * 8 * 4 * 4 + 2 * 8 * 4 * 3


def test_flops_of_a_batched_contraction():
    f = lambda a, b: jnp.einsum("bqk,bck->bqc", a, b)  # noqa: E731
    (m,) = step_matmuls(jax.make_jaxpr(f)(jnp.ones((3, 5, 7)), jnp.ones((3, 6, 7))))
    assert m.flops() == 2 * 3 * 5 * 6 * 7


def test_gradient_of_a_matmul_is_three_matmuls():
    f = jax.grad(lambda x, w: jnp.sum(jnp.tanh(x @ w)), argnums=(0, 1))
    found = step_matmuls(jax.make_jaxpr(f)(jnp.ones((8, 4)), jnp.ones((4, 6))))
    assert sum(found.values()) == 3  # forward, dx, dW
    assert {m.flops() for m in found} == {2 * 8 * 4 * 6}


def test_tiny_step_matmul_flops_match_the_analytic_count():
    """The traced step's matmuls (forward, backward, every loss chunk) against 6N + attention.

    Measured 0.960 for the tiny preset at 16 × 128 (the analytic count also includes work
    that is no matmul in the program, e.g. the embedding lookup's share). A walk that missed
    the loss scan's repetitions or the backward pass would land far outside [0.90, 1.02].
    """
    config = PRESETS["tiny"]
    batch = random_batch(config.vocab_size, 4, 128)
    trainer = Trainer(config, TrainConfig(batch_size=4, seq_len=128, loss_chunk=32))
    found = step_matmuls(trainer.step_jaxpr(batch))
    traced = sum(n * m.flops() for m, n in found.items())
    analytic = config.flops_per_token(128, training=True) * 4 * 128
    assert 0.90 <= traced / analytic <= 1.02, traced / analytic
    timed = time_matmuls(found, reps=1)
    assert timed["flops"] == traced and timed["count"] == sum(found.values())
    assert timed["seconds"] > 0 and timed["distinct"] == len(found)


@pytest.mark.parametrize("chunk", [32, None])
def test_loss_chunks_change_the_count_not_the_flops(chunk):
    config = PRESETS["tiny"].replace(n_layers=1)
    batch = random_batch(config.vocab_size, 2, 64)
    trainer = Trainer(config, TrainConfig(batch_size=2, seq_len=64, loss_chunk=chunk))
    found = step_matmuls(trainer.step_jaxpr(batch))
    unembed = [n for m, n in found.items() if m.rhs_shape == (config.vocab_size, config.d_model)]
    assert sum(unembed) == (64 // chunk if chunk else 1) * 2  # logits and dh per chunk
