"""SentencePiece's BPE merge order, as chapter 02's by-hand merge loop reproduces it.

`workbook.experiments.tokenization.sentencepiece_merges` reads the merges back from a trained
`Tokenizer`; the other tests pin the trainer's rules that the chapter states and its loop
copies (ties, overlapping pairs, word boundaries), so a SentencePiece upgrade that changed one
fails here with a readable message as well as in the notebook.
"""

import pytest

from gopherlite import Tokenizer
from gopherlite.workbook.experiments.tokenization import sentencepiece_merges

# 4 special + 256 byte + the "\n" and "\t" pieces.
RESERVED = 262


def _merges(text: str, num_chars: int, num_merges: int) -> list[str]:
    """The pieces of the first ``num_merges`` merges SentencePiece makes on ``text``."""
    tokenizer = Tokenizer.train(text, vocab_size=RESERVED + num_chars + num_merges)
    return [piece for piece, _ in sentencepiece_merges(tokenizer)]


def test_merges_are_scored_by_order_and_precede_the_characters():
    tokenizer = Tokenizer.train("abc\n" * 4 + "ab\n" * 2 + "de\n" * 4, vocab_size=RESERVED + 5 + 3)
    merges = sentencepiece_merges(tokenizer)
    assert [score for _, score in merges] == [0.0, -1.0, -2.0]
    assert tokenizer.id_to_piece(RESERVED) == merges[0][0]
    # The characters follow the last merge.
    assert len(tokenizer.id_to_piece(RESERVED + len(merges))) == 1


def test_a_tie_in_count_goes_to_the_shorter_piece():
    # ab (6) first; then ab+c and d+e both occur 4 times: "de" is shorter, though "abc" < "de".
    assert _merges("abc\n" * 4 + "ab\n" * 2 + "de\n" * 4, 5, 3) == ["ab", "de", "abc"]


def test_a_tie_in_count_and_length_goes_to_the_smaller_string():
    # Every pair occurs 5 times; "ab" < "cd" < "▁a" in code-point order, whatever the text order.
    assert _merges("cd ab\n" * 5, 5, 2) == ["ab", "cd"]


def test_overlapping_pairs_are_all_counted():
    # "aaa" holds the pair (a, a) twice, overlapping: 2 x 2 = 4 beats (b, c) with 3. Counting
    # without overlaps would give 2 and merge "bc" first.
    assert _merges("aaa\n" * 2 + "bc\n" * 3, 3, 1) == ["aa"]


def test_letters_never_join_digits_or_punctuation():
    # "s." and "a1" would be the most frequent pairs, but letters are Latin script and digits
    # and punctuation Common, and a piece keeps to one script; "(1" is all Common.
    assert _merges("s. s. s.\n" * 2, 3, 1) == ["▁s"]
    assert _merges("a1 a1 a1 a1\nzz\n", 4, 1) == ["▁a"]
    assert _merges("(1 (1 (1\nzz\n", 4, 1) == ["(1"]


def test_runs_of_spaces_become_pieces_of_their_own():
    assert _merges("a    b\n" * 3, 3, 1) == ["▁▁"]  # (▁, ▁) 3 times a line, overlapping


def test_a_space_may_only_start_a_piece():
    # "▁b" ties with "▁▁" and wins on string order ("b" < "▁"). "▁" + "▁b" would put a space
    # after the start of a piece, so "▁▁b" is never made, even when SentencePiece runs out of
    # pairs that still occur and fills the vocabulary with a left-over one ("▁▁", now unused).
    assert _merges("a  b\n" * 3, 3, 1) == ["▁b"]
    assert _merges("a  b\n" * 3, 3, 2) == ["▁b", "▁▁"]


def test_a_unigram_model_is_refused():
    tokenizer = Tokenizer.train(
        "abc def ghi\n" * 40 + "the cat sat on the mat\n" * 30,
        vocab_size=280,
        model_type="unigram",
    )
    with pytest.raises(ValueError, match="model_type='bpe'"):
        sentencepiece_merges(tokenizer)
