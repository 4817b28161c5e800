"""Tokenizer: exact round trips, byte fallback, persistence, determinism and clear errors."""

import os
import random
import re
import types

import numpy as np
import pytest

from gopherlite.data.tokenizer import Tokenizer, TokenizerStats, check_vocab_compatible

BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")

AWKWARD_TEXTS = [
    "",
    " ",
    "\n",
    "line one\nline two",
    "windows\r\nline endings\r\n",
    "trailing newline\n",
    "\n\nleading blank lines",
    "\ttab\tseparated\t\tvalues\t",
    "   leading spaces",
    "trailing spaces   ",
    "repeated    internal     spaces",
    "def f(x):\n    if x:\n        return x\n",
    "日本語のテキストと中文文本",
    "한국어 텍스트",
    "emoji 😀 and 👍🏿 skin tone and 👩🏽\u200d💻 ZWJ sequence 👨\u200d👩\u200d👧\u200d👦",
    "flags 🇬🇧🇯🇵 and keycap 1\ufe0f\u20e3",
    "combining e\u0301 a\u0308 n\u0303 and stacked a\u0301\u0302\u0303",
    "NFKC would change these: ﬁ ① Ｆｕｌｌ ² ℌ",
    "a literal \u2581 lower block and \u2581\u2581 two",
    "controls \x00 \x07 \x1b[0m \x7f and nbsp\u00a0narrow\u202fspace",
    "<unk> <s> </s> <pad> <0x41> look like special pieces",
    "right-to-left שלום مرحبا",
]


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_round_trip_is_exact(small_tokenizer, text):
    ids = small_tokenizer.encode(text)
    assert small_tokenizer.decode(ids) == text
    assert small_tokenizer.unk_id not in ids


def test_unseen_characters_use_byte_fallback(small_tokenizer, tokenizer_training_text):
    # Cuneiform, Linear B and a private-use character: none is in the training text.
    unseen = "\U00012000\U00010000\ue000"
    assert not set(unseen) & set(tokenizer_training_text)
    text = f"known words {unseen} more words"
    pieces = small_tokenizer.pieces(text)
    byte_pieces = [piece for piece in pieces if BYTE_PIECE.fullmatch(piece)]
    assert len(byte_pieces) == len(unseen.encode("utf-8")) == 4 + 4 + 3
    assert small_tokenizer.decode(small_tokenizer.encode(text)) == text


def test_literal_space_symbol_is_encoded_as_bytes(small_tokenizer):
    # SentencePiece decodes the piece U+2581 as a space; the wrapper must keep it verbatim.
    assert small_tokenizer.pieces("a\u2581b") == ["a", "<0xE2>", "<0x96>", "<0x81>", "b"]


def test_newline_and_tab_are_single_pieces(small_tokenizer):
    assert small_tokenizer.pieces("\n\t") == ["\n", "\t"]


def _random_unicode_string(rng: random.Random) -> str:
    ranges = [
        (0x00, 0x7F),  # ASCII, including control characters
        (0x80, 0x7FF),  # Latin, Greek, Cyrillic, Hebrew, Arabic, combining marks
        (0x800, 0xD7FF),  # rest of the BMP below the surrogates (CJK, Hangul, ...)
        (0xE000, 0xFFFF),  # private use, compatibility forms, specials, noncharacters
        (0x1F300, 0x1FAFF),  # emoji and skin-tone modifiers
        (0x10000, 0x10FFFF),  # all supplementary planes
    ]
    whitespace = [" ", "  ", "\n", "\r\n", "\t", "\u200d", "\u2581"]
    chars = []
    for _ in range(rng.randint(0, 24)):
        if rng.random() < 0.2:
            chars.append(rng.choice(whitespace))
        else:
            chars.append(chr(rng.randint(*rng.choice(ranges))))
    return "".join(chars)


