"""`gopherlite.comm`: collectives counted in HLO text, and the ring costs of chapter 07."""

import jax
import jax.numpy as jnp
import pytest

from gopherlite import comm
from gopherlite.config import PRESETS
from gopherlite.hardware import CHIPS, DCN_BYTES_PER_S_PER_HOST, ICI_LINKS

# Shaped like XLA's optimised HLO: tuple results, async pairs, collectives used as operands.
HLO = """
ENTRY %main {
  %p = f32[4,64]{1,0} parameter(0)
  %all-gather = f32[32,64]{1,0} all-gather(%p), channel_id=1, dimensions={0}
  %fusion = f32[2,64]{1,0} fusion(%p, %all-gather), kind=kCustom, calls=%fused
  %all-reduce.66 = (f32[], f32[4096,64]{1,0}) all-reduce(%a, %b), channel_id=2, to_apply=%add
  %all-reduce-start = f32[8]{0} all-reduce-start(%c), channel_id=3, to_apply=%add
  %all-reduce-done = f32[8]{0} all-reduce-done(%all-reduce-start)
  %reduce-scatter.7 = f32[4,64]{1,0} reduce-scatter(%d), dimensions={0}, metadata={op_name="x"}
  %cp = f32[8]{0} collective-permute(%e), source_target_pairs={{0,1},{1,0}}
  %a2a = (f32[1,4]{1,0}, /*index=1*/f32[1,4]{1,0}) all-to-all(%f, %g), dimensions={0}
  ROOT %t = f32[4,64]{1,0} transpose(%all-reduce.66), metadata={op_name="jit(f)/all_gather"}
}
"""


def test_counts_each_call_once_and_never_a_name_used_as_an_operand():
    assert comm.count_collectives(HLO) == {
        "all-reduce": 2,  # the tuple one and the async start; the done and the operand uses not
        "all-gather": 1,
        "reduce-scatter": 1,
        "collective-permute": 1,
        "all-to-all": 1,
    }


def test_a_one_device_program_has_no_collectives_and_compiled_objects_are_read():
    compiled = jax.jit(lambda x: x @ x.T).lower(jnp.ones((4, 4))).compile()
    counts = comm.count_collectives(compiled)
    assert list(counts) == list(comm.COLLECTIVES) and sum(counts.values()) == 0
    assert comm.describe_collectives(counts) == "none"


def test_describe_lists_nonzero_kinds_in_order():
    counts = dict.fromkeys(comm.COLLECTIVES, 0) | {"reduce-scatter": 1, "all-gather": 2}
    assert comm.describe_collectives(counts) == "2 all-gather, 1 reduce-scatter"


def test_ring_times_follow_the_scaling_book_formulas():
    assert comm.ring_all_gather_seconds(8e9, 2e11, 1) == 0.0
    assert comm.ring_all_gather_seconds(8e9, 2e11, 4) == pytest.approx(0.75 * 8e9 / 2e11)
    assert comm.ring_all_reduce_seconds(8e9, 2e11, 4) == pytest.approx(2 * 0.75 * 8e9 / 2e11)
    with pytest.raises(ValueError, match="participants"):
        comm.ring_all_reduce_seconds(1.0, 2e11, 0)


def test_gopher_tensor_parallel_traffic_of_chapter_07():
    gopher = PRESETS["280b"]
    payload = comm.activation_all_reduce_bytes(gopher.d_model, gopher.max_seq_len, 1)
    assert payload == 2048 * 16384 * 2 == 64 * 2**20
    per_layer = comm.tensor_parallel_bytes_per_layer(gopher.d_model, gopher.max_seq_len, 1)
    assert per_layer == comm.MEGATRON_ALL_REDUCES_PER_LAYER * payload == 256 * 2**20
    ici = comm.ring_all_reduce_seconds(payload, ICI_LINKS["v3"].bidirectional, 16)
    dcn = comm.ring_all_reduce_seconds(payload, DCN_BYTES_PER_S_PER_HOST, 16)
    assert ici == pytest.approx(0.629e-3, rel=1e-3)
    assert dcn / ici == pytest.approx(8.0)


def test_ici_links_name_known_chips_and_their_source():
    assert set(ICI_LINKS) <= set(CHIPS)
    for link in ICI_LINKS.values():
        assert link.bidirectional == 2 * link.one_way
        assert "scaling book" in link.source
