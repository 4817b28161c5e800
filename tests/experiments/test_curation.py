"""Chapter 01's experiment pieces: the junk mix holds the share it states, groups and outcomes
add up, MassiveText's epochs follow from its table, and a tiny train-and-score run works."""

import random

import pytest

from gopherlite import ModelConfig
from gopherlite.data.corpus import Document
from gopherlite.data.dedup import jaccard
from gopherlite.data.filters import QualityRules, quality_failures, repetition_failures
from gopherlite.data.tokenizer import Tokenizer
from gopherlite.train import TrainConfig
from gopherlite.workbook.experiments.curation import (
    CHINCHILLA_TRAIN_TOKENS,
    JUNK_KINDS,
    MASSIVETEXT,
    epochs,
    filter_outcome,
    group_of,
    is_junk,
    junk_documents,
    junk_mix,
    nbytes,
    near_copy,
    train_and_score,
)
from tests.curation_docs import clean_prose

REAL = [Document(f"topic:prose{i}", t * 6) for i, t in enumerate(clean_prose())]


def test_junk_generator_is_deterministic_and_has_every_kind():
    assert list(junk_documents(seed=3, per_kind=2)) == list(JUNK_KINDS)
    assert junk_documents(seed=3, per_kind=2) == junk_documents(seed=3, per_kind=2)
    assert junk_documents(seed=3, per_kind=2) != junk_documents(seed=4, per_kind=2)


@pytest.mark.parametrize("share", [0.0, 0.3, 0.5])
def test_junk_mix_holds_the_stated_share_of_bytes(share):
    mixed = junk_mix(REAL, share, seed=1)
    junk = [d for d in mixed if is_junk(d)]
    assert sorted(d.name for d in mixed if not is_junk(d)) == sorted(d.name for d in REAL)
    measured = nbytes(junk) / nbytes(mixed)
    assert share <= measured < share + 0.1  # junk is added a small batch at a time
    assert junk_mix(REAL, share, seed=1) == mixed
    with pytest.raises(ValueError, match="share"):
        junk_mix(REAL, 1.0)


def test_near_copies_are_planted_and_stay_near():
    mixed = junk_mix(REAL, 0.2, copy_sources=REAL[:2], copies=3)
    copies = [d for d in mixed if d.name.startswith("junk:near copy")]
    assert len(copies) == 3 and group_of(copies[0]) == "junk: near copy"
    text = REAL[0].text
    edited = near_copy(text, random.Random(0))
    assert edited != text and jaccard(text, edited) > 0.8


def test_filter_outcome_adds_up_by_group():
    mixed = junk_mix(REAL, 0.8, seed=0)
    rules = QualityRules()
    outcome = filter_outcome(mixed, rules)
    assert outcome.failures == [quality_failures(d.text) for d in mixed]
    assert outcome.repetition == [[] for _ in mixed]  # not applied unless given
    assert outcome.bytes_in == nbytes(mixed)
    assert outcome.kept_bytes["junk: repeated paragraphs"] > 0  # passes the quality rules
    repetition = [repetition_failures(d.text) for d in mixed]
    staged = filter_outcome(mixed, rules, repetition=repetition)
    assert staged.kept_bytes["junk: repeated paragraphs"] == 0
    assert staged.bytes_in == nbytes(mixed) and staged.bytes_kept < outcome.bytes_kept
    assert outcome.kept_bytes["real: topic"] == nbytes(REAL)  # clean prose passes
    assert {f"junk: {k}" for k in JUNK_KINDS} <= set(outcome.kept_bytes)
    assert all(staged.kept_bytes[f"junk: {k}"] == 0 for k in JUNK_KINDS)
    assert outcome.group_rules["junk: short snippet"]["word_count"] > 0


def test_massivetext_epochs_follow_from_the_table():
    assert sum(s.gopher_share for s in MASSIVETEXT) == pytest.approx(1.0)
    assert sum(s.chinchilla_share for s in MASSIVETEXT) == pytest.approx(1.0)
    for s in MASSIVETEXT:
        # Chinchilla's epochs column follows from its shares (Wikipedia's 1% is rounded).
        computed = epochs(s, CHINCHILLA_TRAIN_TOKENS, s.chinchilla_share)
        assert computed == pytest.approx(s.chinchilla_epochs, abs=0.11), s.name


def test_train_and_score_trains_each_corpus_for_the_same_steps():
    mixed = junk_mix(REAL, 0.4, seed=0)
    tokenizer = Tokenizer.train("\n\n".join(d.text for d in REAL), vocab_size=320)
    config = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=320,
                         max_seq_len=16)  # fmt: skip
    train_config = TrainConfig(steps=3, batch_size=2, seq_len=16, log_every=1)
    runs = train_and_score({"mixed": mixed, "clean": REAL}, {"held": REAL[:2]}, tokenizer,
                           config, train_config)  # fmt: skip
    assert [r.name for r in runs] == ["mixed", "clean"]
    assert runs[1].junk_token_share == 0.0 < runs[0].junk_token_share < 1.0
    assert runs[0].train_bytes == nbytes(mixed) and runs[0].epochs < runs[1].epochs
    assert all(r.bits_per_byte["held"] > 0 for r in runs)
