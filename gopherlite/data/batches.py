"""Packing documents into fixed windows, and a deterministic, resumable, shardable batch order.

Gopher trains on fixed 2,048-token windows (Rae et al. 2021, Sec. 3.2). Here every document is
followed by a separator (the tokenizer's end-of-sequence id) and the results are concatenated
into one token stream ``s``. Window ``k`` of length ``W`` reads ``s[kW:(k+1)W]`` and predicts
``s[kW+1:(k+1)W+1]``: every token of the stream after the first is a target exactly once, and
a window may start in the middle of a document and run into the next one. The last, partial
window is padded with weight 0.

`BatchIterator` draws batches of windows epoch after epoch in an order fixed by ``(seed,
epoch)``, so a run can save its `position` with a checkpoint and `restore` it later to get
exactly the batches it would have seen. With several hosts, each takes only its own contiguous
rows of every global batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple, Protocol

import numpy as np

from gopherlite.data.corpus import Document


class Batch(NamedTuple):
    """One batch of next-token-prediction examples (NumPy arrays).

    Attributes:
      inputs_BxL: int32 token ids fed to the model.
      targets_BxL: int32 ids the model should predict at each position.
      weights_BxL: float32, 1.0 for a real target and 0.0 for padding.
    """

    inputs_BxL: np.ndarray
    targets_BxL: np.ndarray
    weights_BxL: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class PackedWindows:
    """A token stream cut into N windows of length L; ``len()`` is N.

    Attributes:
      inputs_NxL: int32 token ids of each window.
      targets_NxL: int32 next-token ids (the inputs shifted by one along the stream).
      weights_NxL: float32, 1.0 for a real target and 0.0 for the padding of the last window.
      num_bytes: UTF-8 bytes of the packed documents, the denominator of bits per byte
        (0 when unknown, e.g. for synthetic token ids).
    """

    inputs_NxL: np.ndarray
    targets_NxL: np.ndarray
    weights_NxL: np.ndarray
    num_bytes: int = 0

    def __post_init__(self) -> None:
        shapes = {a.shape for a in (self.inputs_NxL, self.targets_NxL, self.weights_NxL)}
        if len(shapes) != 1 or self.inputs_NxL.ndim != 2:
            raise ValueError(
                "inputs_NxL, targets_NxL and weights_NxL must be 2-D arrays of one shape, got "
                f"{[a.shape for a in (self.inputs_NxL, self.targets_NxL, self.weights_NxL)]}."
            )

    def __len__(self) -> int:
        """Number of windows N."""
        return self.inputs_NxL.shape[0]

    @property
    def window(self) -> int:
        """Window length L in tokens."""
        return self.inputs_NxL.shape[1]

    @property
    def num_tokens(self) -> int:
        """Number of real (weight 1) targets: the stream's length minus one."""
        return int(self.weights_NxL.sum())

    def take(self, rows_B: np.ndarray) -> Batch:
        """Gather some windows into a batch.

        Args:
          rows_B: Integer indices of the windows, in batch order.

        Returns:
          The batch of those windows.
        """
        return Batch(self.inputs_NxL[rows_B], self.targets_NxL[rows_B], self.weights_NxL[rows_B])


