"""Gopher's quality and repetition rules for web documents (MassiveText, Rae et al. 2021).

MassiveWeb documents were kept only if they passed simple, hand-written rules (G App. A.1.1):
*quality* rules on word counts, word lengths, symbols, bullets, ellipses, alphabetic words and
stop words, and *repetition* rules (G Table A1) on repeated lines, paragraphs and n-grams.
Each rule is one small function here with the paper's threshold as a named default; a
document is kept when it fails none.

* `quality_failures(text)`, `repetition_failures(text)`: the names of the rules a text fails
  (empty: keep it). `QualityRules` and `RepetitionRules` hold the thresholds.
* `words(text)`: the word splitter the rules share: runs of letters and digits (with inner
  apostrophes and dots, as in "don't" or "3.5") and each punctuation mark on its own.

Where the paper leaves a detail open, the choice made here is stated in the rule's docstring
(fractions of characters are of the whole text, as in datatrove's implementation; stop words
are matched lower-cased).
"""

from __future__ import annotations

import collections
import dataclasses
import re
from collections.abc import Sequence

STOP_WORDS: frozenset[str] = frozenset(("the", "be", "to", "of", "and", "that", "have", "with"))
BULLETS: tuple[str, ...] = ("•", "‣", "◦", "-", "*")
ELLIPSES: tuple[str, ...] = ("...", "…")

# Tokens, tried in this order: an ellipsis; the clitics of English contractions as their own
# tokens ("does" + "n't", "it" + "'s", "can" + "not"); words of letters and digits with inner
# dots or underscores ("os.path", "is_dir"), keeping a bracket that opens straight into more
# letters ("len(x"); a rule line of one repeated "-", "=" or "~"; any other single symbol.
# This is close to the spaCy splitting datatrove uses, without needing spaCy.
_W = r"[^\W_]"
_TOKEN = re.compile(
    rf"\.\.\.|…|(?i:n't)\b|['’](?i:s|re|ve|ll|d|m)\b|(?i:can)(?=not\b)|{_W}+?(?=(?i:n't)\b)"
    rf"|{_W}+(?:[_.]+{_W}+)*(?:\((?={_W}))?|([-=~])\1*|[^\w\s]|_"
)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def words(text: str) -> list[str]:
    """Split text into word and punctuation tokens.

    Args:
      text: Any text.

    Returns:
      Tokens in order: words (letters and digits, with inner ``.`` or ``_``), contractions
      split as ``does`` + ``n't``, the ellipsis ``...`` or ``…`` and rule lines such as
      ``----`` as one token each, and every other symbol on its own.
    """
    return [match.group(0) for match in _TOKEN.finditer(text)]


def is_word(token: str) -> bool:
    """Whether a token holds a letter or a digit (is not punctuation alone).

    Args:
      token: One of `words`' tokens.

    Returns:
      True for words and numbers.
    """
    return any(ch.isalnum() for ch in token)


@dataclasses.dataclass(frozen=True)
class QualityRules:
    """Thresholds of Gopher's quality filter (G App. A.1.1).

    Attributes:
      min_words, max_words: Keep documents with 50 to 100,000 words.
      min_mean_word_length, max_mean_word_length: Mean word length of 3 to 10 characters.
      max_symbol_ratio: At most 0.1 hash symbols per word, and at most 0.1 ellipses per word.
      max_bullet_lines: At most 90% of lines may start with a bullet point.
      max_ellipsis_lines: At most 30% of lines may end with an ellipsis.
      min_alphabetic_words: At least 80% of words must contain an alphabetic character.
      min_stop_words: At least two of `STOP_WORDS` must occur.
    """

    min_words: int = 50
    max_words: int = 100_000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_ratio: float = 0.1
    max_bullet_lines: float = 0.9
    max_ellipsis_lines: float = 0.3
    min_alphabetic_words: float = 0.8
    min_stop_words: int = 2


def word_count(tokens: Sequence[str], rules: QualityRules) -> str | None:
    """``"word_count"`` unless the document has between ``min_words`` and ``max_words`` words."""
    n = sum(map(is_word, tokens))
    return None if rules.min_words <= n <= rules.max_words else "word_count"


