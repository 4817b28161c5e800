"""Where a model's parameters and FLOPs go, part by part (Gopher Table 1, Chinchilla App. F).

* :func:`param_breakdown`: the parameters of the real `GopherLM`, grouped by component. They
  are read from the model's own shapes (one block built under `nnx.eval_shape`, times the
  number of layers, plus what sits outside the blocks), so they sum to
  ``ModelConfig.num_params()`` and stay right if the model changes; one block is enough to make
  a slider over 280B's shape respond at once.
* :func:`flops_breakdown`: the matmul FLOPs per token, term by term; this is where
  ``ModelConfig.flops_per_token()`` gets its count.

This module imports JAX only when parameters are counted, so counting FLOPs stays light.
"""

from __future__ import annotations

import dataclasses
import functools
import math

from gopherlite.config import ModelConfig


@dataclasses.dataclass(frozen=True)
class Part:
    """One component's share of a total.

    Attributes:
      label: Human-readable name, e.g. ``"attention q, k, v, o"``.
      kind: What it belongs to, one of ``"embedding"``, ``"position"``, ``"attention"``,
        ``"scores"``, ``"feed_forward"``, ``"norm"``, ``"logits"`` (figures colour by it).
      value: Its parameters, FLOPs or bytes.
    """

    label: str
    kind: str
    value: float


# Parameter parts in display order: label, kind.
_PARAM_PARTS: tuple[tuple[str, str], ...] = (
    ("token embedding (tied with output)", "embedding"),
    ("position table (absolute)", "position"),
    ("attention q, k, v, o", "attention"),
    ("relative position keys W_kR", "position"),
    ("u, v biases", "position"),
    ("feed-forward", "feed_forward"),
    ("norm scales", "norm"),
)
_ATTENTION_PARTS = {
    "query": "attention q, k, v, o",
    "key": "attention q, k, v, o",
    "value": "attention q, k, v, o",
    "out": "attention q, k, v, o",
    "pos_key": "relative position keys W_kR",
    "u": "u, v biases",
    "v": "u, v biases",
}
_EMBEDDINGS = ("embed", "pos_embed")  # left out with include_embeddings=False, as num_params


def _param_part(path: tuple[object, ...]) -> str:
    """The part a parameter of `GopherLM` belongs to, from its path in the model's state."""
    if path[0] == "blocks":
        module, name = path[2], path[3] if len(path) > 3 else None
        if module == "attn" and name in _ATTENTION_PARTS:
            return _ATTENTION_PARTS[name]
        if module == "ffn":
            return "feed-forward"
        if module in ("attn_norm", "ffn_norm"):
            return "norm scales"
    elif path[0] == "embed":
        return "token embedding (tied with output)"
    elif path[0] == "pos_embed":
        return "position table (absolute)"
    elif path[0] == "final_norm":
        return "norm scales"
    raise LookupError(f"No parameter part for {path}: add the new parameter to gopherlite.counts.")


@functools.lru_cache(maxsize=64)
def _one_block_counts(config: ModelConfig) -> tuple[tuple[str, str, str, int], ...]:
    """``(part, "block" | "model", path root, count)`` for a one-block `GopherLM` of this shape."""
    from flax import nnx  # local: FLOP counts need no JAX

    from gopherlite.nn.transformer import GopherLM

    one = config.replace(n_layers=1, scan_layers=False)
    abstract = nnx.eval_shape(lambda: GopherLM(one, rngs=nnx.Rngs(0)))
    counts: dict[tuple[str, str, str], int] = {}
    for path, leaf in nnx.to_flat_state(nnx.state(abstract, nnx.Param)):
        where = "block" if path[0] == "blocks" else "model"
        key = (_param_part(path), where, str(path[0]))
        counts[key] = counts.get(key, 0) + math.prod(leaf.shape)
    return tuple((part, where, root, n) for (part, where, root), n in counts.items())


