"""Gopher's quality and repetition rules (`gopherlite.data.filters`), rule by rule and against
an independent implementation of the same rules: datatrove's `GopherQualityFilter` and
`GopherRepetitionFilter` (test-only dependencies, spaCy splitting the words)."""

import os

import pytest

from gopherlite.data.filters import (
    QualityRules,
    duplicate_ngram_share,
    quality_failures,
    repeated_parts,
    repetition_failures,
    top_ngram_share,
    words,
)
from tests.curation_docs import clean_prose, junk_documents, real_documents

PROSE = clean_prose(1)[0]


def test_words_split_words_symbols_and_rule_lines():
    assert words("Don't stop... os.path, 3.5 #tag __init__ ---- it's cannot len(x)") == [
        "Do", "n't", "stop", "...", "os.path", ",", "3.5", "#", "tag", "_", "_", "init", "_",
        "_", "----", "it", "'s", "can", "not", "len(", "x", ")",
    ]  # fmt: skip


def test_clean_prose_passes_every_rule():
    for doc in clean_prose():
        assert quality_failures(doc) == [] and repetition_failures(doc) == [], doc


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Too short to be a document.", "word_count"),
        (" ".join(["a"] * 60) + " the of", "mean_word_length"),
        (" ".join(["extraordinarily"] * 60) + " the of", "mean_word_length"),
        (PROSE + " " + "#x " * 40, "symbol_to_word_ratio"),
        ("\n".join(["• " + PROSE[:80]] * 30), "bullet_lines"),
        ("\n".join([PROSE[:80] + " …"] * 10 + [PROSE]), "ellipsis_lines"),
        (PROSE + " " + " ".join(str(n) for n in range(200)), "alphabetic_words"),
        (" ".join(f"word{i} is here" for i in range(40)), "stop_words"),
    ],
)
def test_each_quality_rule_fires_on_its_own_kind_of_text(text, rule):
    assert rule in quality_failures(text)


def test_thresholds_are_the_papers_and_can_be_moved():
    rules = QualityRules()
    assert (rules.min_words, rules.max_words, rules.min_stop_words) == (50, 100_000, 2)
    short = " ".join(PROSE.split()[:40])
    assert "word_count" in quality_failures(short)
    assert "word_count" not in quality_failures(short, QualityRules(min_words=30))


def test_repetition_measures_on_small_cases():
    assert repeated_parts(["a", "b", "a", "a"]) == (2, 2)
    tokens = ["x", "y", "x", "y", "x", "y"]
    assert top_ngram_share(tokens, 2, len("x y x y x y")) == pytest.approx(3 * 3 / 11)
    # "a b c d e" then the same five again: the second copy is one repeated 5-gram.
    tokens = ["a", "b", "c", "d", "e", "a", "b", "c", "d", "e"]
    assert duplicate_ngram_share(tokens, 5, 19) == pytest.approx(5 / 19)


@pytest.mark.parametrize(
    ("kind", "stage", "rule"),
    [
        ("short snippet", "quality", "word_count"),
        ("navigation boilerplate", "repetition", "duplicate_lines"),
        ("bullet list", "quality", "bullet_lines"),
        ("ellipsis teasers", "quality", "ellipsis_lines"),
        ("hashtag spam", "quality", "symbol_to_word_ratio"),
        ("number table", "quality", "alphabetic_words"),
        ("keyword stuffing", "repetition", "top_3gram"),
        ("repeated paragraphs", "repetition", "duplicate_paragraphs"),
        ("unbroken strings", "quality", "mean_word_length"),
    ],
)
def test_each_kind_of_planted_junk_is_removed_by_its_rule(kind, stage, rule):
    check = quality_failures if stage == "quality" else repetition_failures
    for doc in junk_documents()[kind]:
        assert rule in check(doc), (kind, doc[:200])


def _datatrove():
    """datatrove's filters; required in CI (a test extra), skipped with a reason elsewhere."""
    if os.environ.get("CI"):
        import datatrove  # noqa: F401
    pytest.importorskip("datatrove", reason="datatrove is a test extra: pip install -e '.[test]'")
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter

    def keeps(filter_, i, text):
        result = filter_.filter(Document(text=text, id=str(i)))
        return result if isinstance(result, bool) else result[0]

    return GopherQualityFilter(), GopherRepetitionFilter(), keeps


@pytest.fixture(scope="module")
def mixed_documents():
    """The embedded corpus (537 real documents) and 72 planted junk documents."""
    junk = [doc for docs in junk_documents(seed=7).values() for doc in docs]
    return real_documents(), junk


def test_decisions_agree_with_datatrove_on_real_documents_and_junk(mixed_documents):
    quality, repetition, keeps = _datatrove()
    real, junk = mixed_documents
    agree = {"quality": [], "repetition": []}
    for i, text in enumerate(real + junk):
        agree["quality"].append(keeps(quality, i, text) == (not quality_failures(text)))
        agree["repetition"].append(keeps(repetition, i, text) == (not repetition_failures(text)))
    for name, hits in agree.items():
        share = sum(hits) / len(hits)
        print(f"{name}: {share:.1%} of {len(hits)} documents agree with datatrove "
              f"(real only: {sum(hits[: len(real)]) / len(real):.1%})")  # fmt: skip
        assert share >= 0.95, name
        assert all(hits[len(real) :]), f"{name}: a planted junk document is decided differently"
