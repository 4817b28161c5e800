"""`workbook.experiments.tokenization`: the vocabulary sweep and SentencePiece's normalisations."""

import pytest

from gopherlite import Tokenizer
from gopherlite.workbook.experiments import tokenization


def test_sweep_measures_each_size(tokenizer_training_text):
    text, heldout = tokenizer_training_text[:100_000], tokenizer_training_text[-20_000:]
    measurements, tokenizers = tokenization.sweep_vocab_sizes(text, heldout, [400, 800])
    assert [m.vocab_size for m in measurements] == [400, 800]
    assert all(isinstance(t, Tokenizer) for t in tokenizers.values())
    assert measurements[1].bytes_per_token > measurements[0].bytes_per_token
    assert all(m.train_seconds > 0 for m in measurements)
    stats = tokenizers[800].stats(heldout)
    assert measurements[1].bytes_per_token == stats.bytes_per_token
    assert measurements[1].byte_fallback_fraction == stats.byte_fallback_fraction


@pytest.mark.parametrize("name", list(tokenization.NORMALIZATIONS))
@pytest.mark.parametrize("text", ["ﬁne  x²\n\tＡ①", "  lead and trail  ", "", "   ", "Cafe\u0301"])
def test_normalize_segments_align_both_texts(name, text):
    normalized, segments = tokenization.normalize(text, name)
    assert "".join(old for old, _ in segments) == text
    assert "".join(new for _, new in segments) == normalized


def test_normalization_rules():
    text = "x²  ﬁ\nA"
    assert tokenization.normalize(text, "identity (gopherlite: text kept as is)")[0] == text
    assert tokenization.normalize(text, "nfkc (Gopher's tokenizer)")[0] == "x2 fi\nA"
    assert tokenization.normalize(text, "nmt_nfkc (SentencePiece's default)")[0] == "x2 fi A"
    assert tokenization.normalize(text, "nmt_nfkc_cf (default + case folding)")[0] == "x2 fi a"


def test_normalize_pairs_a_ligature_with_its_letters():
    _, segments = tokenization.normalize("ﬁx", "nfkc (Gopher's tokenizer)")
    assert ("ﬁ", "fi") in segments and ("x", "x") in segments
