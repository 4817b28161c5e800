"""Activation sharding follows the mesh in JAX's context, which jit's cache can see.

One jitted forward pass called on two meshes in one process is traced once per mesh, and each
trace places the logits (batch over ``data``, vocabulary over ``tensor``) by its own mesh; with
no mesh in the context nothing is constrained.
"""

import jax
import numpy as np
from flax import nnx
from jax.sharding import NamedSharding, PartitionSpec

from gopherlite import ModelConfig
from gopherlite.nn import GopherLM
from gopherlite.sharding import make_mesh

CFG = ModelConfig(n_layers=1, n_heads=8, d_head=4, d_model=32, vocab_size=64, max_seq_len=16)


def test_one_jitted_function_on_two_meshes_traces_twice_and_follows_each_mesh():
    graphdef, state = nnx.split(GopherLM(CFG, rngs=nnx.Rngs(0)))
    traces = []

    @jax.jit
    def logits(state, tokens_BxL):
        traces.append(jax.sharding.get_abstract_mesh().shape)
        return nnx.merge(graphdef, state)(tokens_BxL)

    tokens_BxL = np.arange(8 * 16, dtype=np.int32).reshape(8, 16) % CFG.vocab_size
    tensor_mesh = make_mesh(data=2, fsdp=1, tensor=4)
    data_mesh = make_mesh(data=8)
    with jax.set_mesh(tensor_mesh):
        on_tensor = logits(state, tokens_BxL)
    with jax.set_mesh(data_mesh):
        on_data = logits(state, tokens_BxL)
    with jax.set_mesh(tensor_mesh):  # the first trace is reused for its own mesh
        again = logits(state, tokens_BxL)
    plain = logits(state, tokens_BxL)  # no mesh in the context: nothing is constrained

    assert len(traces) == 3, traces
    by_heads = NamedSharding(tensor_mesh, PartitionSpec("data", None, "tensor"))
    by_rows = NamedSharding(data_mesh, PartitionSpec("data", None, None))
    assert on_tensor.sharding.is_equivalent_to(by_heads, 3), on_tensor.sharding
    assert on_data.sharding.is_equivalent_to(by_rows, 3), on_data.sharding
    assert again.sharding.is_equivalent_to(by_heads, 3), again.sharding
    assert len(plain.sharding.device_set) == 1
    np.testing.assert_allclose(on_tensor, on_data, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(plain, on_data, rtol=1e-5, atol=1e-5)
