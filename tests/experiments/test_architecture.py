"""`workbook.experiments.architecture`: the family table, FLOP shares and memory rows."""

import math

from gopherlite import PRESETS
from gopherlite.config import TABLE1_LABELS
from gopherlite.costs import bytes_per_parameter
from gopherlite.counts import total_params
from gopherlite.workbook.experiments import architecture


def test_gopher_memory_is_two_and_a_half_tebibytes():
    rows = architecture.memory_breakdown(total_params(PRESETS["280b"]))
    gopher = next(p for p in rows if p.label.startswith("Gopher"))
    assert 2.5 <= gopher.value / 2**40 < 2.6  # Gopher Sec. 3.3: "2.5 TiB"


def test_memory_rules_come_from_bytes_per_parameter():
    rules = dict(architecture.MEMORY_RULES)
    assert list(rules.values()) == [2, 4, 10, 16]
    assert rules["weights, bfloat16 (2 B/param)"] == bytes_per_parameter("bf16_sr")["params"]
    assert (
        rules["fp32 weights, gradients, Adam m, v (16 B/param)"]
        == (bytes_per_parameter("fp32")["total"])
    )
    parts = architecture.memory_breakdown(1000)
    assert [p.value for p in parts] == [2000, 4000, 10000, 16000]


def test_family_rows_match_table_1():
    rows = {row["preset"]: row for row in architecture.family_rows()}
    for name, label in TABLE1_LABELS.items():
        assert rows[name]["label"] == label
    assert rows["tiny"]["table1"] == "—"
    assert rows["44m"]["params"] == PRESETS["44m"].num_params()
    assert rows["44m"]["training_flops"] == PRESETS["44m"].flops_per_token() * 300e9


def test_flops_shares_sum_to_100_per_preset():
    shares = architecture.flops_shares(2048)
    for i in range(len(PRESETS)):
        assert math.isclose(sum(s[i] for _, _, s in shares), 100.0)
    scores = next(s for label, _, s in shares if label == "attention scores and values")
    longer = next(
        s for label, _, s in architecture.flops_shares(32768)
        if label == "attention scores and values"
    )  # fmt: skip
    assert all(b > a for a, b in zip(scores, longer, strict=True))


def test_cost_summary_of_280b():
    costs = architecture.cost_summary(PRESETS["280b"])
    assert costs.params == 279_702_421_504
    assert costs.non_embedding_params == costs.params - 32_000 * 16_384
    assert costs.flops_per_token == PRESETS["280b"].flops_per_token()
    assert costs.six_n == 6 * costs.params
    # 10 bytes per parameter over 16 GiB TPUv3 cores.
    assert costs.tpu_v3_cores == math.ceil(costs.params * 10 / 2**34)
    assert costs.attention_width == 128 * 128
    assert len(costs.memory) == len(architecture.MEMORY_RULES)