class TextEncoder(Protocol):
    """What `pack_documents` needs from a tokenizer, e.g. `gopherlite.Tokenizer`."""

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without special tokens."""
        ...

    @property
    def eos_id(self) -> int:
        """End-of-sequence id, used as the document separator."""
        ...

    @property
    def pad_id(self) -> int:
        """Id used to pad the last window."""
        ...


def _text(document: Document | str) -> str:
    return document if isinstance(document, str) else document.text


def tokenize_documents(
    tokenizer: TextEncoder, documents: Sequence[Document | str]
) -> list[list[int]]:
    """Encode each document separately (no special tokens added).

    Args:
      tokenizer: Anything with ``encode(str) -> list[int]``, e.g. `gopherlite.Tokenizer`.
      documents: `gopherlite.data.corpus.Document` objects or plain strings.

    Returns:
      One list of token ids per document, in order.
    """
    return [list(tokenizer.encode(_text(document))) for document in documents]


def pack(
    token_docs: Sequence[Sequence[int]],
    window: int,
    separator_id: int,
    pad_id: int,
    num_bytes: int = 0,
) -> PackedWindows:
    """Concatenate documents, each followed by a separator, and cut the stream into windows.

    With the stream ``s`` of length T + 1, window k has inputs ``s[kW:(k+1)W]`` and targets
    ``s[kW+1:(k+1)W+1]``, so each of the T tokens after the first is a target exactly once.
    The last window is completed with ``pad_id`` at weight 0.

    Args:
      token_docs: Token ids of each document, e.g. from `tokenize_documents`.
      window: Window length W in tokens (Gopher: 2,048, G Sec. 3.2).
      separator_id: Id appended after every document (the tokenizer's ``eos_id``).
      pad_id: Id that fills the end of the last window.
      num_bytes: UTF-8 bytes of the documents' text, kept for bits per byte.

    Returns:
      ``ceil(T / W)`` windows.

    Raises:
      ValueError: ``window`` is not positive, or the stream has fewer than two tokens (so there
        is nothing to predict).
    """
    separator_1 = np.asarray([separator_id], np.int32)
    pieces = [part for doc in token_docs for part in (np.asarray(doc, np.int32), separator_1)]
    stream_S = np.concatenate(pieces) if pieces else np.zeros((0,), np.int32)
    return _cut(stream_S, window, pad_id, num_bytes)


def repack(windows: PackedWindows, window: int, pad_id: int = 0) -> PackedWindows:
    """Cut the stream of some `pack`-ed windows again, at another window length.

    The stream is rebuilt from the first input and every real target, so the new windows hold
    exactly the same targets (and bytes) with a different amount of context each.

    Args:
      windows: Windows made by `pack` (padding only at the end).
      window: The new window length in tokens.
      pad_id: Id that fills the end of the new last window.

    Returns:
      The same stream in windows of length ``window``.
    """
    stream_S = np.concatenate(
        [windows.inputs_NxL[0, :1], windows.targets_NxL[windows.weights_NxL > 0]]
    )
    return _cut(stream_S, window, pad_id, windows.num_bytes)


def _cut(stream_S: np.ndarray, window: int, pad_id: int, num_bytes: int) -> PackedWindows:
    """Cut a token stream into next-token windows; the last one is padded at weight 0."""
    if window <= 0:
        raise ValueError(f"window must be a positive number of tokens, got {window}.")
    if stream_S.size < 2:
        raise ValueError(
            f"Nothing to pack: the token stream (documents plus separators) has {stream_S.size} "
            "token(s); at least two are needed for one target."
        )
    T = stream_S.size - 1
    N = -(-T // window)  # ceil(T / W)
    padding = N * window - T
    inputs_NxL = np.pad(stream_S[:-1], (0, padding), constant_values=pad_id).reshape(N, window)
    targets_NxL = np.pad(stream_S[1:], (0, padding), constant_values=pad_id).reshape(N, window)
    weights_NxL = (np.arange(N * window) < T).astype(np.float32).reshape(N, window)
    return PackedWindows(inputs_NxL, targets_NxL, weights_NxL, num_bytes=num_bytes)


def pack_documents(
    tokenizer: TextEncoder, documents: Sequence[Document | str], window: int
) -> PackedWindows:
    """Tokenize and `pack` documents, separated by ``eos_id``, counting their UTF-8 bytes.

    Args:
      tokenizer: Anything with ``encode``, ``eos_id`` and ``pad_id``, e.g. `gopherlite.Tokenizer`.
      documents: `gopherlite.data.corpus.Document` objects or plain strings.
      window: Window length in tokens.

    Returns:
      The windows, with ``num_bytes`` set for bits per byte.
    """
    num_bytes = sum(len(_text(document).encode("utf-8")) for document in documents)
    token_docs = tokenize_documents(tokenizer, documents)
    return pack(token_docs, window, tokenizer.eos_id, tokenizer.pad_id, num_bytes=num_bytes)


class BatchIterator:
    """Endless batches of windows in a seeded order that can be saved and resumed.

    Epoch e visits the windows in the order ``np.random.default_rng([seed, e]).permutation(N)``
    (or 0..N-1 when ``shuffle=False``), ``N // batch_size`` full batches per epoch; the few
    windows left over are skipped that epoch (a different few each epoch when shuffling). With
    ``num_shards`` hosts, shard i yields rows ``[i·B/n, (i+1)·B/n)`` of every global batch, so
    the shards together see exactly the single-host batch.

    Example:
      >>> it = BatchIterator(windows, batch_size=16, seed=0)
      >>> batch = next(it)
      >>> saved = it.position()  # {"epoch": 0, "batch": 1, "seed": 0}
    """

    def __init__(
        self,
        windows: PackedWindows,
        batch_size: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        num_shards: int = 1,
        shard_index: int = 0,
    ) -> None:
        """Check the sizes and start at epoch 0, batch 0.

        Args:
          windows: The packed training windows.
          batch_size: Global batch size B (windows per step, over all shards).
          seed: Non-negative seed of the order.
          shuffle: If False, visit windows in stream order every epoch.
          num_shards: Number of hosts sharing each global batch; must divide ``batch_size``.
          shard_index: This host's shard, in ``[0, num_shards)``.

        Raises:
          ValueError: a size or index is out of range, with how to fix it.
        """
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}.")
        if len(windows) < batch_size:
            raise ValueError(
                f"Only {len(windows)} windows of {windows.window} tokens for batch_size="
                f"{batch_size}; lower the batch size or the window, or use more text."
            )
        if num_shards <= 0 or not 0 <= shard_index < num_shards:
            raise ValueError(
                f"Need num_shards >= 1 and 0 <= shard_index < num_shards, got "
                f"num_shards={num_shards}, shard_index={shard_index}."
            )
        if batch_size % num_shards:
            raise ValueError(
                f"batch_size={batch_size} does not split evenly over num_shards={num_shards}; "
                "use a batch size that is a multiple of the number of shards."
            )
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}.")
        self.windows = windows
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.num_shards = num_shards
        self.shard_index = shard_index
        self._seed = seed
        self._epoch = 0
        self._batch = 0
        self._order_cache: tuple[tuple[int, int], np.ndarray] | None = None

    @property
    def steps_per_epoch(self) -> int:
        """Full global batches per epoch: ``len(windows) // batch_size``."""
        return len(self.windows) // self.batch_size

    @property
    def local_batch_size(self) -> int:
        """Rows this shard yields per batch: ``batch_size // num_shards``."""
        return self.batch_size // self.num_shards

    def position(self) -> dict[str, int]:
        """Where the next batch comes from, as a JSON-serialisable dict.

        Returns:
          ``{"epoch": e, "batch": b, "seed": s}``: the next batch is batch b of epoch e.
        """
        return {"epoch": self._epoch, "batch": self._batch, "seed": self._seed}

    def restore(self, position: Mapping[str, int]) -> None:
        """Continue from a saved `position` (its seed replaces this iterator's seed).

        Args:
          position: A dict returned by `position`, e.g. read back from a checkpoint.

        Raises:
          ValueError: keys are missing, or the batch index does not fit this iterator's
            epoch (e.g. the windows or batch size changed since it was saved).
        """
        missing = {"epoch", "batch", "seed"} - set(position)
        if missing:
            raise ValueError(f"Position {dict(position)} lacks {sorted(missing)}.")
        epoch, batch, seed = (int(position[k]) for k in ("epoch", "batch", "seed"))
        if epoch < 0 or seed < 0 or not 0 <= batch < self.steps_per_epoch:
            raise ValueError(
                f"Position {dict(position)} does not fit this iterator ({self.steps_per_epoch} "
                "batches per epoch); were the windows or the batch size changed?"
            )
        self._epoch, self._batch, self._seed = epoch, batch, seed

    def __iter__(self) -> BatchIterator:
        return self

    def __next__(self) -> Batch:
        """This shard's rows of the next global batch; advances the position."""
        start = self._batch * self.batch_size + self.shard_index * self.local_batch_size
        rows_B = self._epoch_order()[start : start + self.local_batch_size]
        self._batch += 1
        if self._batch == self.steps_per_epoch:
            self._epoch, self._batch = self._epoch + 1, 0
        return self.windows.take(rows_B)

    def _epoch_order(self) -> np.ndarray:
        """The current epoch's window order (computed once per epoch)."""
        key = (self._seed, self._epoch)
        if self._order_cache is None or self._order_cache[0] != key:
            n = len(self.windows)
            order_N = (
                np.random.default_rng([self._seed, self._epoch]).permutation(n)
                if self.shuffle
                else np.arange(n)
            )
            self._order_cache = (key, order_N)
        return self._order_cache[1]


def iterate_in_order(windows: PackedWindows, batch_size: int) -> Iterator[Batch]:
    """One pass over every window in order, for evaluation.

    The last batch is completed with all-zero rows of weight 0, so every batch has the shape
    ``[batch_size, L]`` and a jitted evaluation step compiles once.

    Args:
      windows: The packed windows.
      batch_size: Windows per batch.

    Returns:
      An iterator over ``ceil(N / batch_size)`` batches.

    Raises:
      ValueError: ``batch_size`` is not positive.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    n = len(windows)
    return (
        _pad_rows(windows.take(np.arange(start, min(start + batch_size, n))), batch_size)
        for start in range(0, n, batch_size)
    )


def _pad_rows(batch: Batch, batch_size: int) -> Batch:
    """Append all-zero rows (weight 0) until the batch has ``batch_size`` rows."""
    missing = batch_size - batch.inputs_BxL.shape[0]
    return Batch(*(np.pad(a_BxL, ((0, missing), (0, 0))) for a_BxL in batch))
