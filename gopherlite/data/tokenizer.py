"""SentencePiece tokenizer with byte fallback and exact round trips (Gopher Sec. 3.1).

Gopher tokenises with SentencePiece (Kudo & Richardson 2018), a 32,000-token vocabulary and
byte-level backoff: a character outside the vocabulary becomes its UTF-8 bytes, one token
each, so every string can be encoded and nothing maps to ``<unk>`` (Rae et al. 2021, Sec. 3.1).
:class:`Tokenizer` is a thin wrapper over the real ``sentencepiece`` library that trains such a
model in memory, saves and loads it, and guarantees ``decode(encode(text)) == text`` for any
Unicode string; :meth:`Tokenizer.stats` reports bytes per token and how often the byte
fallback fires.

Unlike Gopher (NFKC normalisation), text is not normalised at all: Chinchilla dropped NFKC
because it helped maths and chemistry (Hoffmann et al. 2022, Sec. 4.1), and an exact round trip
makes bits per byte well defined on the original bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import sentencepiece as spm

from gopherlite.data.corpus import load_text_files

PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3
# SentencePiece writes a space as U+2581 ("▁") inside pieces and turns every U+2581 back into a
# space when decoding, so a literal U+2581 in the input would come back as " ". The wrapper
# encodes that one character as its three UTF-8 byte pieces instead, which decode verbatim.
_SPACE_SYMBOL = "\u2581"
_MODEL_TYPES = ("bpe", "unigram")


class HasVocabSize(Protocol):
    """Anything with an integer ``vocab_size``, such as ``gopherlite.ModelConfig``."""

    @property
    def vocab_size(self) -> int:
        """Rows of the model's embedding table."""
        ...


@dataclasses.dataclass(frozen=True)
class TokenizerStats:
    """How a tokenizer compresses one text.

    Attributes:
      bytes: UTF-8 bytes in the text.
      tokens: tokens the text encodes to.
      bytes_per_token: ``bytes / tokens`` (0.0 for empty text). Converts a mean per-token
        loss in nats to bits per byte, the tokenizer-independent measure Gopher reports:
        ``bpb = loss_per_token / ln(2) / bytes_per_token``.
      byte_fallback_tokens: tokens that are raw UTF-8 byte pieces (``<0x..>``).
      byte_fallback_fraction: ``byte_fallback_tokens / tokens`` (0.0 for empty text).
    """

    bytes: int
    tokens: int
    bytes_per_token: float
    byte_fallback_tokens: int
    byte_fallback_fraction: float