def mean_word_length(tokens: Sequence[str], rules: QualityRules) -> str | None:
    """``"mean_word_length"`` if the mean length of the words is outside [3, 10] characters."""
    lengths = [len(t) for t in tokens if is_word(t)]
    if not lengths:
        return "mean_word_length"
    mean = sum(lengths) / len(lengths)
    ok = rules.min_mean_word_length <= mean <= rules.max_mean_word_length
    return None if ok else "mean_word_length"


def symbol_to_word_ratio(text: str, tokens: Sequence[str], rules: QualityRules) -> str | None:
    """``"symbol_to_word_ratio"`` if hashes or ellipses exceed 0.1 per word (either one)."""
    n_words = max(1, sum(map(is_word, tokens)))
    hashes = text.count("#")
    ellipses = sum(text.count(e) for e in ELLIPSES)
    too_many = max(hashes, ellipses) / n_words > rules.max_symbol_ratio
    return "symbol_to_word_ratio" if too_many else None


def bullet_lines(lines: Sequence[str], rules: QualityRules) -> str | None:
    """``"bullet_lines"`` if more than 90% of the non-empty lines start with a bullet."""
    if not lines:
        return None
    share = sum(line.lstrip().startswith(BULLETS) for line in lines) / len(lines)
    return "bullet_lines" if share > rules.max_bullet_lines else None


def ellipsis_lines(lines: Sequence[str], rules: QualityRules) -> str | None:
    """``"ellipsis_lines"`` if more than 30% of the non-empty lines end with an ellipsis."""
    if not lines:
        return None
    share = sum(line.rstrip().endswith(ELLIPSES) for line in lines) / len(lines)
    return "ellipsis_lines" if share > rules.max_ellipsis_lines else None


def alphabetic_words(tokens: Sequence[str], rules: QualityRules) -> str | None:
    """``"alphabetic_words"`` if under 80% of the tokens contain a letter.

    Punctuation marks count as tokens without a letter, as in datatrove's implementation of
    the rule (the paper does not say how it split words); so do numbers. Prose passes easily,
    while code, tables and symbol-heavy text fail.
    """
    if not tokens:
        return "alphabetic_words"
    share = sum(any(ch.isalpha() for ch in t) for t in tokens) / len(tokens)
    return "alphabetic_words" if share < rules.min_alphabetic_words else None


def stop_words(tokens: Sequence[str], rules: QualityRules) -> str | None:
    """``"stop_words"`` if fewer than two of the stop words occur (lower-cased, distinct)."""
    present = STOP_WORDS.intersection(t.lower() for t in tokens)
    return "stop_words" if len(present) < rules.min_stop_words else None


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def quality_failures(
    text: str, rules: QualityRules = QualityRules(), *, tokens: Sequence[str] | None = None
) -> list[str]:
    """The quality rules a document fails, in the paper's order.

    Args:
      text: The document.
      rules: Thresholds (default: the paper's).
      tokens: ``words(text)``, if already split (a caller trying many thresholds on the same
        documents splits each once).

    Returns:
      Rule names (``word_count``, ``mean_word_length``, ``symbol_to_word_ratio``,
      ``bullet_lines``, ``ellipsis_lines``, ``alphabetic_words``, ``stop_words``); empty
      means keep.
    """
    tokens, lines = words(text) if tokens is None else tokens, _lines(text)
    checks = (
        word_count(tokens, rules),
        mean_word_length(tokens, rules),
        symbol_to_word_ratio(text, tokens, rules),
        bullet_lines(lines, rules),
        ellipsis_lines(lines, rules),
        alphabetic_words(tokens, rules),
        stop_words(tokens, rules),
    )
    return [name for name in checks if name is not None]


