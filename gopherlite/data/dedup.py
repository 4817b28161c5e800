"""Near-duplicate removal and test-set filtering by 13-gram overlap (Gopher, MassiveText).

MassiveText removed documents that were near copies of one another and documents that overlap
the evaluation sets (G App. A.1.1; the facts sheet marks the exact similarity threshold
UNVERIFIED for Gopher, while RETRO, from the same team on the same data, uses MinHash over
13-grams with Jaccard similarity 0.8). Two documents are compared as sets of *shingles*, their
word 13-grams; MinHash estimates the Jaccard similarity of two sets from short signatures, and
locality-sensitive hashing (LSH) finds candidate pairs without comparing every pair. Both come
from `datasketch`.

* `shingles(text, n)`, `jaccard(a, b, n)`: the exact similarity, for checking by hand.
* `minhash(text, n)`: a document's signature; ``minhash(a).jaccard(minhash(b))`` estimates it.
* `near_duplicates(texts, threshold)`: indices to drop, the first of each group kept.
* `heldout_overlap(texts, heldout)`: indices of documents sharing a 13-gram with held-out text.
* `shingle_index(texts)`, `overlap_fraction(text, index)`: how much of a text (for example a
  model's sample) is made of n-grams seen in a corpus, the measure of a memorisation check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from datasketch import MinHash, MinHashLSH

from gopherlite.data.filters import is_word, words

SHINGLE_WORDS = 13
NUM_PERM = 128


def _shingle_words(text: str) -> list[str]:
    """A text's words as shingles see them: lower-cased, punctuation-only tokens dropped."""
    return [t.lower() for t in words(text) if is_word(t)]


def shingles(text: str, n: int = SHINGLE_WORDS) -> set[tuple[str, ...]]:
    """The set of a text's word n-grams (lower-cased words, punctuation dropped).

    Args:
      text: A document.
      n: Words per shingle (Gopher and RETRO: 13).

    Returns:
      The shingles; a text shorter than n words is one shingle of all its words.
    """
    tokens = _shingle_words(text)
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: str, b: str, n: int = SHINGLE_WORDS) -> float:
    """Exact Jaccard similarity of two texts' shingle sets, |A ∩ B| / |A ∪ B|.

    Args:
      a, b: Two documents.
      n: Words per shingle.

    Returns:
      A similarity in [0, 1] (1.0 for two empty texts).
    """
    sa, sb = shingles(a, n), shingles(b, n)
    union = sa | sb
    return len(sa & sb) / len(union) if union else 1.0


def minhash(text: str, n: int = SHINGLE_WORDS, num_perm: int = NUM_PERM) -> MinHash:
    """A MinHash signature of a text's shingles.

    Args:
      text: A document.
      n: Words per shingle.
      num_perm: Hash functions; the estimate's standard error is about 1/sqrt(num_perm).

    Returns:
      The signature (seed fixed, so equal texts give equal signatures in every process).
    """
    signature = MinHash(num_perm=num_perm, seed=1)
    signature.update_batch([" ".join(s).encode("utf-8") for s in shingles(text, n)])
    return signature


def near_duplicates(
    texts: Sequence[str],
    threshold: float = 0.8,
    *,
    n: int = SHINGLE_WORDS,
    num_perm: int = NUM_PERM,
) -> list[int]:
    """Indices of documents that are near copies of an earlier kept document.

    Documents are visited in order; each is compared (through LSH candidates, confirmed by the
    MinHash estimate) with the documents kept so far, and dropped if one of them has estimated
    Jaccard similarity at least ``threshold``. So the first of each group stays.

    Args:
      texts: Documents in order.
      threshold: Similarity at or above which a document is a near duplicate (0.8).
      n: Words per shingle.
      num_perm: Hash functions per signature.

    Returns:
      Indices to drop, ascending.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}.")
    index = MinHashLSH(threshold=threshold, num_perm=num_perm)
    kept: dict[str, MinHash] = {}
    dropped = []
    for i, text in enumerate(texts):
        signature = minhash(text, n, num_perm)
        candidates = index.query(signature)
        if any(kept[key].jaccard(signature) >= threshold for key in candidates):
            dropped.append(i)
            continue
        key = str(i)
        index.insert(key, signature)
        kept[key] = signature
    return dropped


def heldout_overlap(
    texts: Sequence[str], heldout: Iterable[str], *, n: int = SHINGLE_WORDS
) -> list[int]:
    """Indices of documents that share at least one word n-gram with the held-out texts.

    A stricter rule than a Jaccard threshold: one shared 13-gram is enough to remove a training
    document (the rule GPT-3 used for its contamination study; Gopher's own threshold is
    UNVERIFIED, see the module docstring).

    Args:
      texts: Training documents.
      heldout: Evaluation documents.
      n: Words per n-gram.

    Returns:
      Indices of overlapping training documents, ascending.
    """
    held = shingle_index(heldout, n=n)
    return [i for i, text in enumerate(texts) if not shingles(text, n).isdisjoint(held)]


def shingle_index(texts: Iterable[str], *, n: int = SHINGLE_WORDS) -> set[tuple[str, ...]]:
    """Every word n-gram of a corpus, in one set (for overlap checks against it).

    Args:
      texts: The corpus's documents.
      n: Words per n-gram.

    Returns:
      The union of the documents' `shingles`.
    """
    index: set[tuple[str, ...]] = set()
    for text in texts:
        index |= shingles(text, n)
    return index


def overlap_fraction(
    text: str, index: set[tuple[str, ...]], *, n: int = SHINGLE_WORDS
) -> float | None:
    """Share of a text's word n-grams found in a corpus's `shingle_index`.

    Applied to a model's samples, this is a memorisation measure in the spirit of Gopher's
    Sec. 5 and of Carlini et al. 2021: a 13-gram is long enough that reproducing one verbatim
    almost always means the model saw it in training.

    Args:
      text: The text to check, e.g. a sample.
      index: From `shingle_index` over the training text.
      n: Words per n-gram (the same as the index's).

    Returns:
      The share in [0, 1], or None when the text has fewer than n words.
    """
    tokens = _shingle_words(text)
    if len(tokens) < n:
        return None
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return sum(gram in index for gram in grams) / len(grams)