def param_breakdown(config: ModelConfig, *, include_embeddings: bool = True) -> list[Part]:
    """The parameters of each part of `GopherLM`, read from the model's shapes.

    With D = d_model, H·K = n_heads · d_head, F = d_ff, V = vocab_size and n = n_layers the
    parts come out as: the token embedding V·D (tied with the output, counted once); per layer
    the q, k, v, o projections 4·D·H·K, the relative position keys W_kR D·H·K and the u, v
    biases 2·H·K (relative attention only), the feed-forward 2·D·F; norm scales D for each of
    2·n + 1 norms (twice that for LayerNorm, which also has a bias); a learned D-wide table of
    max_seq_len rows for absolute positions. These formulas are not coded here: the counts
    come from one block of the real model (times n) and the embedding and final norm.

    Args:
      config: The model's shape.
      include_embeddings: If False, leave out the token embedding and an absolute position
        table, as ``ModelConfig.num_params(include_embeddings=False)`` does.

    Returns:
      Non-empty parts in a fixed order; their values sum to ``config.num_params(...)``.

    Raises:
      LookupError: the model has a parameter this module does not know (a programming error).
    """
    totals = dict.fromkeys((label for label, _ in _PARAM_PARTS), 0)
    for part, where, root, n in _one_block_counts(config):
        if include_embeddings or root not in _EMBEDDINGS:
            totals[part] += n * (config.n_layers if where == "block" else 1)
    return [Part(label, kind, totals[label]) for label, kind in _PARAM_PARTS if totals[label]]


def total_params(config: ModelConfig, *, include_embeddings: bool = True) -> int:
    """All parameters of `GopherLM`: the sum of :func:`param_breakdown`.

    Equals ``config.num_params()``, which builds every block; this builds one, so it answers
    at once even for 280B.

    Args:
      config: The model's shape.
      include_embeddings: As in :func:`param_breakdown`.

    Returns:
      The parameter count.
    """
    parts = param_breakdown(config, include_embeddings=include_embeddings)
    return int(sum(part.value for part in parts))


def flops_breakdown(
    config: ModelConfig, seq_len: int | None = None, *, training: bool = True
) -> list[Part]:
    """Matmul FLOPs per token of a ``seq_len`` window, term by term (Chinchilla App. F).

    Forward pass, per layer: the attention projections q, k, v, o, 2 · 4 · D · H·K; the
    relative position keys W_kR R (one projection per distance, amortised per token),
    2 · D · H·K; the score terms, content (q·k) and position (q·r), each 2 · L · H·K, plus the
    value reduction 2 · L · H·K (the full L, not halved by the causal mask, as Chinchilla
    counts); the feed-forward 2 · 2 · D · F. Once per token: the output logits 2 · D · V. The
    embedding lookup (a gather), norms, softmax and element-wise work are not counted.
    Absolute-position models have no W_kR and q·r terms. Training counts the backward pass as
    twice the forward, so 3× in total.

    Args:
      config: The model's shape.
      seq_len: Window length; ``None`` means ``config.max_seq_len``.
      training: Forward and backward (3×) if True, forward only if False.

    Returns:
      Non-empty parts; ``ModelConfig.flops_per_token`` is their sum.
    """
    L = config.max_seq_len if seq_len is None else seq_len
    D, HK, n = config.d_model, config.n_heads * config.d_head, config.n_layers
    relative = config.position == "relative"
    passes = 3 if training else 1
    parts = [
        Part("attention q, k, v, o", "attention", n * 2 * 4 * D * HK),
        Part("relative position keys W_kR", "position", n * 2 * D * HK if relative else 0),
        Part("attention scores and values", "scores", n * 2 * L * HK * (3 if relative else 2)),
        Part("feed-forward", "feed_forward", n * 2 * 2 * D * config.d_ff),
        Part("output logits", "logits", 2 * D * config.vocab_size),
    ]
    return [Part(p.label, p.kind, float(p.value * passes)) for p in parts if p.value]
