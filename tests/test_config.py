"""Presets reproduce Gopher Table 1 (Rae et al. 2021); configs reject bad values clearly."""

import dataclasses
import math

import pytest

from gopherlite import PRESETS, ModelConfig, get_preset
from gopherlite.config import TABLE1_LABELS, TRAINING_DEFAULTS, table1_label

# Gopher Table 1: n_layers, n_heads, key/value size, d_model, max LR, batch (tokens).
TABLE1 = {
    "44m": (8, 16, 32, 512, 6e-4, 250_000),
    "117m": (12, 12, 64, 768, 6e-4, 250_000),
    "417m": (12, 12, 128, 1536, 2e-4, 250_000),
    "1.4b": (24, 16, 128, 2048, 2e-4, 250_000),
    "7.1b": (32, 32, 128, 4096, 1.2e-4, 2_000_000),
    "280b": (80, 128, 128, 16384, 4e-5, 3_000_000),
}


@pytest.mark.parametrize("name", TABLE1)
def test_presets_are_table1(name):
    cfg = PRESETS[name]
    layers, heads, kv, d_model, lr, batch = TABLE1[name]
    assert (cfg.n_layers, cfg.n_heads, cfg.d_head, cfg.d_model) == (layers, heads, kv, d_model)
    defaults = TRAINING_DEFAULTS[name]
    assert (defaults.learning_rate, defaults.batch_size_tokens) == (lr, batch)
    assert cfg.d_ff == 4 * d_model and cfg.vocab_size == 32_000 and cfg.max_seq_len == 2048
    assert cfg.position == "relative" and cfg.norm == "rms"


def test_model_config_holds_no_training_fields():
    fields = {f.name for f in dataclasses.fields(ModelConfig)}
    assert not fields & {"max_learning_rate", "batch_size_tokens", "learning_rate", "batch_size"}
    assert set(TRAINING_DEFAULTS) == set(PRESETS)


@pytest.mark.parametrize("name", TABLE1)
def test_parameter_counts_round_to_table1_labels(name):
    assert table1_label(PRESETS[name].num_params()) == TABLE1_LABELS[name]


def test_parameter_count_by_hand_for_44m():
    """Embedding once (tied) + per layer q,k,v,o,W_kR + FFN + u,v + 2 norms, + final norm."""
    d, h, k, L, V = 512, 16, 32, 8, 32_000
    per_layer = 5 * d * h * k + 2 * d * 4 * d + 2 * h * k + 2 * d
    assert PRESETS["44m"].num_params() == V * d + L * per_layer + d
    assert PRESETS["44m"].num_params(include_embeddings=False) == L * per_layer + d


def test_absolute_variant_counts_its_position_table():
    cfg = PRESETS["tiny"]
    gpt2 = cfg.replace(position="absolute", norm="layer")
    hk, L = cfg.n_heads * cfg.d_head, cfg.n_layers
    # + position table, − W_kR, − u/v, + LayerNorm biases (2 per block + final).
    delta = cfg.max_seq_len * cfg.d_model - L * (cfg.d_model * hk + 2 * hk)
    delta += (2 * L + 1) * cfg.d_model
    assert gpt2.num_params() - cfg.num_params() == delta


def test_flops_per_token_hand_computed_and_near_6n():
    cfg = ModelConfig(n_layers=2, n_heads=2, d_head=4, d_model=8, vocab_size=10, max_seq_len=16)
    per_layer = 2 * 4 * 8 * 8 + 2 * 8 * 8 + 3 * 2 * 16 * 8 + 2 * 2 * 8 * 32
    assert cfg.flops_per_token(training=False) == 2 * per_layer + 2 * 8 * 10
    assert cfg.flops_per_token() == 3 * cfg.flops_per_token(training=False)
    # Chinchilla App. F: the detailed count is within a few percent of 6N for large models.
    for name in ("7.1b", "280b"):
        ratio = PRESETS[name].flops_per_token() / (6 * PRESETS[name].num_params())
        assert 1.0 < ratio < 1.15, (name, ratio)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_layers": 0}, "n_layers must be a positive integer"),
        ({"d_model": 15}, "even d_model"),
        ({"position": "rotary"}, "'relative' or 'absolute'"),
        ({"norm": "batch"}, "'rms' or 'layer'"),
        ({"clamp_len": -1}, "clamp_len must be None or a positive integer"),
        ({"dtype": "float8"}, "dtype must be one of"),
    ],
)
def test_bad_config_values_are_named(changes, message):
    with pytest.raises(ValueError, match=message):
        PRESETS["tiny"].replace(**changes)


def test_replace_keeps_the_4x_feed_forward_rule():
    assert PRESETS["tiny"].replace(d_model=256).d_ff == 1024
    assert PRESETS["tiny"].replace(d_model=256, d_ff=300).d_ff == 300


def test_get_preset_lists_choices():
    assert get_preset("44M") is PRESETS["44m"]
    with pytest.raises(ValueError, match="choose one of: tiny, 44m"):
        get_preset("70b")


def test_tiny_fits_a_laptop():
    assert PRESETS["tiny"].num_params() < 2e6
    assert math.isclose(PRESETS["tiny"].d_ff, 4 * PRESETS["tiny"].d_model)
