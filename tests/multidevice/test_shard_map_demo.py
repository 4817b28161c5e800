"""Chapter 07's collectives by hand (`jax.shard_map`) against `jax.jit` with shardings.

Runs only with 8 simulated CPU devices (tests/test_sharding.py::test_multidevice_tier). What
XLA:CPU emitted when this was written: the shard_map versions contain exactly the collectives
they call; the jit versions an all-reduce for dp and tensor, and for fsdp an all-gather plus an
all-reduce (not a reduce-scatter: each device keeps its rows of the full sum). The assertions
accept either form of a sum, as the chapter's do.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from gopherlite import ModelConfig
from gopherlite.comm import count_collectives
from gopherlite.data.batches import BatchIterator, pack
from gopherlite.sharding import make_mesh
from gopherlite.train import TrainConfig
from gopherlite.workbook.experiments.layout_runs import compare_layouts, memory_comparison

B, D, F = 16, 32, 64


def _arrays():
    keys = jax.random.split(jax.random.key(0), 4)
    x_BxD = jax.random.normal(keys[0], (B, D))
    t_BxF = jax.random.normal(keys[1], (B, F))
    w_DxF = jax.random.normal(keys[2], (D, F)) / D**0.5
    w2_FxD = jax.random.normal(keys[3], (F, D)) / F**0.5
    return x_BxD, t_BxF, w_DxF, w2_FxD


def loss(w_DxF, x_BxD, t_BxF):
    return 0.5 * jnp.sum((x_BxD @ w_DxF - t_BxF) ** 2)


def mlp(x_BxD, w1_DxF, w2_FxD):
    return jax.nn.gelu(x_BxD @ w1_DxF) @ w2_FxD


def dp_grad(w_DxF, x_BxD, t_BxF):
    dy_BxF = x_BxD @ w_DxF - t_BxF
    return jax.lax.psum(x_BxD.T @ dy_BxF, "data")


def fsdp_grad(w_DxF, x_BxD, t_BxF):
    w_full_DxF = jax.lax.all_gather(w_DxF, "fsdp", axis=0, tiled=True)
    dy_BxF = x_BxD @ w_full_DxF - t_BxF
    return jax.lax.psum_scatter(x_BxD.T @ dy_BxF, "fsdp", scatter_dimension=0, tiled=True)


def tp_mlp(x_BxD, w1_DxF, w2_FxD):
    return jax.lax.psum(jax.nn.gelu(x_BxD @ w1_DxF) @ w2_FxD, "tensor")


def _cases():
    x, t, w, w2 = _arrays()
    dp_mesh, fsdp_mesh = make_mesh(data=-1), make_mesh(data=1, fsdp=-1)
    tp_mesh = make_mesh(data=1, tensor=-1)
    on = lambda mesh, *specs: tuple(NamedSharding(mesh, s) for s in specs)  # noqa: E731
    tp_specs = (P(), P(None, "tensor"), P("tensor"))
    return {
        "dp": (
            jax.shard_map(dp_grad, mesh=dp_mesh, in_specs=(P(), P("data"), P("data")),
                          out_specs=P()),
            jax.jit(jax.grad(loss), in_shardings=on(dp_mesh, P(), P("data"), P("data")),
                    out_shardings=NamedSharding(dp_mesh, P())),
            jax.grad(loss), (w, x, t),
        ),
        "fsdp": (
            jax.shard_map(fsdp_grad, mesh=fsdp_mesh, in_specs=(P("fsdp"),) * 3,
                          out_specs=P("fsdp")),
            jax.jit(jax.grad(loss), in_shardings=on(fsdp_mesh, *(P("fsdp"),) * 3),
                    out_shardings=NamedSharding(fsdp_mesh, P("fsdp"))),
            jax.grad(loss), (w, x, t),
        ),
        "tensor": (
            jax.shard_map(tp_mlp, mesh=tp_mesh, in_specs=tp_specs, out_specs=P()),
            jax.jit(mlp, in_shardings=on(tp_mesh, *tp_specs),
                    out_shardings=NamedSharding(tp_mesh, P())),
            mlp, (x, w, w2),
        ),
    }  # fmt: skip


CASES = ("dp", "fsdp", "tensor")


def _sums(counts):
    return counts["all-reduce"] > 0 or (counts["reduce-scatter"] and counts["all-gather"])


@pytest.mark.parametrize("name", CASES)
def test_by_hand_and_by_compiler_equal_one_device(name):
    by_hand, by_compiler, reference, args = _cases()[name]
    expected = reference(*args)
    np.testing.assert_allclose(by_hand(*args), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(by_compiler(*args), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", CASES)
def test_the_compiled_programs_hold_the_expected_collectives(name):
    by_hand, by_compiler, _, args = _cases()[name]
    hand = count_collectives(jax.jit(by_hand).lower(*args).compile())
    compiler = count_collectives(by_compiler.lower(*args).compile())
    if name == "fsdp":
        assert hand["all-gather"] == 1 and hand["reduce-scatter"] == 1
        assert compiler["all-gather"] >= 1
        assert compiler["reduce-scatter"] + compiler["all-reduce"] >= 1
    else:
        assert hand["all-reduce"] == 1 and _sums(compiler)


def test_the_tensor_mlp_gradient_adds_one_all_reduce_for_the_input():
    by_hand, by_compiler, _, args = _cases()["tensor"]
    for f in (by_hand, by_compiler):
        grad = jax.jit(jax.grad(lambda *a, f=f: 0.5 * jnp.sum(f(*a) ** 2), argnums=(0, 1, 2)))
        counts = count_collectives(grad.lower(*args).compile())
        assert counts["all-reduce"] + counts["reduce-scatter"] == 2, counts


def test_layout_runs_keep_the_compilers_collectives_and_per_device_memory():
    config = ModelConfig(n_layers=1, n_heads=8, d_head=4, d_model=32, vocab_size=64, max_seq_len=16)
    train = TrainConfig(steps=2, batch_size=8, warmup_steps=1, learning_rate=1e-2, seed=0)
    rng = np.random.default_rng(7)
    docs = [rng.integers(4, 64, rng.integers(8, 40)).tolist() for _ in range(40)]
    it = BatchIterator(pack(docs, 16, separator_id=3, pad_id=0, num_bytes=1), 8, seed=0)
    batches = [next(it)]
    runs = compare_layouts(config, train, batches, [("2d", {"data": 2, "fsdp": 2, "tensor": 2})])
    assert sum(runs[0].collectives.values()) == 0
    assert runs[1].collectives["all-gather"] > 0 and _sums(runs[1].collectives)
    for run, estimate in memory_comparison(config, train, runs):
        # Per device: the arguments are exactly this device's state shards and batch rows.
        assert run.memory.arguments == estimate.params + estimate.optimizer + run.batch_bytes
        assert run.memory.aliased > 0  # the donated state is updated in place
