"""Loss, bits per byte, the unigram baseline and long-context evaluation against hand checks."""

import json
import math

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from gopherlite.data.batches import PackedWindows, pack
from gopherlite.evaluate import (
    EvalResult,
    bits_per_byte,
    cross_entropy,
    evaluate,
    evaluate_by_source,
    evaluate_lengths,
    loss_per_position,
    source_of,
    token_counts,
    unigram_bits_per_byte,
)

CONFIG = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=64, max_seq_len=16)
SEP, PAD, BATCH = 3, 0, 4


@pytest.fixture(scope="module")
def model():
    return GopherLM(CONFIG, rngs=nnx.Rngs(0))


@pytest.fixture(scope="module")
def windows():
    """About 270 targets in 17 windows of 16: the last window and the last batch are padded."""
    rng = np.random.default_rng(1)
    docs = [rng.integers(4, 64, rng.integers(5, 40)).tolist() for _ in range(10)]
    return pack(docs, CONFIG.max_seq_len, SEP, PAD, num_bytes=1000)


@nnx.jit
def _forward(model, inputs):
    """The reference forward pass, jitted: an eager pass compiles op by op and is slower."""
    return model(inputs)


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def test_bits_per_byte_hand_checked():
    # ln 2 nats per token = 1 bit per token; 10 tokens over 20 bytes = 0.5 tokens per byte,
    # so 1 bit/token × 0.5 tokens/byte = 0.5 bits per byte.
    assert bits_per_byte(math.log(2), 10, 20) == pytest.approx(0.5)
    # 3 nats/token × 4 tokens / 6 bytes / ln 2 = 2 / ln 2 ≈ 2.885 bits per byte.
    assert bits_per_byte(3.0, 4, 6) == pytest.approx(2 / math.log(2))
    with pytest.raises(ValueError, match="positive byte count"):
        bits_per_byte(1.0, 10, 0)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_matches_numpy(rng, smoothing):
    B, L, V = 2, 3, 5
    logits = rng.normal(0, 2, (B, L, V)).astype(np.float32)
    targets = rng.integers(0, V, (B, L)).astype(np.int32)
    weights = np.array([[1, 1, 0], [1, 0.5, 1]], np.float32)
    labels = (1 - smoothing) * np.eye(V)[targets] + smoothing / V
    per_token = -(labels * _log_softmax(logits.astype(np.float64))).sum(-1)
    total, weight = cross_entropy(jnp.asarray(logits), targets, weights, smoothing)
    assert total.dtype == weight.dtype == jnp.float32
    assert float(total) == pytest.approx((per_token * weights).sum(), rel=1e-5)
    assert float(weight) == pytest.approx(4.5)


def test_cross_entropy_casts_low_precision_logits_to_float32(rng):
    logits = jnp.asarray(rng.normal(0, 2, (1, 4, 7)), jnp.bfloat16)
    targets = jnp.asarray(rng.integers(0, 7, (1, 4)), jnp.int32)
    total, _ = cross_entropy(logits, targets, jnp.ones((1, 4)))
    expected = -np.take_along_axis(
        _log_softmax(np.asarray(logits.astype(jnp.float32), np.float64)),
        np.asarray(targets)[..., None],
        axis=-1,
    ).sum()
    assert total.dtype == jnp.float32
    assert float(total) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="label_smoothing"):
        cross_entropy(logits, targets, jnp.ones((1, 4)), label_smoothing=1.0)


def test_unigram_baseline_hand_checked():
    # Training targets: token 1 three times, token 2 once (vocabulary of 4).
    # Add-one smoothing: p = (count + 1) / (4 + 4) = [1/8, 4/8, 2/8, 1/8].
    train = PackedWindows(
        np.zeros((1, 4), np.int32), np.array([[1, 1, 1, 2]], np.int32), np.ones((1, 4), np.float32)
    )
    np.testing.assert_array_equal(token_counts(train, 4), [0, 3, 1, 0])
    # Evaluation targets 1 and 2 (the third slot is padding, weight 0, and must not count):
    # mean nats = -(ln 4/8 + ln 2/8) / 2 = (ln 2 + 2 ln 2) / 2 = 1.5 ln 2, i.e. 1.5 bits/token;
    # 2 tokens over 3 bytes: 1.5 × 2/3 = 1.0 bit per byte.
    heldout = PackedWindows(
        np.zeros((1, 3), np.int32),
        np.array([[1, 2, 3]], np.int32),
        np.array([[1, 1, 0]], np.float32),
        num_bytes=3,
    )
    assert unigram_bits_per_byte(train, heldout, 4) == pytest.approx(1.0)
    assert unigram_bits_per_byte(np.array([0, 3, 1, 0]), heldout, 4) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        token_counts(train, 2)


def test_evaluate_equals_a_direct_computation(model, windows):
    result = evaluate(model, windows, batch_size=BATCH, unigram_bpb=2.5)
    logp = _log_softmax(np.asarray(_forward(model, windows.inputs_NxL), np.float64))
    nll = -np.take_along_axis(logp, windows.targets_NxL[..., None], axis=-1)[..., 0]
    expected = (nll * windows.weights_NxL).sum() / windows.weights_NxL.sum()
    assert result.loss == pytest.approx(expected, rel=1e-5)
    assert result.perplexity == pytest.approx(math.exp(result.loss))
    assert result.tokens == windows.num_tokens and result.bytes == 1000
    assert result.bits_per_byte == pytest.approx(result.tokens / 1000 * result.loss / math.log(2))
    assert result.seq_len == 16 and result.unigram_bits_per_byte == 2.5
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()


