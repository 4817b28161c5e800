"""Packing keeps every token exactly once; the batch order is seeded, resumable and shardable."""

import json

import numpy as np
import pytest

from gopherlite.data.batches import (
    Batch,
    BatchIterator,
    PackedWindows,
    iterate_in_order,
    pack,
    pack_documents,
    repack,
    tokenize_documents,
)
from gopherlite.data.corpus import Document

SEP, PAD = 3, 0


def _docs(rng, n=7, low=4, high=50):
    return [rng.integers(low, high, rng.integers(0, 30)).tolist() for _ in range(n)]


def _stream(docs):
    return [t for doc in docs for t in [*doc, SEP]]


def _targets_in_order(windows):
    return windows.targets_NxL[windows.weights_NxL > 0].tolist()


class CharTokenizer:
    """One token per character: enough to test packing without SentencePiece."""

    eos_id, pad_id = SEP, PAD

    def encode(self, text):
        return [4 + ord(c) % 60 for c in text]


@pytest.mark.parametrize("window", [1, 5, 8, 200])
def test_pack_keeps_every_token_exactly_once(rng, window):
    docs = _docs(rng)
    stream = _stream(docs)
    if window == 8:  # a window that divides the target count exactly: no padding at all
        docs.append([7] * (-len(stream) % 8))  # the new document also adds one separator
        stream = _stream(docs)
        assert (len(stream) - 1) % 8 == 0
    windows = pack(docs, window, SEP, PAD, num_bytes=123)
    assert _targets_in_order(windows) == stream[1:]
    assert windows.inputs_NxL.reshape(-1)[: len(stream) - 1].tolist() == stream[:-1]
    assert len(windows) == -(-(len(stream) - 1) // window)
    assert windows.num_tokens == len(stream) - 1
    assert windows.window == window and windows.num_bytes == 123
    assert windows.inputs_NxL.dtype == windows.targets_NxL.dtype == np.int32
    assert windows.weights_NxL.dtype == np.float32
    assert windows.weights_NxL.all() == ((len(stream) - 1) % window == 0)


def test_pack_separators_and_padding():
    windows = pack([[10, 11], [12], []], 4, SEP, PAD)
    # stream: 10 11 SEP 12 SEP SEP -> 5 targets, 2 windows, 3 padded slots
    np.testing.assert_array_equal(windows.inputs_NxL, [[10, 11, SEP, 12], [SEP, PAD, PAD, PAD]])
    np.testing.assert_array_equal(windows.targets_NxL, [[11, SEP, 12, SEP], [SEP, PAD, PAD, PAD]])
    np.testing.assert_array_equal(windows.weights_NxL, [[1, 1, 1, 1], [1, 0, 0, 0]])


def test_pack_errors():
    with pytest.raises(ValueError, match="window must be a positive"):
        pack([[5, 6]], 0, SEP, PAD)
    with pytest.raises(ValueError, match="Nothing to pack"):
        pack([], 4, SEP, PAD)
    with pytest.raises(ValueError, match="Nothing to pack"):
        pack([[]], 4, SEP, PAD)  # a lone separator has nothing to predict


def test_tokenize_and_pack_documents_count_bytes():
    docs = [Document("a", "héllo"), "wörld"]
    assert tokenize_documents(CharTokenizer(), docs) == [
        CharTokenizer().encode("héllo"),
        CharTokenizer().encode("wörld"),
    ]
    windows = pack_documents(CharTokenizer(), docs, window=4)
    assert windows.num_bytes == 12  # é and ö take two UTF-8 bytes each
    assert windows.num_tokens == 11  # 5 + SEP + 5 + SEP, minus the first token


@pytest.mark.parametrize("window", [1, 6, 64])
def test_repack_keeps_the_same_stream(rng, window):
    docs = _docs(rng)
    windows = pack(docs, 4, SEP, PAD, num_bytes=9)
    again = repack(windows, window)
    assert _targets_in_order(again) == _stream(docs)[1:]
    assert again.window == window and again.num_bytes == 9


def _windows(n, window=3):
    """n windows whose first input is the window's index, so batches reveal their rows."""
    inputs = np.arange(n * window, dtype=np.int32).reshape(n, window) // window
    return PackedWindows(inputs, inputs + 1, np.ones((n, window), np.float32))


def _rows(batch):
    return batch.inputs_BxL[:, 0].tolist()


def test_same_seed_same_order_other_seed_other_order():
    windows = _windows(50)
    draw = [_rows(next(BatchIterator(windows, 10, seed=s))) for s in (1, 1, 2)]
    assert draw[0] == draw[1] and draw[0] != draw[2]


def test_each_epoch_visits_every_window_once_minus_the_remainder():
    windows = _windows(23)
    it = BatchIterator(windows, 5, seed=0)
    assert it.steps_per_epoch == 4
    skipped = []
    for _ in range(3):
        rows = [r for _ in range(it.steps_per_epoch) for r in _rows(next(it))]
        assert len(set(rows)) == len(rows) == 20
        skipped.append(frozenset(range(23)) - set(rows))
    assert it.position() == {"epoch": 3, "batch": 0, "seed": 0}
    assert len(set(skipped)) > 1  # the leftover windows differ between epochs


def test_unshuffled_order_is_sequential():
    it = BatchIterator(_windows(7), 3, shuffle=False)
    assert [_rows(next(it)) for _ in range(3)] == [[0, 1, 2], [3, 4, 5], [0, 1, 2]]


def test_batches_have_the_right_fields():
    batch = next(BatchIterator(_windows(8), 4))
    assert isinstance(batch, Batch)
    np.testing.assert_array_equal(batch.targets_BxL, batch.inputs_BxL + 1)
    assert batch.weights_BxL.shape == (4, 3)


@pytest.mark.parametrize("k", [2, 5, 9])  # mid-epoch, at the boundary, in the next epoch
def test_restore_continues_exactly(k):
    windows = _windows(27)  # 5 batches of 5 per epoch
    it = BatchIterator(windows, 5, seed=7)
    for _ in range(k):
        next(it)
    saved = json.loads(json.dumps(it.position()))
    expected = [_rows(next(it)) for _ in range(8)]
    fresh = BatchIterator(windows, 5, seed=0)
    fresh.restore(saved)
    assert [_rows(next(fresh)) for _ in range(8)] == expected


def test_restore_rejects_a_position_that_does_not_fit():
    it = BatchIterator(_windows(10), 5)
    with pytest.raises(ValueError, match="lacks"):
        it.restore({"epoch": 0, "batch": 1})
    with pytest.raises(ValueError, match="batch size changed"):
        it.restore({"epoch": 0, "batch": 2, "seed": 0})


def test_shards_concatenate_to_the_global_batch():
    windows = _windows(40)
    whole = BatchIterator(windows, 8, seed=3)
    shards = [BatchIterator(windows, 8, seed=3, num_shards=4, shard_index=i) for i in range(4)]
    for _ in range(7):  # crosses an epoch boundary (5 batches per epoch)
        parts = [next(shard) for shard in shards]
        assert all(part.inputs_BxL.shape == (2, 3) for part in parts)
        expected = next(whole)
        for field, got in zip(expected, zip(*parts, strict=True), strict=True):
            np.testing.assert_array_equal(np.concatenate(got), field)


def test_iterator_errors_say_what_to_do():
    with pytest.raises(ValueError, match=r"Only 3 windows .* lower the batch size or the window"):
        BatchIterator(_windows(3), 4)
    with pytest.raises(ValueError, match="multiple of the number of shards"):
        BatchIterator(_windows(10), 6, num_shards=4)
    with pytest.raises(ValueError, match="shard_index"):
        BatchIterator(_windows(10), 4, num_shards=2, shard_index=2)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        BatchIterator(_windows(10), 0)


def test_iterate_in_order_pads_the_last_batch_with_zero_weight():
    windows = pack([list(range(4, 25))], 4, SEP, PAD)  # 21 targets -> 6 windows
    batches = list(iterate_in_order(windows, 4))
    assert [b.inputs_BxL.shape for b in batches] == [(4, 4), (4, 4)]
    assert [r for b in batches for r in b.targets_BxL[b.weights_BxL > 0]] == [
        *range(5, 25),
        SEP,
    ]
    assert not batches[1].weights_BxL[2:].any()
    with pytest.raises(ValueError, match="batch_size must be positive"):
        iterate_in_order(windows, 0)
