"""Bytes of training state per parameter (gopherlite.costs), checked against the real state."""

import math

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from gopherlite import ModelConfig
from gopherlite.costs import bytes_per_parameter, zero_bytes_per_device
from gopherlite.precision import POLICIES, get_policy
from gopherlite.train import TrainConfig, build_model_and_optimizer

CFG = ModelConfig(n_layers=2, n_heads=2, d_head=8, d_model=16, vocab_size=32, max_seq_len=16)


def test_bytes_per_parameter_of_each_policy():
    totals = {name: bytes_per_parameter(name)["total"] for name in POLICIES}
    assert totals == {"fp32": 16, "mixed": 16, "bf16_rne": 12, "bf16_sr": 12, "bf16_master": 16}
    assert bytes_per_parameter(get_policy("bf16_master")) == {
        "params": 2, "master_copy": 4, "adam_moments": 8, "gradients": 2, "total": 16,
    }  # fmt: skip
    with pytest.raises(ValueError, match="choose one of"):
        bytes_per_parameter("fp8")


def _bytes(tree) -> int:
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]
    return sum(math.prod(x.shape) * x.dtype.itemsize for x in leaves)


@pytest.mark.parametrize("precision", list(POLICIES))
def test_bytes_per_parameter_match_the_train_state(precision):
    """Parameters, optimizer state and gradients as the train step really holds them."""
    config = TrainConfig(precision=precision)

    def grads():
        model, _ = build_model_and_optimizer(CFG, config)
        return nnx.grad(lambda m: m(jnp.zeros((1, 4), jnp.int32)).sum())(model)

    model, optimizer = nnx.eval_shape(lambda: build_model_and_optimizer(CFG, config))
    n = CFG.num_params()
    expected = bytes_per_parameter(precision)
    assert _bytes(nnx.state(model, nnx.Param)) == expected["params"] * n
    assert (
        _bytes(nnx.state(optimizer.opt_state))
        == (expected["master_copy"] + expected["adam_moments"]) * n
    )
    assert _bytes(nnx.eval_shape(grads)) == expected["gradients"] * n


def test_model_parallelism_divides_the_replicated_part():
    n = 280e9
    one = zero_bytes_per_device("bf16_master", n, 1024)
    split = zero_bytes_per_device("bf16_master", n, 1024, model_parallel=16)
    assert split["replicated"] == pytest.approx(one["replicated"] / 16)
    assert split["sharded"] == pytest.approx(one["sharded"] / 16)
    assert one["replicated"] == pytest.approx(4 * n)  # bf16 params + bf16 grads
    assert one["sharded"] == pytest.approx(12 * n / 1024)  # Adam moments + master copy