def test_fuzz_random_unicode_round_trips(small_tokenizer):
    rng = random.Random(1234)
    texts = [_random_unicode_string(rng) for _ in range(10_000)]
    batch_ids = small_tokenizer.encode_batch(texts)
    for text, ids in zip(texts, batch_ids, strict=True):
        assert small_tokenizer.decode(ids) == text, ascii(text)
        assert small_tokenizer.unk_id not in ids
    assert batch_ids[:50] == [small_tokenizer.encode(text) for text in texts[:50]]


def test_lone_surrogate_gives_a_clear_error(small_tokenizer):
    with pytest.raises(ValueError, match="lone surrogate"):
        small_tokenizer.encode("text with a \ud800 surrogate")


def test_decode_accepts_numpy_and_drops_special_ids(small_tokenizer):
    ids = small_tokenizer.encode("hello world")
    tok = small_tokenizer
    wrapped = [tok.bos_id, *ids, tok.eos_id, tok.pad_id]
    assert tok.decode(np.asarray(wrapped, dtype=np.int32)) == "hello world"


def test_decode_rejects_out_of_range_ids(small_tokenizer):
    with pytest.raises(ValueError, match="1024"):
        small_tokenizer.decode([5, 1024])
    with pytest.raises(ValueError, match="-1"):
        small_tokenizer.id_to_piece(-1)


def test_special_ids_and_vocab_size(small_tokenizer):
    tok = small_tokenizer
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)
    assert tok.vocab_size == 1024
    assert [tok.id_to_piece(i) for i in range(4)] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert "vocab_size=1024" in repr(tok)


def test_save_load_and_bytes_give_identical_encodings(small_tokenizer, tmp_path):
    text = "Save me 👍🏿 exactly,\n\twith  spaces \u2581 and \U00012000."
    path = tmp_path / "nested" / "tok.model"
    small_tokenizer.save(path)
    small_tokenizer.save(path)  # overwriting an existing file works too
    assert [p.name for p in path.parent.iterdir()] == ["tok.model"]  # no temp file left
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600
    loaded = Tokenizer.load(str(path))  # str and PathLike both work
    restored = Tokenizer.from_bytes(small_tokenizer.to_bytes())
    assert loaded.to_bytes() == restored.to_bytes() == small_tokenizer.to_bytes()
    expected = small_tokenizer.encode(text)
    assert loaded.encode(text) == restored.encode(text) == expected


def test_training_is_deterministic(tokenizer_training_text):
    text = tokenizer_training_text[:100_000]
    first = Tokenizer.train(text, vocab_size=512)
    second = Tokenizer.train(text, vocab_size=512)
    assert first.to_bytes() == second.to_bytes()


def test_training_from_paths_matches_training_from_text(tmp_path, tokenizer_training_text):
    half = len(tokenizer_training_text[:100_000]) // 2
    part_a, part_b = tokenizer_training_text[:half], tokenizer_training_text[half:100_000]
    (tmp_path / "a.txt").write_text(part_a, encoding="utf-8", newline="")
    (tmp_path / "b.txt").write_text(part_b, encoding="utf-8", newline="")
    from_files = Tokenizer.train([tmp_path / "a.txt", tmp_path / "b.txt"], vocab_size=512)
    from_text = Tokenizer.train(part_a + "\n" + part_b, vocab_size=512)
    assert from_files.to_bytes() == from_text.to_bytes()


def test_training_rejects_bad_inputs(tmp_path):
    with pytest.raises(TypeError, match=r"pathlib\.Path"):
        Tokenizer.train(["a.txt", "b.txt"], vocab_size=512)
    with pytest.raises(FileNotFoundError, match=r"missing\.txt"):
        Tokenizer.train([tmp_path / "missing.txt"], vocab_size=512)
    with pytest.raises(ValueError, match="No training text"):
        Tokenizer.train(" \n\n ", vocab_size=512)
    with pytest.raises(ValueError, match="model_type"):
        Tokenizer.train("some text", vocab_size=512, model_type="wordpiece")


