"""Loss, perplexity and bits per byte of a model on held-out text, at any window length.

Gopher reports language modelling as bits per byte (Rae et al. 2021, Sec. 4.2 and Table 2),
The Pile's tokenizer-independent measure: the total loss in bits over the text divided by its
UTF-8 bytes, so models with different vocabularies can be compared. The tokenizer's unigram
baseline says how many bits per byte a model that learned only token frequencies would score.
Because Gopher's relative attention has no position table, the same held-out text can also be
scored with windows longer than the training context (G Sec. 3.1, App. D.6).
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from gopherlite.data.batches import (
    PackedWindows,
    TextEncoder,
    iterate_in_order,
    pack_documents,
    repack,
)
from gopherlite.data.corpus import Document
from gopherlite.nn.transformer import GopherLM


def token_nll(logits_BxLxV: jax.Array, targets_BxL: jax.Array, label_smoothing: float) -> jax.Array:
    """Per-token negative log-likelihood in float32, optionally against smoothed labels.

    The one definition of the loss: `cross_entropy` (evaluation) calls it, and the training
    step's fused loss (`gopherlite.train.loss.nll_and_logit_grad`, which writes out its
    gradient) is tested equal to it and to its gradient. Float64 logits stay float64.

    Args:
      logits_BxLxV: Logits, any float dtype (cast to float32 first, G App. C).
      targets_BxL: Integer ids to predict.
      label_smoothing: Mass ε spread uniformly over the vocabulary (a Python float).

    Returns:
      ``[B, L]`` losses in nats.
    """
    dtype = jnp.promote_types(logits_BxLxV.dtype, jnp.float32)
    logits_BxLxV = logits_BxLxV.astype(dtype)
    if label_smoothing == 0.0:
        return optax.softmax_cross_entropy_with_integer_labels(logits_BxLxV, targets_BxL)
    onehot_BxLxV = jax.nn.one_hot(targets_BxL, logits_BxLxV.shape[-1], dtype=dtype)
    labels_BxLxV = optax.smooth_labels(onehot_BxLxV, label_smoothing)
    return optax.softmax_cross_entropy(logits_BxLxV, labels_BxLxV)


def cross_entropy(
    logits_BxLxV: jax.Array,
    targets_BxL: jax.Array,
    weights_BxL: jax.Array,
    label_smoothing: float = 0.0,
) -> tuple[jax.Array, jax.Array]:
    """Weighted sum of next-token cross-entropy, always in float32 (G App. C).

    Gopher computes the softmax cross-entropy in float32 in every precision setting, so the
    logits are cast to float32 first. The sum (not the mean) is returned with the total
    weight, so sums over batches and devices can be added before one division.

    Args:
      logits_BxLxV: Model outputs, any float dtype.
      targets_BxL: Integer ids to predict.
      weights_BxL: 1.0 for real targets, 0.0 for padding.
      label_smoothing: Mass ε (a Python float) spread uniformly over the vocabulary: the target
        distribution is ``(1 - ε) · onehot + ε / V``. 0.0 gives the plain negative
        log-likelihood.

    Returns:
      ``(sum of weight · loss, sum of weights)``, two float32 scalars.

    Raises:
      ValueError: ``label_smoothing`` is outside ``[0, 1)``.
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}.")
    weights_BxL = weights_BxL.astype(jnp.float32)
    nll_BxL = token_nll(logits_BxLxV, targets_BxL, label_smoothing)
    return jnp.sum(nll_BxL * weights_BxL), jnp.sum(weights_BxL)


def bits_per_byte(mean_nats_per_token: float, num_tokens: int, num_bytes: int) -> float:
    """Convert a mean loss per token to bits per byte (The Pile's measure, used by Gopher).

    ``bpb = (num_tokens / num_bytes) · nats / ln 2``: the total loss over the text in bits,
    divided by the text's UTF-8 bytes. A tokenizer with longer pieces has fewer tokens and a
    higher loss per token; per byte, the two are comparable. Here the tokens include the
    document separators the model must predict, and the bytes are those of the documents'
    text alone.

    Args:
      mean_nats_per_token: Mean negative log-likelihood per target, in nats.
      num_tokens: Number of targets the mean is over.
      num_bytes: UTF-8 bytes of the text those targets encode.

    Returns:
      Bits per byte.

    Raises:
      ValueError: ``num_bytes`` is not positive.
    """
    if num_bytes <= 0:
        raise ValueError(f"bits per byte needs a positive byte count, got num_bytes={num_bytes}.")
    return num_tokens / num_bytes * mean_nats_per_token / math.log(2)