def test_untrained_model_scores_about_log_vocab(model, windows):
    # Initial logits are tiny (init_std 0.02), so the prediction is nearly uniform:
    # loss ≈ ln 64 ≈ 4.159 nats. Allow 0.05 nats for the small logit noise.
    assert abs(evaluate(model, windows, batch_size=BATCH).loss - math.log(64)) < 0.05


def test_bits_per_byte_is_none_without_a_byte_count(model, windows):
    no_bytes = PackedWindows(windows.inputs_NxL, windows.targets_NxL, windows.weights_NxL)
    result = evaluate(model, no_bytes, batch_size=BATCH)
    assert result.bits_per_byte is None and result.bytes == 0
    assert isinstance(result, EvalResult)


def test_relative_attention_evaluates_longer_windows(model, windows):
    results = evaluate_lengths(model, windows, [16, 32, 64], batch_size=BATCH)
    assert sorted(results) == [16, 32, 64]
    for length, result in results.items():
        assert result.seq_len == length
        assert result.tokens == windows.num_tokens and result.bytes == windows.num_bytes
        assert abs(result.loss - math.log(64)) < 0.05


def test_absolute_positions_refuse_longer_windows(windows):
    absolute = GopherLM(CONFIG.replace(position="absolute"), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="max_seq_len=16"):
        evaluate_lengths(absolute, windows, [32], batch_size=BATCH)


def test_loss_per_position_matches_a_direct_computation(model, windows):
    per_position = loss_per_position(model, windows, batch_size=BATCH)
    logp = _log_softmax(np.asarray(_forward(model, windows.inputs_NxL), np.float64))
    nll = -np.take_along_axis(logp, windows.targets_NxL[..., None], axis=-1)[..., 0]
    expected = (nll * windows.weights_NxL).sum(0) / windows.weights_NxL.sum(0)
    assert per_position.shape == (16,)
    np.testing.assert_allclose(per_position, expected, rtol=1e-5)


def test_loss_per_position_is_nan_where_no_window_has_a_target(model):
    # Stream 10..19 then SEP: 10 targets in one window of 16, so positions 10..15 are empty.
    per_position = loss_per_position(model, pack([list(range(10, 20))], 16, SEP, PAD), BATCH)
    assert np.isfinite(per_position[:10]).all() and np.isnan(per_position[10:]).all()


class _CharTokenizer:
    """One id per character (ids 4..63), enough to score text without SentencePiece."""

    eos_id, pad_id = SEP, PAD

    def encode(self, text):
        return [4 + ord(c) % 60 for c in text]


def test_source_of_reads_the_prefix_or_the_folder():
    assert source_of("topic:assert") == "topic"
    assert source_of("module:json.decoder") == "module"
    assert source_of("pile/arxiv/0001.txt") == "arxiv"
    assert source_of("/data/c:odd/x.txt") == "c:odd"
    assert source_of("notes.txt") == "."


def test_evaluate_by_source_equals_a_hand_built_stream_per_group(model):
    from gopherlite.data.corpus import Document

    rng = np.random.default_rng(2)
    letters = np.array(list("abcdefghij klmnopqrstuvwxyz.é"))
    docs = [
        Document(f"{group}:{i}", "".join(rng.choice(letters, rng.integers(8, 50))))
        for group, count in (("web", 3), ("code", 2), ("books", 1))
        for i in range(count)
    ]
    rng.shuffle(docs)
    tokenizer = _CharTokenizer()
    results = evaluate_by_source(model, tokenizer, docs, 16, batch_size=BATCH)
    assert list(results) == ["books", "code", "web"]
    for group, result in results.items():
        texts = [d.text for d in docs if d.name.startswith(group + ":")]
        # The group's stream by hand: each document's ids then the separator; predict each
        # token after the first, 16 inputs per window, scored in float64.
        stream = [t for text in texts for t in (*tokenizer.encode(text), SEP)]
        bits = 0.0
        for start in range(0, len(stream) - 1, 16):
            inputs = stream[start : start + 16]
            targets = stream[start + 1 : start + 17]
            logp = _log_softmax(np.asarray(_forward(model, jnp.asarray([inputs])), np.float64))
            bits -= sum(logp[0, i, t] for i, t in enumerate(targets)) / math.log(2)
        num_bytes = sum(len(text.encode("utf-8")) for text in texts)
        assert result.bytes == num_bytes and result.tokens == len(stream) - 1
        assert result.bits_per_byte == pytest.approx(bits / num_bytes, rel=1e-5)
        assert result.unigram_bits_per_byte is None
    with_baseline = evaluate_by_source(
        model, tokenizer, docs, 16, train_windows=pack([tokenizer.encode("abc ")], 16, SEP, PAD)
    )
    assert all(r.unigram_bits_per_byte > 0 for r in with_baseline.values())