def test_long_lines_are_chunked_not_dropped():
    # One 60,000-character line: SentencePiece would skip it whole (so no training data at all)
    # if the wrapper did not cut it into chunks of at most max_sentence_length bytes.
    line = " ".join(f"word{i % 500} ünïcödé" for i in range(4000))
    tok = Tokenizer.train(line, vocab_size=400, max_sentence_length=1000)
    assert tok.decode(tok.encode(line)) == line


def test_vocab_too_large_says_lower_vocab_size():
    with pytest.raises(ValueError, match=r"vocab_size=5000 is too large.*Lower vocab_size"):
        Tokenizer.train("hello world, a tiny corpus\n" * 20, vocab_size=5000)


def test_vocab_too_small_says_raise_vocab_size():
    with pytest.raises(ValueError, match=r"vocab_size=100 is too small.*Raise vocab_size"):
        Tokenizer.train("hello world, a tiny corpus\n" * 20, vocab_size=100)


def test_stats_arithmetic_by_hand(small_tokenizer, tokenizer_training_text):
    # "\n" and "\t" are one piece each; each unseen 4-byte character is 4 byte pieces.
    unseen = "\U00012000\U00012001"
    assert not set(unseen) & set(tokenizer_training_text)
    stats = small_tokenizer.stats(f"\n{unseen[0]}\t{unseen[1]}")
    assert stats == TokenizerStats(
        bytes=1 + 4 + 1 + 4,
        tokens=1 + 4 + 1 + 4,
        bytes_per_token=1.0,
        byte_fallback_tokens=8,
        byte_fallback_fraction=0.8,
    )
    assert small_tokenizer.stats("") == TokenizerStats(0, 0, 0.0, 0, 0.0)


def test_stats_agree_with_pieces(small_tokenizer):
    text = "The quick brown fox — naïve café 🦊 jumps.\n"
    stats = small_tokenizer.stats(text)
    pieces = small_tokenizer.pieces(text)
    # 38 ASCII bytes, "—" 3, "ï" 2, "é" 2, "🦊" 4 (hand count).
    assert stats.bytes == len(text.encode("utf-8")) == 38 + 3 + 2 + 2 + 4
    assert stats.tokens == len(pieces)
    assert stats.bytes_per_token == pytest.approx(49 / len(pieces))
    assert stats.byte_fallback_tokens == sum(bool(BYTE_PIECE.fullmatch(p)) for p in pieces) > 0


def test_compresses_english(small_tokenizer, tokenizer_training_text):
    # Measured 2.9 bytes per token for this 1,024-piece model; one token per character would
    # give about 1.0.
    stats = small_tokenizer.stats(tokenizer_training_text[-20_000:])
    assert stats.bytes_per_token > 2.0
    assert stats.byte_fallback_fraction < 0.01


def test_vocab_mismatch_message_names_both_sizes_and_fixes():
    with pytest.raises(ValueError) as error:
        check_vocab_compatible(4096, 32000)
    message = str(error.value)
    assert "4096" in message and "32000" in message
    assert "vocab_size=32000" in message  # retrain the tokenizer
    assert "dataclasses.replace(config, vocab_size=4096)" in message  # or change the model
    check_vocab_compatible(4096, 4096)


def test_check_compatible_reads_model_config(small_tokenizer):
    small_tokenizer.check_compatible(types.SimpleNamespace(vocab_size=1024))
    with pytest.raises(ValueError, match=r"1024.*32000"):
        small_tokenizer.check_compatible(types.SimpleNamespace(vocab_size=32000))


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.model"):
        Tokenizer.load(tmp_path / "nothing.model")
    corrupt = tmp_path / "corrupt.model"
    corrupt.write_bytes(b"this is not a sentencepiece model \x00\x01\x02")
    with pytest.raises(ValueError, match=r"corrupt\.model"):
        Tokenizer.load(corrupt)
    with pytest.raises(ValueError, match="Empty bytes"):
        Tokenizer.from_bytes(b"")
