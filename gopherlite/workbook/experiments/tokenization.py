"""Chapter 02's measurements: BPE merges, a vocabulary sweep and SentencePiece's normalisation.

* :func:`sentencepiece_merges`: the merged pieces of a trained BPE tokenizer in the order
  SentencePiece learned them, to check the chapter's by-hand merge loop against.
* :func:`sweep_vocab_sizes`: train one tokenizer per vocabulary size and measure training time
  and held-out bytes per token (`gopherlite.data.tokenizer.Tokenizer.stats`).
* :func:`normalize`: what one of SentencePiece's normalisation rules (NFKC and friends) does to
  text before it is tokenized, with the alignment of every changed segment.

`gopherlite.workbook.viz.tokenization` draws them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import sentencepiece as spm

from gopherlite.data.tokenizer import Tokenizer

# Rule name -> settings of SentencePiece's normalizer. "identity" with whitespace kept is what
# gopherlite's Tokenizer uses; nmt_nfkc with extra whitespace removed is SentencePiece's default.
NORMALIZATIONS: dict[str, dict[str, object]] = {
    "identity (gopherlite: text kept as is)": {
        "rule_name": "identity",
        "remove_extra_whitespaces": False,
    },
    "nfkc (Gopher's tokenizer)": {"rule_name": "nfkc"},
    "nmt_nfkc (SentencePiece's default)": {"rule_name": "nmt_nfkc"},
    "nmt_nfkc_cf (default + case folding)": {"rule_name": "nmt_nfkc_cf"},
}


@dataclasses.dataclass(frozen=True)
class VocabMeasurement:
    """One tokenizer of a vocabulary sweep.

    Attributes:
      vocab_size: Pieces in the vocabulary.
      train_seconds: Wall-clock training time.
      bytes_per_token: UTF-8 bytes per token on the held-out text (higher = more compression).
      byte_fallback_fraction: Share of held-out tokens that are raw byte pieces.
    """

    vocab_size: int
    train_seconds: float
    bytes_per_token: float
    byte_fallback_fraction: float


def sweep_vocab_sizes(
    train_text: str, heldout_text: str, vocab_sizes: Sequence[int]
) -> tuple[list[VocabMeasurement], dict[int, Tokenizer]]:
    """Train one tokenizer per vocabulary size and measure it.

    Args:
      train_text: Training text.
      heldout_text: Text the tokenizers did not see, for bytes per token.
      vocab_sizes: Vocabulary sizes to try.

    Returns:
      The measurements (in the order given) and the trained tokenizers by size.
    """
    measurements, tokenizers = [], {}
    for vocab_size in vocab_sizes:
        start = time.perf_counter()
        tokenizer = Tokenizer.train(train_text, vocab_size=vocab_size)
        seconds = time.perf_counter() - start
        stats = tokenizer.stats(heldout_text)
        measurements.append(
            VocabMeasurement(
                vocab_size, seconds, stats.bytes_per_token, stats.byte_fallback_fraction
            )
        )
        tokenizers[vocab_size] = tokenizer
    return measurements, tokenizers


def normalize(text: str, name: str) -> tuple[str, list[tuple[str, str]]]:
    """Apply one of SentencePiece's normalisations, as a trainer with that setting would.

    Args:
      text: Any text.
      name: A key of ``NORMALIZATIONS``.

    Returns:
      The normalised text (spaces as spaces, no dummy prefix, so it compares with ``text``)
      and its alignment: consecutive ``(original, normalised)`` segments that concatenate to
      ``text`` and to the normalised text (SentencePiece's own offsets, not a diff).
    """
    normalizer = spm.SentencePieceNormalizer(
        add_dummy_prefix=False, escape_whitespaces=False, **NORMALIZATIONS[name]
    )
    normalized, offsets = normalizer.normalize(text, with_offsets=True)
    # offsets[j] is where normalised character j starts in `text`; characters that share a
    # start (e.g. "fi" from the ligature "\ufb01") form one segment.
    starts = [j for j in range(len(normalized)) if j == 0 or offsets[j] != offsets[j - 1]]
    segments = [(text[: offsets[0]], "")] if offsets[0] > 0 else []  # removed leading text
    for k, j in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(normalized)
        segments.append((text[offsets[j] : offsets[end]], normalized[j:end]))
    if offsets[len(normalized)] < len(text):
        segments.append((text[offsets[len(normalized)] :], ""))  # removed trailing text
    return normalized, segments


def sentencepiece_merges(tokenizer: Tokenizer) -> list[tuple[str, float]]:
    """The merged pieces of a BPE tokenizer, in the order SentencePiece's trainer made them.

    SentencePiece's BPE trainer stores its k-th merge (counting from 0) with score ``-k``, then
    appends the single characters, their scores continuing downwards. The reserved pieces
    (special, user-defined and byte pieces) come before all of them. This reads that layout
    back and checks it.

    Args:
      tokenizer: A tokenizer trained with ``model_type="bpe"``.

    Returns:
      ``(piece, score)`` for every merge, first merge first; spaces appear as ``▁``.

    Raises:
      ValueError: the pieces after the byte pieces are not merges followed by single
        characters with scores 0, -1, -2, ... (e.g. a unigram model).
    """
    processor = spm.SentencePieceProcessor()
    processor.LoadFromSerializedProto(tokenizer.to_bytes())
    byte_ids = [i for i in range(processor.get_piece_size()) if processor.is_byte(i)]
    start = byte_ids[-1] + 1 if byte_ids else 0
    learned = [
        (processor.id_to_piece(i), processor.get_score(i))
        for i in range(start, processor.get_piece_size())
        if not (processor.is_control(i) or processor.is_unknown(i) or processor.is_unused(i))
    ]
    num_merges = next((k for k, (piece, _) in enumerate(learned) if len(piece) == 1), None)
    if (
        num_merges is None
        or any(len(piece) != 1 for piece, _ in learned[num_merges:])
        or [score for _, score in learned] != [-float(k) for k in range(len(learned))]
    ):
        raise ValueError(
            "Not a SentencePiece BPE vocabulary: expected merged pieces scored 0, -1, -2, ... "
            "followed by single characters. Train the tokenizer with model_type='bpe'."
        )
    return learned[:num_merges]