class Tokenizer:
    """A trained SentencePiece model with byte fallback and exact ``decode(encode(x)) == x``.

    Build one with :meth:`train`, :meth:`load` or :meth:`from_bytes`. Special ids are fixed:
    ``pad_id`` 0, ``unk_id`` 1, ``bos_id`` 2, ``eos_id`` 3. :meth:`encode` never adds them;
    :meth:`decode` turns them into empty strings.
    """

    def __init__(self, processor: spm.SentencePieceProcessor) -> None:
        """Wraps a loaded processor; use :meth:`train`, :meth:`load` or :meth:`from_bytes`."""
        self._processor = processor
        self._space_symbol_ids = [
            processor.piece_to_id(f"<0x{byte:02X}>") for byte in _SPACE_SYMBOL.encode("utf-8")
        ]

    @classmethod
    def train(
        cls,
        text_or_paths: str | os.PathLike[str] | Sequence[os.PathLike[str]],
        vocab_size: int = 32000,
        *,
        model_type: str = "bpe",
        character_coverage: float = 0.9995,
        seed: int = 0,
        num_threads: int = 2,
        max_sentence_length: int = 4192,
    ) -> Tokenizer:
        """Trains a tokenizer in memory (no files written) on text or UTF-8 text files.

        Settings (Gopher Sec. 3.1 for the vocabulary and byte fallback):

        * ``byte_fallback``: 256 ``<0x..>`` pieces are reserved and a character outside the
          vocabulary is encoded as its UTF-8 bytes, so no string needs ``<unk>``.
        * ``character_coverage`` below 1.0 leaves the rarest characters out of the vocabulary,
          so the byte pieces also occur in training and their embeddings get trained.
        * ``normalization_rule_name="identity"``, ``add_dummy_prefix=False``,
          ``remove_extra_whitespaces=False``: text is not changed before tokenising, so
          leading, trailing and repeated spaces survive (SentencePiece's default ``nmt_nfkc``
          rule collapses them and applies NFKC).
        * ``"\\n"`` and ``"\\t"`` are user-defined pieces. The trainer reads text one line at a
          time, so without them a newline could only be the byte piece ``<0x0A>`` and would
          count as byte fallback in :meth:`stats`; as pieces of their own they are ordinary,
          always-present tokens. (Both choices round-trip exactly; this one keeps the byte
          fallback statistic about genuinely rare characters.)
        * ``allow_whitespace_only_pieces=True``: runs of spaces, e.g. code indentation, can
          become single pieces.

        Args:
          text_or_paths: the training text as one ``str`` (a ``str`` is always text, never a
            path), or one ``os.PathLike`` (e.g. ``pathlib.Path``) or a sequence of them naming
            UTF-8 text files.
          vocab_size: pieces in the vocabulary, including the 4 special and 256 byte pieces.
          model_type: ``"bpe"`` (byte-pair merges) or ``"unigram"`` (a unigram language
            model). Gopher's choice is not stated in the paper.
          character_coverage: share of training characters covered by single-character
            pieces, between 0.98 and 1.0; rarer characters use byte fallback.
          seed: seed for SentencePiece's process-wide random generator, set before training
            so that any random choice it makes is repeatable.
          num_threads: training threads.
          max_sentence_length: longest training line in bytes; longer lines are cut into
            chunks of at most this many bytes rather than dropped.

        Returns:
          The trained tokenizer. The same input and settings give the same model bytes (the
          bytes record ``num_threads``; other thread counts give the same vocabulary).

        Raises:
          ValueError: no training text, a file that is not UTF-8, a bad ``model_type``,
            ``vocab_size`` too large or too small for the text, or another setting
            SentencePiece rejects.
          TypeError: a list of ``str`` (ambiguous between texts and paths).
          FileNotFoundError: a training file is missing.
          IsADirectoryError: a training path is a folder.
        """
        if model_type not in _MODEL_TYPES:
            raise ValueError(f"model_type must be one of {_MODEL_TYPES}, got {model_type!r}.")
        text = _training_text(text_or_paths)
        if not text.strip():
            raise ValueError("No training text: the input is empty or only whitespace.")
        spm.set_random_generator_seed(seed)
        model_buffer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=_training_lines(text, max_sentence_length),
                model_writer=model_buffer,
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=character_coverage,
                byte_fallback=True,
                normalization_rule_name="identity",
                add_dummy_prefix=False,
                remove_extra_whitespaces=False,
                allow_whitespace_only_pieces=True,
                user_defined_symbols=["\n", "\t"],
                pad_id=PAD_ID,
                unk_id=UNK_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                num_threads=num_threads,
                max_sentence_length=max_sentence_length,
                minloglevel=2,
            )
        except RuntimeError as error:
            raise ValueError(_explain_training_error(str(error), vocab_size)) from error
        return cls.from_bytes(model_buffer.getvalue())

    @classmethod
    def from_bytes(cls, model_bytes: bytes) -> Tokenizer:
        """Loads a tokenizer from a serialized SentencePiece model (see :meth:`to_bytes`).

        Args:
          model_bytes: the model proto, as returned by :meth:`to_bytes`.

        Returns:
          The tokenizer.

        Raises:
          ValueError: the bytes are not a SentencePiece model.
        """
        if not model_bytes:
            raise ValueError("Empty bytes are not a SentencePiece model.")
        processor = spm.SentencePieceProcessor()
        try:
            processor.LoadFromSerializedProto(model_bytes)
        except RuntimeError as error:
            raise ValueError(f"Not a valid SentencePiece model: {error}") from error
        return cls(processor)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Tokenizer:
        """Loads a tokenizer saved with :meth:`save` (or any SentencePiece ``.model`` file).

        Args:
          path: the ``.model`` file.

        Returns:
          The tokenizer.

        Raises:
          FileNotFoundError: no file at ``path``.
          ValueError: the file is not a SentencePiece model.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"Tokenizer model not found: {str(path)!r}. Check the path, or train one with "
                f"Tokenizer.train(...).save({str(path)!r})."
            )
        try:
            return cls.from_bytes(path.read_bytes())
        except ValueError as error:
            raise ValueError(
                f"{str(path)!r} is not a valid SentencePiece model (corrupt or another format); "
                f"retrain it with Tokenizer.train(...).save(path)."
            ) from error

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the model atomically: a reader sees the old file or the new one, never half.

        Creates missing parent folders.

        Args:
          path: the ``.model`` file to write.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes files private; saved models are not
        try:
            with os.fdopen(fd, "wb") as temp_file:
                temp_file.write(self.to_bytes())
                temp_file.flush()
                os.fsync(temp_file.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def to_bytes(self) -> bytes:
        """Returns the serialized SentencePiece model, e.g. to store inside a checkpoint."""
        return self._processor.serialized_model_proto()

    @property
    def vocab_size(self) -> int:
        """Number of pieces; token ids are ``0 .. vocab_size - 1``."""
        return self._processor.vocab_size()

    @property
    def pad_id(self) -> int:
        """Id of ``<pad>``, for padding batches."""
        return self._processor.pad_id()

    @property
    def unk_id(self) -> int:
        """Id of ``<unk>``; never produced for valid Unicode thanks to byte fallback."""
        return self._processor.unk_id()

    @property
    def bos_id(self) -> int:
        """Id of ``<s>``, beginning of sequence."""
        return self._processor.bos_id()

    @property
    def eos_id(self) -> int:
        """Id of ``</s>``, end of sequence; also usable as a document separator."""
        return self._processor.eos_id()

    def encode(self, text: str) -> list[int]:
        """Encodes text to token ids, without special tokens.

        Args:
          text: any Unicode string without lone surrogates (those have no UTF-8 form).

        Returns:
          Token ids; ``decode`` of them gives ``text`` back exactly.

        Raises:
          ValueError: ``text`` contains a lone surrogate.
        """
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Iterable[str]) -> list[list[int]]:
        """Encodes several texts in one SentencePiece call.

        Args:
          texts: Unicode strings.

        Returns:
          One list of token ids per text, as :meth:`encode` would give.

        Raises:
          ValueError: a text contains a lone surrogate, which has no UTF-8 form.
        """
        segments_per_text = [text.split(_SPACE_SYMBOL) for text in texts]
        flat_segments = [segment for segments in segments_per_text for segment in segments]
        try:
            flat_ids = iter(self._processor.encode(flat_segments))
        except TypeError as error:  # SentencePiece's message for a str it cannot make UTF-8
            raise ValueError(
                "Cannot encode text with a lone surrogate code point (U+D800..U+DFFF): it has no "
                "UTF-8 form. Such strings usually come from decoding bytes with "
                "errors='surrogateescape'; decode with errors='replace' instead."
            ) from error
        encoded = []
        for segments in segments_per_text:
            ids = list(next(flat_ids))
            for _ in segments[1:]:
                ids.extend(self._space_symbol_ids)
                ids.extend(next(flat_ids))
            encoded.append(ids)
        return encoded

    def decode(self, ids: Iterable[int]) -> str:
        """Decodes token ids to text; special ids (pad, bos, eos) decode to nothing.

        Args:
          ids: token ids, e.g. a list or a 1-D integer NumPy or JAX array.

        Returns:
          The text.

        Raises:
          ValueError: an id outside ``0 .. vocab_size - 1``.
        """
        ids = [int(i) for i in ids]
        if ids:
            self._check_id(min(ids))
            self._check_id(max(ids))
        return self._processor.decode(ids)

    def id_to_piece(self, i: int) -> str:
        """Returns the vocabulary piece of id ``i`` (spaces are shown as ``▁``).

        Raises:
          ValueError: ``i`` outside ``0 .. vocab_size - 1``.
        """
        self._check_id(int(i))
        return self._processor.id_to_piece(int(i))

    def pieces(self, text: str) -> list[str]:
        """Returns the pieces ``text`` encodes to, e.g. ``['▁the', '▁cat', '<0xF0>', ...]``."""
        return [self._processor.id_to_piece(i) for i in self.encode(text)]

    def is_byte(self, i: int) -> bool:
        """Whether id ``i`` is a byte-fallback piece ``<0x00>`` … ``<0xFF>``."""
        return self._processor.is_byte(int(i))

    def stats(self, text: str) -> TokenizerStats:
        """Measures compression and byte-fallback use on ``text``.

        Args:
          text: the text to measure, e.g. a held-out split.

        Returns:
          The counts and ratios.
        """
        ids = self.encode(text)
        num_bytes = len(text.encode("utf-8"))
        num_byte_tokens = sum(self.is_byte(i) for i in ids)
        return TokenizerStats(
            bytes=num_bytes,
            tokens=len(ids),
            bytes_per_token=num_bytes / len(ids) if ids else 0.0,
            byte_fallback_tokens=num_byte_tokens,
            byte_fallback_fraction=num_byte_tokens / len(ids) if ids else 0.0,
        )

    def check_compatible(self, model_config: HasVocabSize) -> None:
        """Raises if ``model_config.vocab_size`` differs from this tokenizer's vocabulary.

        Args:
          model_config: e.g. a ``gopherlite.ModelConfig``.

        Raises:
          ValueError: the sizes differ; the message says how to make them agree.
        """
        check_vocab_compatible(self.vocab_size, model_config.vocab_size)

    def __repr__(self) -> str:
        """Shows the vocabulary size, special ids and a short hash of the model bytes."""
        model_hash = hashlib.sha256(self.to_bytes()).hexdigest()[:12]
        return (
            f"Tokenizer(vocab_size={self.vocab_size}, pad_id={self.pad_id}, "
            f"unk_id={self.unk_id}, bos_id={self.bos_id}, eos_id={self.eos_id}, "
            f"sha256={model_hash!r})"
        )

    def _check_id(self, i: int) -> None:
        """Raises ValueError unless ``0 <= i < vocab_size``."""
        if not 0 <= i < self.vocab_size:
            raise ValueError(f"Token id {i} is outside the vocabulary (0..{self.vocab_size - 1}).")


def check_vocab_compatible(tokenizer_vocab_size: int, model_vocab_size: int) -> None:
    """Raises if a tokenizer and a model disagree on the vocabulary size.

    The model's embedding and output layers have ``model_vocab_size`` rows, so every token id
    must be below it; equal sizes keep ids and rows one to one.

    Args:
      tokenizer_vocab_size: the tokenizer's ``vocab_size``.
      model_vocab_size: the model config's ``vocab_size``.

    Raises:
      ValueError: the sizes differ; the message names both and both fixes.
    """
    if tokenizer_vocab_size != model_vocab_size:
        raise ValueError(
            f"Tokenizer vocab_size ({tokenizer_vocab_size}) differs from the model's vocab_size "
            f"({model_vocab_size}). Either train the tokenizer with "
            f"vocab_size={model_vocab_size}, or build the model config with "
            f"vocab_size={tokenizer_vocab_size}, e.g. "
            f"dataclasses.replace(config, vocab_size={tokenizer_vocab_size})."
        )


def _training_text(text_or_paths: str | os.PathLike[str] | Sequence[os.PathLike[str]]) -> str:
    """Returns the training text: the ``str`` itself, or the files' texts joined by newlines."""
    if isinstance(text_or_paths, str):
        return text_or_paths
    paths = [text_or_paths] if isinstance(text_or_paths, os.PathLike) else list(text_or_paths)
    for path in paths:
        if not isinstance(path, os.PathLike):
            raise TypeError(
                f"Expected os.PathLike items such as pathlib.Path, got {type(path).__name__}. "
                f"A list of str is ambiguous: wrap file names in pathlib.Path, or join texts "
                f"into one str."
            )
    return "\n".join(document.text for document in load_text_files(paths))


