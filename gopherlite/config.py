"""Model configuration and the Gopher family of presets (Gopher, Rae et al. 2021, Table 1).

`ModelConfig` uses the paper's symbols: ``n_layers``, ``n_heads``, ``d_head`` (Table 1's
"key/value size"), ``d_model`` and ``d_ff`` (always 4 · d_model in Gopher). Every Gopher preset
uses Transformer-XL relative attention and RMSNorm (G Sec. 3.1); the GPT-2 style alternatives
(learned absolute positions, LayerNorm) exist for comparison in notebooks and benchmarks.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Position = Literal["relative", "absolute"]
Norm = Literal["rms", "layer"]

_DTYPES = ("float32", "bfloat16", "float16")
_LEGACY_TRAINING_FIELDS = ("max_learning_rate", "batch_size_tokens")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Shape and numerics of a Gopher-family decoder-only Transformer.

    Attributes:
      n_layers: Number of Transformer blocks (Table 1 "n_layers").
      n_heads: Attention heads per block (Table 1 "n_heads").
      d_head: Size of each head's keys and values (Table 1 "key/value size").
      d_model: Width of the residual stream (Table 1 "d_model").
      d_ff: Hidden width of the feed-forward block; ``None`` means 4 · d_model (Table 1 caption).
      vocab_size: SentencePiece vocabulary size; Gopher uses 32,000 (G Sec. 3.1).
      max_seq_len: Training context length; Gopher trains on 2,048-token windows (G Sec. 3.2).
        Relative attention can be evaluated on longer sequences; absolute positions cannot.
      position: ``"relative"`` (Transformer-XL, Gopher) or ``"absolute"`` (GPT-2 learned table).
      norm: ``"rms"`` (RMSNorm, Gopher) or ``"layer"`` (LayerNorm, GPT-2).
      clamp_len: If set, relative distances larger than this are clamped to it before the
        sinusoids are computed (Transformer-XL ``clamp_len``). ``None`` disables clamping.
      norm_eps: Epsilon inside the square root of the norm. Gopher's value is unpublished;
        1e-5 follows the RMSNorm paper's TensorFlow snippet (UNVERIFIED for Gopher).
      init_std: Standard deviation of the normal initialiser (GPT-2's 0.02; UNVERIFIED for
        Gopher). Residual output projections are further scaled by 1/sqrt(2 · n_layers).
      dtype: Activation (compute) dtype name. Softmax and the loss always run in float32.
      param_dtype: Parameter storage dtype name.
      remat: Rematerialise each block in the backward pass (Gopher Sec. 3.3): keep only block
        inputs for the backward pass and recompute the rest, trading compute for memory.
      scan_layers: Store the blocks' parameters stacked on a leading ``layers`` axis and run
        them with one ``lax.scan`` (one traced block, so compile time does not grow with
        depth), instead of one Python-unrolled block per layer. The two store parameters
        differently, so a checkpoint restores only into a model with the same setting.
      blockwise_from: Full passes (training, evaluation) over at least this many positions
        compute attention tile by tile with an online softmax (`gopherlite.nn.blockwise`), so
        no ``[L, L]`` score array exists; None keeps the dense layer at every length. The
        result is the same either way (float64 tests); only memory and speed differ. The
        default, 1,024, is where the tiny train step measured clearly faster tiled (0.66× and
        0.83× the dense step time at 1,024 tokens in two runs, 0.96× and 0.90× at 512;
        ``python -m gopherlite bench``).
      attention_block: Tile size of blockwise attention; the length must be a multiple of it
        (shorter or indivisible lengths fall back to the dense layer).

    How to train a model (Table 1's learning rate and batch included) is not part of its shape:
    see `TRAINING_DEFAULTS` and `gopherlite.train.TrainConfig`.
    """

    n_layers: int
    n_heads: int
    d_head: int
    d_model: int
    d_ff: int | None = None
    vocab_size: int = 32_000
    max_seq_len: int = 2048
    position: Position = "relative"
    norm: Norm = "rms"
    clamp_len: int | None = None
    norm_eps: float = 1e-5
    init_std: float = 0.02
    dtype: str = "float32"
    param_dtype: str = "float32"
    remat: bool = False
    scan_layers: bool = False
    blockwise_from: int | None = 1024
    attention_block: int = 128

    def __post_init__(self) -> None:
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", 4 * self.d_model)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the bad field and how to fix it."""
        for name in ("n_layers", "n_heads", "d_head", "d_model", "d_ff", "vocab_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"ModelConfig.{name} must be a positive integer, got {value!r}.")
        if not isinstance(self.max_seq_len, int) or self.max_seq_len <= 0:
            raise ValueError(
                f"ModelConfig.max_seq_len must be a positive integer, got {self.max_seq_len!r}."
            )
        if self.position not in ("relative", "absolute"):
            raise ValueError(
                f"ModelConfig.position must be 'relative' or 'absolute', got {self.position!r}."
            )
        if self.norm not in ("rms", "layer"):
            raise ValueError(f"ModelConfig.norm must be 'rms' or 'layer', got {self.norm!r}.")
        if self.clamp_len is not None and (
            not isinstance(self.clamp_len, int) or self.clamp_len <= 0
        ):
            raise ValueError(
                f"ModelConfig.clamp_len must be None or a positive integer, got {self.clamp_len!r}."
            )
        if self.blockwise_from is not None and (
            not isinstance(self.blockwise_from, int) or self.blockwise_from <= 0
        ):
            raise ValueError(
                "ModelConfig.blockwise_from must be None or a positive length, got "
                f"{self.blockwise_from!r}."
            )
        if not isinstance(self.attention_block, int) or self.attention_block <= 0:
            raise ValueError(
                f"ModelConfig.attention_block must be a positive integer, got "
                f"{self.attention_block!r}."
            )
        if self.position == "relative" and self.d_model % 2:
            raise ValueError(
                f"Relative attention needs an even d_model for its sin/cos table, got "
                f"d_model={self.d_model}; use an even width."
            )
        for name in ("dtype", "param_dtype"):
            if getattr(self, name) not in _DTYPES:
                raise ValueError(
                    f"ModelConfig.{name} must be one of {_DTYPES}, got {getattr(self, name)!r}."
                )
        if self.norm_eps <= 0 or self.init_std <= 0:
            raise ValueError("ModelConfig.norm_eps and init_std must be positive.")

    @classmethod
    def from_dict(cls, fields: dict[str, object]) -> ModelConfig:
        """A config from `dataclasses.asdict` output, e.g. a checkpoint's metadata.

        Checkpoints written before the training fields left `ModelConfig` still carry
        ``max_learning_rate`` and ``batch_size_tokens``; they are dropped here.

        Args:
          fields: Field names and values.

        Returns:
          The config.
        """
        return cls(**{k: v for k, v in fields.items() if k not in _LEGACY_TRAINING_FIELDS})

    def replace(self, **changes: object) -> ModelConfig:
        """Return a copy with some fields changed (validated again).

        Args:
          **changes: Field names and their new values.

        Returns:
          The new config.
        """
        if "d_model" in changes and "d_ff" not in changes and self.d_ff == 4 * self.d_model:
            changes["d_ff"] = None  # keep the 4 · d_model rule when only the width changes
        return dataclasses.replace(self, **changes)

    def num_params(self, *, include_embeddings: bool = True) -> int:
        """Count the parameters of the real `GopherLM` without allocating them.

        The model is built under `nnx.eval_shape`, so even the 280B preset is counted from
        shapes alone. Everything the model owns is counted: the (tied) token embedding, per
        block the q/k/v/output projections, the relative-position key projection W_kR and the
        u/v biases (Transformer-XL), the two norm scales, the feed-forward matrices, and the
        final norm. Biases do not exist (all projections are bias-free).

        Args:
          include_embeddings: If False, leave out the token embedding (and a learned absolute
            position table), as scaling-law fits often do.

        Returns:
          The number of scalar parameters.
        """
        from gopherlite.nn.transformer import count_params  # local: config stays import-light

        return count_params(self, include_embeddings=include_embeddings)

    def flops_per_token(self, seq_len: int | None = None, *, training: bool = True) -> float:
        """Matmul FLOPs per token, following Chinchilla's accounting (Hoffmann et al. App. F).

        Counted per token of a ``seq_len`` window (default ``max_seq_len``), forward pass:
          - attention projections q, k, v, o: 2 · 4 · d_model · (n_heads · d_head);
          - relative position keys W_kR R (one projection per distance, amortised per token):
            2 · d_model · (n_heads · d_head);
          - score terms: content (q·k) and position (q·r), each 2 · seq_len · n_heads · d_head,
            plus the value reduction 2 · seq_len · n_heads · d_head (full L, not halved by the
            causal mask, as Chinchilla counts);
          - feed-forward: 2 · 2 · d_model · d_ff;
          - output logits: 2 · d_model · vocab_size.
        The embedding lookup (a gather), norms, softmax and element-wise work are not counted.
        Absolute-position models drop the W_kR and q·r terms. Training counts the backward
        pass as twice the forward, so 3× in total.

        Args:
          seq_len: Window length; ``None`` means ``max_seq_len``.
          training: If True, forward + backward (3×); if False, forward only.

        Returns:
          FLOPs per token.
        """
        from gopherlite.counts import flops_breakdown  # the terms, one by one

        return float(sum(part.value for part in flops_breakdown(self, seq_len, training=training)))


def table1_label(n: int) -> str:
    """Format a parameter count the way Gopher's Table 1 does (44M, 1.4B, 280B).

    Three significant figures below 1,000 of a unit is too many for Table 1: it uses whole
    millions below 1B, one decimal for billions below 10B, whole billions above.

    Args:
      n: Parameter count.

    Returns:
      The label, for example ``"417M"`` or ``"7.1B"``.
    """
    if n < 1e9:
        return f"{round(n / 1e6)}M"
    if n < 1e10:
        return f"{n / 1e9:.1f}B"
    return f"{round(n / 1e9)}B"


def _gopher(n_layers: int, n_heads: int, d_head: int, d_model: int) -> ModelConfig:
    return ModelConfig(n_layers=n_layers, n_heads=n_heads, d_head=d_head, d_model=d_model)


PRESETS: dict[str, ModelConfig] = {
    # Small enough to train on a 2-core CPU in minutes (about 0.8 s per 16 × 128-token step on
    # two cores); a 4,096-piece vocabulary suits the few-MB embedded corpus.
    "tiny": ModelConfig(
        n_layers=4, n_heads=4, d_head=32, d_model=128, vocab_size=4096, max_seq_len=128
    ),
    # Gopher Table 1, rows 44M … 280B.
    "44m": _gopher(8, 16, 32, 512),
    "117m": _gopher(12, 12, 64, 768),
    "417m": _gopher(12, 12, 128, 1536),
    "1.4b": _gopher(24, 16, 128, 2048),
    "7.1b": _gopher(32, 32, 128, 4096),
    "280b": _gopher(80, 128, 128, 16384),
}


@dataclasses.dataclass(frozen=True)
class TrainingDefaults:
    """How a preset is trained by default: Table 1's peak learning rate and batch size.

    Attributes:
      learning_rate: Peak learning rate (Table 1 "max LR").
      batch_size_tokens: Tokens per optimizer step (Table 1 "batch size").
    """

    learning_rate: float
    batch_size_tokens: int

    def batch_size(self, seq_len: int) -> int:
        """Sequences per step of ``seq_len`` tokens that make up ``batch_size_tokens``.

        Args:
          seq_len: Window length.

        Returns:
          At least 1.
        """
        return max(1, round(self.batch_size_tokens / seq_len))


TRAINING_DEFAULTS: dict[str, TrainingDefaults] = {
    # Chosen for this project: a rate that trains the tiny model in a few hundred steps, and 16
    # windows of 128 tokens.
    "tiny": TrainingDefaults(3e-3, 16 * 128),
    # Gopher Table 1 (the 280B batch was 3M tokens, doubled to 6M midway through training).
    "44m": TrainingDefaults(6e-4, 250_000),
    "117m": TrainingDefaults(6e-4, 250_000),
    "417m": TrainingDefaults(2e-4, 250_000),
    "1.4b": TrainingDefaults(2e-4, 250_000),
    "7.1b": TrainingDefaults(1.2e-4, 2_000_000),
    "280b": TrainingDefaults(4e-5, 3_000_000),
}

TABLE1_LABELS: dict[str, str] = {
    "44m": "44M",
    "117m": "117M",
    "417m": "417M",
    "1.4b": "1.4B",
    "7.1b": "7.1B",
    "280b": "280B",
}


def get_preset(name: str) -> ModelConfig:
    """Look up a preset by name with a helpful error.

    Args:
      name: One of `PRESETS`' keys (case-insensitive).

    Returns:
      The preset's config.
    """
    key = name.lower()
    if key not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.")
    return PRESETS[key]
