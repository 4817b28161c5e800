"""Near-duplicate removal (MinHash and LSH from datasketch) and test-set filtering by 13-grams."""

import random

import pytest

from gopherlite.data.dedup import (
    heldout_overlap,
    jaccard,
    minhash,
    near_duplicates,
    overlap_fraction,
    shingle_index,
    shingles,
)
from tests.curation_docs import clean_prose, near_copy, real_documents


@pytest.fixture(scope="module")
def real():
    return real_documents()


def test_shingles_and_exact_jaccard():
    a = " ".join(f"w{i}" for i in range(20))  # 20 words: 8 shingles of 13
    assert len(shingles(a)) == 8 and jaccard(a, a) == 1.0
    b = a.replace("w19", "x19")  # changes only the last shingle
    assert jaccard(a, b) == pytest.approx(7 / 9)
    assert shingles("Only five words are here.") == {("only", "five", "words", "are", "here")}
    assert jaccard("", "") == 1.0 and jaccard("one two", "three four") == 0.0


def test_minhash_estimates_the_exact_jaccard(real):
    """Standard error 1/sqrt(128) ≈ 0.09: estimates within 0.2 (over two standard errors)."""
    rng = random.Random(3)
    long_docs = [d for d in real if len(d.split()) > 300][:10]
    for text in long_docs:
        other = near_copy(text, rng, every=25)  # a heavier edit: similarity well below 1
        exact = jaccard(text, other)
        assert 0.2 < exact < 0.95
        assert minhash(text).jaccard(minhash(other)) == pytest.approx(exact, abs=0.2)


def test_planted_near_copies_are_found_and_distinct_documents_kept(real):
    rng = random.Random(0)
    originals = [d for d in real if len(d.split()) >= 400][:25]
    copies = [near_copy(d, rng) for d in originals]
    dropped = near_duplicates(real + copies)
    assert dropped == list(range(len(real), len(real) + len(copies)))  # every copy, nothing else
    assert near_duplicates(real) == []  # the corpus's own documents are all distinct


def test_near_duplicates_keep_the_first_of_a_group():
    base = " ".join(f"token{i}" for i in range(500))
    texts = ["unrelated text " * 40, base, base.replace("token250", "other"), base]
    assert near_duplicates(texts) == [2, 3]
    with pytest.raises(ValueError, match="threshold"):
        near_duplicates(texts, threshold=0.0)


def test_test_set_overlap_finds_documents_sharing_a_13_gram(real):
    heldout = real[:3]
    passage = " ".join(heldout[1].split()[100:115])  # 15 words quoted from a held-out document
    prose = clean_prose()
    train = [prose[0], prose[1] + "\n\nAs quoted: " + passage, prose[2]]
    assert heldout_overlap(train, heldout) == [1]
    assert heldout_overlap(prose, heldout) == []
    # Twelve quoted words are not enough: no 13-gram is shared.
    short = " ".join(heldout[1].split()[100:112])
    assert heldout_overlap([prose[0] + " " + short], heldout) == []


def test_overlap_fraction_counts_the_sampled_13_grams_seen_in_the_corpus():
    corpus = [" ".join(f"w{i}" for i in range(40)), "a b c d e f g h i j k l m n"]
    index = shingle_index(corpus)
    assert len(index) == (40 - 13 + 1) + (14 - 13 + 1)
    # 20 words copied from the first document, then 10 new ones: of the 30 - 13 + 1 = 18
    # 13-grams, those starting at words 0..7 of the sample lie inside the copy.
    sample = " ".join(f"w{i}" for i in range(5, 25)) + " " + " ".join(f"x{i}" for i in range(10))
    assert overlap_fraction(sample, index) == pytest.approx(8 / 18)
    assert overlap_fraction("W5, w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17!", index) == 1.0
    assert overlap_fraction("too short to hold a thirteen word window", index) is None
    assert heldout_overlap(["x " + sample, "nothing shared here at all"], corpus) == [0]