def _training_lines(text: str, max_sentence_length: int) -> Iterator[str]:
    """Yields the non-empty lines of ``text``, cutting any line over ``max_sentence_length`` bytes.

    SentencePiece skips training sentences longer than ``max_sentence_length`` bytes. A chunk of
    ``max_sentence_length // 4`` characters is always short enough (UTF-8 uses at most 4 bytes
    per character).
    """
    chunk_chars = max(1, max_sentence_length // 4)
    for line in text.split("\n"):
        if len(line.encode("utf-8")) <= max_sentence_length:
            if line:
                yield line
            continue
        for start in range(0, len(line), chunk_chars):
            yield line[start : start + chunk_chars]


def _explain_training_error(message: str, vocab_size: int) -> str:
    """Turns a SentencePiece training error into advice on what to change."""
    too_high = re.search(r"Vocabulary size too high .*?<= (\d+)", message)
    if too_high:
        return (
            f"vocab_size={vocab_size} is too large for this training text: it holds only enough "
            f"distinct pieces for vocab_size <= {too_high.group(1)}. Lower vocab_size, or train "
            f"on more text."
        )
    too_low = re.search(r"smaller than required_chars\. \d+ vs (\d+)", message)
    if too_low:
        return (
            f"vocab_size={vocab_size} is too small: the 4 special pieces, 256 byte pieces, the "
            f"newline and tab pieces and the text's common characters need at least "
            f"{too_low.group(1)}. Raise vocab_size, or lower character_coverage."
        )
    return f"SentencePiece could not train on this input: {message}"