@dataclasses.dataclass(frozen=True)
class RepetitionRules:
    """Thresholds of Gopher's repetition filter (G Table A1).

    Attributes:
      duplicate_lines, duplicate_paragraphs: Share of lines (paragraphs) that repeat an earlier
        one, at most 0.30.
      duplicate_line_chars, duplicate_paragraph_chars: Share of the text's characters in such
        repeats, at most 0.20.
      top_ngram_chars: For n = 2, 3, 4: the share of the text's characters in the most
        frequent n-gram's occurrences, at most 0.20, 0.18, 0.16.
      duplicate_ngram_chars: For n = 5 … 10: the share of the text's characters covered by
        repeated occurrences of n-grams, at most 0.15 … 0.10.
    """

    duplicate_lines: float = 0.30
    duplicate_paragraphs: float = 0.30
    duplicate_line_chars: float = 0.20
    duplicate_paragraph_chars: float = 0.20
    top_ngram_chars: tuple[tuple[int, float], ...] = ((2, 0.20), (3, 0.18), (4, 0.16))
    duplicate_ngram_chars: tuple[tuple[int, float], ...] = (
        (5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10),
    )  # fmt: skip


def repeated_parts(parts: Sequence[str]) -> tuple[int, int]:
    """How many parts repeat an earlier part, and how many characters those repeats hold.

    Args:
      parts: Lines or paragraphs, in order.

    Returns:
      ``(repeats, characters in repeats)``; the first occurrence of each part is not a repeat.
    """
    seen: set[str] = set()
    repeats = chars = 0
    for part in parts:
        if part in seen:
            repeats += 1
            chars += len(part)
        seen.add(part)
    return repeats, chars


def top_ngram_share(word_list: Sequence[str], n: int, n_chars: int) -> float:
    """Share of the text's characters in all occurrences of the most frequent n-gram.

    Args:
      word_list: The document's tokens.
      n: n-gram length.
      n_chars: Characters of the whole text.

    Returns:
      The n-gram's length (words joined by single spaces) times its count, over ``n_chars``;
      0 when there are fewer than n tokens.
    """
    grams = collections.Counter(tuple(word_list[i : i + n]) for i in range(len(word_list) - n + 1))
    if not grams:
        return 0.0
    gram, count = grams.most_common(1)[0]
    return len(" ".join(gram)) * count / max(1, n_chars)


def duplicate_ngram_share(word_list: Sequence[str], n: int, n_chars: int) -> float:
    """Share of the text's characters in repeated occurrences of n-grams.

    The tokens are scanned left to right; an n-gram seen before counts its characters and the
    scan jumps past it, so characters of overlapping n-grams are never counted twice (as the
    paper asks). The characters of a repeat are those of its tokens, without spaces.

    Args:
      word_list: The document's tokens.
      n: n-gram length.
      n_chars: Characters of the whole text.

    Returns:
      The share in [0, 1].
    """
    seen: set[tuple[str, ...]] = set()
    repeated, i = 0, 0
    while i + n <= len(word_list):
        gram = tuple(word_list[i : i + n])
        if gram in seen:
            repeated += sum(map(len, gram))
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated / max(1, n_chars)


def repetition_failures(text: str, rules: RepetitionRules = RepetitionRules()) -> list[str]:
    """The repetition rules a document fails.

    Args:
      text: The document.
      rules: Thresholds (default: G Table A1).

    Returns:
      Rule names (``duplicate_paragraphs``, ``duplicate_paragraph_chars``, ``duplicate_lines``,
      ``duplicate_line_chars``, ``top_2gram`` … ``top_4gram``, ``duplicate_5gram`` …
      ``duplicate_10gram``); empty means keep.
    """
    failures = []
    n_chars = max(1, len(text))
    for kind, parts, share_limit, char_limit in (
        ("paragraphs", [p.strip() for p in _PARAGRAPH_BREAK.split(text.strip()) if p.strip()],
         rules.duplicate_paragraphs, rules.duplicate_paragraph_chars),
        ("lines", _lines(text), rules.duplicate_lines, rules.duplicate_line_chars),
    ):  # fmt: skip
        repeats, chars = repeated_parts(parts)
        if parts and repeats / len(parts) > share_limit:
            failures.append(f"duplicate_{kind}")
        if chars / n_chars > char_limit:
            failures.append(f"duplicate_{kind[:-1]}_chars")
    tokens = words(text)
    for n, limit in rules.top_ngram_chars:
        if top_ngram_share(tokens, n, n_chars) > limit:
            failures.append(f"top_{n}gram")
    for n, limit in rules.duplicate_ngram_chars:
        if duplicate_ngram_share(tokens, n, n_chars) > limit:
            failures.append(f"duplicate_{n}gram")
    return failures