def token_counts(windows: PackedWindows, vocab_size: int) -> np.ndarray:
    """Count each id among the real (weight > 0) targets: the stream after its first token.

    Args:
      windows: Packed windows, e.g. the training set.
      vocab_size: Length of the result; every id must be below it.

    Returns:
      int64 counts ``[vocab_size]``.

    Raises:
      ValueError: an id is outside ``[0, vocab_size)``.
    """
    ids = windows.targets_NxL[windows.weights_NxL > 0]
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"Token ids must lie in [0, {vocab_size}); got {ids.min()}..{ids.max()}.")
    return np.bincount(ids, minlength=vocab_size)


def unigram_bits_per_byte(
    train: PackedWindows | np.ndarray, windows: PackedWindows, vocab_size: int
) -> float:
    """The tokenizer's unigram baseline: bits per byte of a model that knows only frequencies.

    Token probabilities are estimated on the training stream with add-one smoothing,
    ``p(t) = (count(t) + 1) / (total + vocab_size)``, and scored on the evaluation targets
    (those with weight > 0, i.e. not padding), then converted with `bits_per_byte`. A language
    model that learned nothing beyond unigram statistics scores about this.

    Args:
      train: The training windows, or their `token_counts` ``[vocab_size]``.
      windows: The evaluation windows; ``num_bytes`` must be set.
      vocab_size: Vocabulary size V.

    Returns:
      Bits per byte of the unigram model on ``windows``.

    Raises:
      ValueError: counts of the wrong shape, an id outside the vocabulary, or no byte count.
    """
    counts_V = train if isinstance(train, np.ndarray) else token_counts(train, vocab_size)
    if counts_V.shape != (vocab_size,):
        raise ValueError(f"Expected counts of shape ({vocab_size},), got {counts_V.shape}.")
    log_p_V = np.log(counts_V + 1.0) - np.log(counts_V.sum() + vocab_size)
    eval_counts_V = token_counts(windows, vocab_size)
    num_tokens = int(eval_counts_V.sum())
    mean_nats = -float(eval_counts_V @ log_p_V) / num_tokens
    return bits_per_byte(mean_nats, num_tokens, windows.num_bytes)


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """A model's scores on one set of windows.

    Attributes:
      loss: Mean negative log-likelihood per target token, in nats.
      perplexity: ``exp(loss)``.
      bits_per_byte: See `bits_per_byte`; None when the windows carry no byte count.
      tokens: Number of targets scored.
      bytes: UTF-8 bytes of the scored text (0 when unknown).
      seq_len: Window length the text was scored in.
      unigram_bits_per_byte: The tokenizer's unigram baseline on the same text, if given.
    """

    loss: float
    perplexity: float
    bits_per_byte: float | None
    tokens: int
    bytes: int
    seq_len: int
    unigram_bits_per_byte: float | None = None

    def to_dict(self) -> dict[str, float | int | None]:
        """The fields as a JSON-serialisable dict."""
        return dataclasses.asdict(self)


