"""Decoding and tokenizer benchmarks: cached against uncached generation, SentencePiece speed."""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from flax import nnx

from gopherlite.bench.timing import median_seconds
from gopherlite.config import ModelConfig
from gopherlite.data.corpus import default_documents
from gopherlite.data.tokenizer import Tokenizer
from gopherlite.nn import GopherLM
from gopherlite.sample import generate, generate_uncached


def _paired_seconds(
    long: Callable[[], object], short: Callable[[], object], reps: int
) -> tuple[float, float, float]:
    """Median wall times of two calls timed in alternation, and the median of their differences.

    Alternating the calls and taking the median of the per-pair differences cancels most of
    the drift that other work on a shared machine adds to both (a slow prefill in one call
    would otherwise land in the per-token estimate).

    Returns:
      ``(long_s, short_s, difference_s)``.
    """
    long(), short()
    longs, shorts = [], []
    for _ in range(reps):
        for fn, times in ((long, longs), (short, shorts)):
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times.append(time.perf_counter() - start)
    differences = [a - b for a, b in zip(longs, shorts, strict=True)]
    return statistics.median(longs), statistics.median(shorts), statistics.median(differences)


def decoding_speed(
    config: ModelConfig,
    contexts: tuple[int, ...],
    new_tokens: int,
    reps: int,
    pair_reps: int | None = None,
) -> list[dict[str, Any]]:
    """Greedy decoding tokens/s with the KV cache and with full recomputation per token.

    The prompt is ``context - new_tokens`` tokens, so the last token sees ``context``
    positions. Relative attention has no position table, so contexts beyond the preset's
    ``max_seq_len`` are valid.

    Args:
      config: A relative-attention model shape (one prompt row).
      contexts: Total lengths, prompt plus continuation.
      new_tokens: Tokens generated per call.
      reps: Timed calls per method and context.
      pair_reps: Alternating pairs (full call, one-token call) behind the per-token time;
        None: ``reps``. The per-token time is a small difference of two calls dominated by
        the prefill, so it needs more pairs than the speeds do.

    Returns:
      One row per context: both speeds and their ratio, and the cached call split into the
      prefill (a call for one new token, same cache size, so no new compilation, timed in
      alternation with the full call) and the time per further token (the median difference
      of the two, over ``new_tokens − 1`` tokens).
    """
    model = GopherLM(config, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(0)
    rows = []
    for context in contexts:
        prompt = rng.integers(0, config.vocab_size, context - new_tokens).tolist()
        cached_s, prefill_s, steps_s = _paired_seconds(
            *(
                functools.partial(generate, model, prompt, n, temperature=0, max_len=context)
                for n in (new_tokens, 1)
            ),
            reps if pair_reps is None else pair_reps,
        )
        uncached_s = median_seconds(
            functools.partial(generate_uncached, model, prompt, new_tokens, temperature=0), reps
        )
        rows.append(
            {
                "context": context,
                "new_tokens": new_tokens,
                "cached_tokens_per_s": new_tokens / cached_s,
                "cached_prefill_s": prefill_s,
                "cached_step_ms": 1e3 * max(steps_s, 1e-9) / max(new_tokens - 1, 1),
                "uncached_tokens_per_s": new_tokens / uncached_s,
                "speedup": uncached_s / cached_s,
            }
        )
    return rows


def tokenizer_speed(vocab_size: int, max_chars: int | None) -> dict[str, Any]:
    """SentencePiece training time and encoding throughput on the embedded training corpus.

    Encoding goes one document at a time, as `gopherlite.data.batches` does.

    Args:
      vocab_size: Pieces to train.
      max_chars: Train and encode only the first documents up to this many characters
        (None: the whole training split).

    Returns:
      Corpus megabytes, training seconds, encoding MB/s and tokens per byte.
    """
    texts = []
    chars = 0
    for document in default_documents("train"):
        if max_chars is not None and chars >= max_chars:
            break
        texts.append(document.text)
        chars += len(document.text)
    num_bytes = sum(len(text.encode("utf-8")) for text in texts)
    start = time.perf_counter()
    tokenizer = Tokenizer.train("\n\n".join(texts), vocab_size=vocab_size)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    tokens = sum(len(tokenizer.encode(text)) for text in texts)
    encode_s = time.perf_counter() - start
    return {
        "vocab_size": vocab_size,
        "corpus_mb": num_bytes / 1e6,
        "train_s": train_s,
        "encode_mb_per_s": num_bytes / 1e6 / encode_s,
        "tokens_per_byte": tokens / num_bytes,
    }
