"""Near-duplicate removal (MinHash and LSH from datasketch) and test-set filtering by 13-grams."""

import random

import pytest

from gopherlite.data.dedup import heldout_overlap, jaccard, minhash, near_duplicates, shingles
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