@nnx.jit
def _batch_sums(
    model: GopherLM, inputs_BxL: jax.Array, targets_BxL: jax.Array, weights_BxL: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Summed loss and weight of one batch (compiled once per window shape)."""
    return cross_entropy(model(inputs_BxL), targets_BxL, weights_BxL)


def evaluate(
    model: GopherLM,
    windows: PackedWindows,
    *,
    batch_size: int = 8,
    unigram_bpb: float | None = None,
) -> EvalResult:
    """Score every window once and report loss, perplexity and bits per byte.

    Args:
      model: The language model.
      windows: Held-out windows, e.g. from `gopherlite.data.batches.pack_documents`.
      batch_size: Windows per forward pass; the last batch is padded, so there is one
        compilation per window length.
      unigram_bpb: The unigram baseline to report alongside (see `unigram_bits_per_byte`).

    Returns:
      The scores. ``tokens`` is the total target weight, ``bytes`` is ``windows.num_bytes``.

    Raises:
      ValueError: the windows are longer than an absolute-position model's ``max_seq_len``.
    """
    sums = [_batch_sums(model, *batch) for batch in iterate_in_order(windows, batch_size)]
    loss_sum, weight_sum = np.asarray(jax.device_get(sums), np.float64).sum(axis=0)
    loss = float(loss_sum / weight_sum)
    tokens = round(weight_sum)
    return EvalResult(
        loss=loss,
        perplexity=math.exp(loss),
        bits_per_byte=bits_per_byte(loss, tokens, windows.num_bytes) if windows.num_bytes else None,
        tokens=tokens,
        bytes=windows.num_bytes,
        seq_len=windows.window,
        unigram_bits_per_byte=unigram_bpb,
    )


def evaluate_lengths(
    model: GopherLM,
    windows: PackedWindows,
    lengths: Sequence[int],
    *,
    batch_size: int = 8,
    unigram_bpb: float | None = None,
) -> dict[int, EvalResult]:
    """Score the same text cut into windows of several lengths (G Sec. 3.1, App. D.6).

    Relative attention has no table of positions, so a model trained on windows of L tokens
    can read 2L or 4L; every length scores exactly the same targets (`repack`), only the
    context each target sees changes. An absolute-position model raises for lengths beyond
    its ``max_seq_len``.

    Args:
      model: The language model.
      windows: Held-out windows made by `gopherlite.data.batches.pack` (any length).
      lengths: Window lengths to try, e.g. ``[L, 2 * L, 4 * L]``.
      batch_size: Windows per forward pass.
      unigram_bpb: The unigram baseline to report with every length.

    Returns:
      The result for each length.

    Raises:
      ValueError: a length exceeds an absolute-position model's ``max_seq_len``.
    """
    return {
        length: evaluate(
            model, repack(windows, length), batch_size=batch_size, unigram_bpb=unigram_bpb
        )
        for length in lengths
    }


@nnx.jit
def _position_sums(
    model: GopherLM, inputs_BxL: jax.Array, targets_BxL: jax.Array, weights_BxL: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Loss and weight of one batch summed over the batch only, one value per position."""
    nll_BxL = token_nll(model(inputs_BxL), targets_BxL, label_smoothing=0.0)
    return jnp.sum(nll_BxL * weights_BxL, axis=0), jnp.sum(weights_BxL, axis=0)


def loss_per_position(model: GopherLM, windows: PackedWindows, batch_size: int = 8) -> np.ndarray:
    """Mean loss at each position of the window, over all windows.

    Early positions see little context and score worse; the curve shows how much the model
    uses what came before.

    Args:
      model: The language model.
      windows: The windows to score.
      batch_size: Windows per forward pass.

    Returns:
      float64 mean nats per token ``[L]``; NaN at a position that holds no real target.
    """
    sums = [_position_sums(model, *batch) for batch in iterate_in_order(windows, batch_size)]
    loss_L, weight_L = np.asarray(jax.device_get(sums), np.float64).sum(axis=0)
    return np.divide(loss_L, weight_L, out=np.full_like(loss_L, np.nan), where=weight_L > 0)


def source_of(name: str) -> str:
    """The source group of a document name, for scoring by subset like Gopher's Pile table.

    Embedded-corpus names carry their source before a colon (``"topic:assert"`` → ``"topic"``,
    ``"module:json.decoder"`` → ``"module"``); a user's file is grouped by the folder it sits
    in (``"pile/arxiv/0001.txt"`` → ``"arxiv"``), so a corpus laid out one folder per subset
    is scored per subset.

    Args:
      name: A `gopherlite.data.corpus.Document` name.

    Returns:
      The group's name (``"."`` for a bare file name with no folder and no colon).
    """
    head, sep, _ = name.partition(":")
    if sep and "/" not in head and "\\" not in head:
        return head
    return pathlib.PurePath(name).parent.name or "."


def evaluate_by_source(
    model: GopherLM,
    tokenizer: TextEncoder,
    documents: Sequence[Document],
    window: int,
    *,
    batch_size: int = 8,
    train_windows: PackedWindows | None = None,
    source: Callable[[str], str] = source_of,
) -> dict[str, EvalResult]:
    """Bits per byte of each source group separately (G Sec. 4.2, the per-subset Pile table).

    Gopher reports language modelling on each of The Pile's subsets (arXiv, GitHub, books, ...)
    on its own line, because a model can be strong on prose and weak on code. Each group's
    documents are packed into their own windows, so no window mixes two sources, and scored
    with `evaluate`.

    Args:
      model: The language model.
      tokenizer: Anything with ``encode``, ``eos_id`` and ``pad_id``.
      documents: Held-out documents; their names decide the group (``source``).
      window: Window length in tokens.
      batch_size: Windows per forward pass.
      train_windows: The training windows; when given, each group also gets the tokenizer's
        unigram baseline (token frequencies from the training text) on its own text.
      source: Maps a document name to its group (default `source_of`).

    Returns:
      One result per group, in sorted group order.
    """
    groups: dict[str, list[Document]] = {}
    for document in documents:
        groups.setdefault(source(document.name), []).append(document)
    vocab_size = model.config.vocab_size
    train_counts = None if train_windows is None else token_counts(train_windows, vocab_size)
    results = {}
    for name in sorted(groups):
        windows = pack_documents(tokenizer, groups[name], window)
        baseline = (
            None
            if train_counts is None
            else unigram_bits_per_byte(train_counts, windows, vocab_size)
        )
        results[name] = evaluate(model, windows, batch_size=batch_size, unigram_bpb=baseline)
    return results
