"""One data path for the command line, the chapters and the studies: corpus → tokenizer → windows.

Gopher's text went through one pipeline from MassiveText to 2,048-token training sequences
(G Sec. 3.4 and App. A); here too every caller (``python -m gopherlite train``, the run folder
code in `gopherlite.runs`, the workbook's experiments) goes through `load_documents` (one
held-out rule, `corpus.split_documents`) and `prepare_text` (tokenize and pack both splits).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence

from gopherlite.data import corpus
from gopherlite.data.batches import PackedWindows, pack_documents, repack
from gopherlite.data.tokenizer import Tokenizer


@dataclasses.dataclass(frozen=True)
class TextData:
    """Tokenised training and held-out text.

    Attributes:
      tokenizer: The tokenizer both splits were encoded with.
      train: Training windows (a prefix of the training split when capped).
      heldout: Held-out windows (a prefix of the held-out split when capped).
      bytes_per_token: UTF-8 bytes per token of the packed training documents (turns a loss
        in nats per token into bits per byte).
      corpus_fingerprint: SHA-256 of the documents used (`corpus.corpus_fingerprint`).
      heldout_share: The share of the corpus's UTF-8 bytes that is held out.
    """

    tokenizer: Tokenizer | None
    train: PackedWindows
    heldout: PackedWindows
    bytes_per_token: float
    corpus_fingerprint: str = ""
    heldout_share: float = 0.0


def load_documents(
    corpus_paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None = None,
) -> tuple[list[corpus.Document], list[corpus.Document]]:
    """Train and held-out documents: the embedded corpus, or the user's files and folders.

    Args:
      corpus_paths: UTF-8 text files (one document each) and folders of them
        (`corpus.text_files`), or None for the embedded corpus.

    Returns:
      ``(train_documents, heldout_documents)``, split by `corpus.split_documents`.
    """
    files = [] if corpus_paths is None else corpus.text_files(corpus_paths)
    if not files:
        return corpus.default_documents("train"), corpus.default_documents("heldout")
    return corpus.split_documents(corpus.load_text_files(files))


def leading_documents(
    tokenizer: Tokenizer, documents: Sequence[corpus.Document], max_tokens: int | None
) -> list[corpus.Document]:
    """The fewest leading documents whose tokens (and separators) exceed ``max_tokens``.

    Args:
      tokenizer: The tokenizer.
      documents: The documents, in order.
      max_tokens: The cap; None keeps every document.

    Returns:
      The leading documents (all of them when the cap is None or never reached).
    """
    documents = list(documents)
    if max_tokens is None:
        return documents
    total = 0
    for count, document in enumerate(documents, start=1):
        total += len(tokenizer.encode(document.text)) + 1  # + 1: the separator
        if total > max_tokens:
            return documents[:count]
    return documents


def first_tokens(windows: PackedWindows, max_tokens: int | None) -> PackedWindows:
    """The first ``max_tokens`` targets of a stream of windows, cut into windows again.

    The result has no byte count (``num_bytes`` 0): bits per byte is unavailable on a prefix
    that ends mid-document.

    Args:
      windows: Packed windows.
      max_tokens: Targets to keep; None (or more than there are) keeps the windows as they are.

    Returns:
      The windows of the prefix, of the same length.
    """
    if max_tokens is None or max_tokens >= windows.num_tokens:
        return windows
    prefix = repack(windows, max_tokens)
    head = PackedWindows(prefix.inputs_NxL[:1], prefix.targets_NxL[:1], prefix.weights_NxL[:1])
    return repack(head, windows.window)


def prepare_text(
    seq_len: int,
    *,
    corpus_paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None = None,
    tokenizer: Tokenizer | None = None,
    vocab_size: int = 4096,
    train_tokens: int | None = None,
    heldout_tokens: int | None = None,
) -> TextData:
    """Load a corpus, choose its tokenizer and pack both splits into windows.

    Args:
      seq_len: Window length of both splits.
      corpus_paths: Files and folders, or None for the embedded corpus.
      tokenizer: The tokenizer to use; None trains a SentencePiece model of ``vocab_size``
        pieces on the training split (deterministic; about a second on the embedded corpus).
      vocab_size: Pieces of a freshly trained tokenizer.
      train_tokens: Keep only the first this many training targets (None: all).
      heldout_tokens: Keep only the first this many held-out targets (None: all; a capped
        split has no byte count, see `first_tokens`).

    Returns:
      The tokenizer, both splits, bytes per training token and the corpus's provenance.
    """
    train_docs, heldout_docs = load_documents(corpus_paths)
    if tokenizer is None:
        text = "\n\n".join(doc.text for doc in train_docs)
        tokenizer = Tokenizer.train(text, vocab_size=vocab_size)
    # A capped split tokenizes only the documents it needs, which keeps smoke runs fast.
    train = pack_documents(
        tokenizer, leading_documents(tokenizer, train_docs, train_tokens), seq_len
    )
    heldout = pack_documents(
        tokenizer, leading_documents(tokenizer, heldout_docs, heldout_tokens), seq_len
    )
    return TextData(
        tokenizer=tokenizer,
        train=first_tokens(train, train_tokens),
        heldout=first_tokens(heldout, heldout_tokens),
        bytes_per_token=train.num_bytes / train.num_tokens,
        corpus_fingerprint=corpus.corpus_fingerprint(train_docs + heldout_docs),
        heldout_share=corpus.heldout_share(train_docs, heldout_docs),
    )
