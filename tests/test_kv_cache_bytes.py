"""`costs.kv_cache_bytes` against the bytes of the cache the model really allocates."""

import jax
import pytest
from flax import nnx

from gopherlite import PRESETS, GopherLM, ModelConfig
from gopherlite.costs import kv_cache_bytes


@pytest.mark.parametrize(("dtype", "bytes_per_value"), [("float32", 4), ("bfloat16", 2)])
@pytest.mark.parametrize("position", ["absolute", "relative"])
def test_kv_cache_bytes_match_the_allocated_cache(dtype, bytes_per_value, position):
    config = ModelConfig(
        n_layers=3, n_heads=2, d_head=8, d_model=16, vocab_size=32, max_seq_len=24,
        position=position, dtype=dtype,
    )  # fmt: skip
    model = GopherLM(config, rngs=nnx.Rngs(0))
    caches = model.init_cache(batch_size=5, max_len=24)
    allocated = sum(c.k_BxCxHxK.nbytes + c.v_BxCxHxK.nbytes for c in caches)
    assert kv_cache_bytes(config, 24, batch_size=5, bytes_per_value=bytes_per_value) == allocated
    assert jax.tree.leaves(caches)  # the cache exists


def test_gopher_kv_cache_at_2048_tokens():
    """2 · 80 layers · 2,048 · 128 heads · 128 · 2 bytes ≈ 10.7 GB per sequence in bfloat16."""
    assert kv_cache_bytes(PRESETS["280b"], 2048) == 2 * 80 * 2048 * 128 * 128 * 2
    assert kv_cache_bytes(PRESETS["280b"], 2048, batch_size=32) == 32 * kv_cache_bytes(
        PRESETS["280b"], 2048
    )
