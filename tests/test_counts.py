"""`counts`: parameters read from the real model's shapes and FLOPs term by term, against
``ModelConfig.num_params()`` and ``ModelConfig.flops_per_token()``."""

import math

import pytest

from gopherlite import PRESETS, ModelConfig, counts

SMALL_PRESETS = [name for name in PRESETS if name != "280b"]  # 280B takes seconds to build
OTHER_SHAPES = [
    PRESETS["280b"].replace(n_layers=1),  # 280B's widths; the count is linear in layers
    PRESETS["tiny"].replace(position="absolute", norm="layer"),
    ModelConfig(n_layers=3, n_heads=5, d_head=24, d_model=96, vocab_size=777, d_ff=200),
    ModelConfig(
        n_layers=2,
        n_heads=3,
        d_head=16,
        d_model=64,
        vocab_size=300,
        position="absolute",
        max_seq_len=40,
    ),
    PRESETS["tiny"].replace(scan_layers=True),  # stacked blocks hold the same parameters
]
OTHER_IDS = ["280b-widths", "gpt2-style", "odd-shapes", "absolute", "scanned"]


@pytest.mark.parametrize("name", SMALL_PRESETS)
def test_param_breakdown_matches_the_model(name):
    config = PRESETS[name]
    assert counts.total_params(config) == config.num_params()


@pytest.mark.parametrize("config", OTHER_SHAPES, ids=OTHER_IDS)
def test_param_breakdown_matches_the_model_for_other_shapes(config):
    assert counts.total_params(config) == config.num_params()


@pytest.mark.parametrize("config", [PRESETS["44m"], *OTHER_SHAPES], ids=["44m", *OTHER_IDS])
def test_param_breakdown_without_embeddings_matches_the_model(config):
    parts = counts.param_breakdown(config, include_embeddings=False)
    assert sum(p.value for p in parts) == config.num_params(include_embeddings=False)
    assert not {p.label for p in parts} & {
        "token embedding (tied with output)",
        "position table (absolute)",
    }


def test_param_breakdown_parts():
    parts = {p.label: p.value for p in counts.param_breakdown(PRESETS["44m"])}
    assert parts["token embedding (tied with output)"] == 32_000 * 512
    assert parts["feed-forward"] == 8 * 2 * 512 * 2048
    assert "position table (absolute)" not in parts  # relative attention has none
    # The closed forms of the docstring, part by part.
    D, HK, n = 512, 16 * 32, 8
    assert parts["attention q, k, v, o"] == n * 4 * D * HK
    assert parts["relative position keys W_kR"] == n * D * HK
    assert parts["u, v biases"] == n * 2 * HK
    assert parts["norm scales"] == (2 * n + 1) * D
    absolute = {p.label: p for p in counts.param_breakdown(OTHER_SHAPES[3])}
    assert absolute["position table (absolute)"].value == 40 * 64
    assert absolute["norm scales"].value == (2 * 2 + 1) * 64  # RMSNorm: scales only
    assert "u, v biases" not in absolute and absolute["feed-forward"].kind == "feed_forward"


def test_an_unknown_parameter_is_a_loud_programming_error():
    with pytest.raises(LookupError, match=r"gopherlite\.counts"):
        counts._param_part(("blocks", 0, "attn", "gate", "kernel"))
    with pytest.raises(LookupError):
        counts._param_part(("lm_head", "kernel"))


def test_param_breakdown_of_280b_answers_at_once():
    parts = counts.param_breakdown(PRESETS["280b"])  # one block is built, not 80
    assert sum(p.value for p in parts) == 279_702_421_504


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("seq_len", [None, 128, 8192])
@pytest.mark.parametrize("training", [True, False])
def test_flops_breakdown_sums_to_flops_per_token(name, seq_len, training):
    config = PRESETS[name]
    parts = counts.flops_breakdown(config, seq_len, training=training)
    expected = config.flops_per_token(seq_len, training=training)
    assert math.isclose(sum(p.value for p in parts), expected, rel_tol=1e-12)


def test_flops_breakdown_terms():
    config = ModelConfig(n_layers=2, n_heads=3, d_head=4, d_model=10, vocab_size=7, d_ff=20)
    parts = {p.label: p.value for p in counts.flops_breakdown(config, 5, training=False)}
    assert parts == {
        "attention q, k, v, o": 2 * 2 * 4 * 10 * 12,
        "relative position keys W_kR": 2 * 2 * 10 * 12,
        "attention scores and values": 2 * 2 * 5 * 12 * 3,
        "feed-forward": 2 * 2 * 2 * 10 * 20,
        "output logits": 2 * 10 * 7,
    }
    absolute = counts.flops_breakdown(config.replace(position="absolute"), 5, training=False)
    by_label = {p.label: p.value for p in absolute}
    assert "relative position keys W_kR" not in by_label
    assert by_label["attention scores and values"] == 2 * 2 * 5 * 12 * 2
    trained = counts.flops_breakdown(config, 5)
    assert [p.value for p in trained] == [3 * v for v in parts.values()]
