"""Small measured experiments behind the notebooks: positions and norms, Gopher's two changes.

Gopher is GPT-2 with two changes (Rae et al. 2021, Sec. 3.1): Transformer-XL relative positions
instead of a learned absolute table, and RMSNorm instead of LayerNorm. Each experiment here
changes one of them and keeps everything else equal (data, seed, steps, model size):

* `context_extrapolation` trains at context L and scores the same held-out text in windows of
  L, 2L and 4L tokens (G Sec. 3.1 and App. D.6: relative positions "allow evaluating on longer
  sequences than trained on").
* `norm_comparison` trains the same model with RMSNorm and with LayerNorm; `norm_speed` times
  the two norms alone (Zhang & Sennrich 2019 report 7 %–64 % less running time for RMSNorm).

The notebooks size them with ``notebook.pick(full, smoke)`` so continuous integration runs a
miniature of the same code.
"""

from __future__ import annotations

import dataclasses
import pathlib
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from gopherlite.config import ModelConfig
from gopherlite.data.batches import BatchIterator, PackedWindows, repack
from gopherlite.data.pipeline import TextData, prepare_text
from gopherlite.data.tokenizer import Tokenizer
from gopherlite.evaluate import evaluate, loss_per_position
from gopherlite.nn import GopherLM, layer_norm, rms_norm
from gopherlite.train import TrainConfig, train

TOKENIZER_VOCAB_SIZE = 4096
_REPO_TOKENIZER = pathlib.Path(__file__).resolve().parents[3] / "data" / "tokenizer_4k.model"


def experiment_tokenizer(tokenizer_path: str | pathlib.Path | None = None) -> Tokenizer | None:
    """The tokenizer the experiments share: a given model file, else the repository's.

    Args:
      tokenizer_path: A SentencePiece model to use instead of the default.

    Returns:
      The loaded tokenizer, or None where the package is installed without
      ``data/tokenizer_4k.model`` (`load_experiment_data` then trains the same 4,096-piece
      tokenizer afresh).
    """
    path = tokenizer_path or (_REPO_TOKENIZER if _REPO_TOKENIZER.exists() else None)
    return Tokenizer.load(path) if path is not None else None


def load_experiment_data(
    seq_len: int,
    *,
    train_tokens: int | None = None,
    heldout_tokens: int | None = None,
    tokenizer_path: str | pathlib.Path | None = None,
) -> TextData:
    """Pack the embedded corpus into windows for a tiny model (`pipeline.prepare_text`).

    The tokenizer is ``tokenizer_path``, else the repository's ``data/tokenizer_4k.model``,
    else (an installed package without the data folder) the same 4,096-piece tokenizer trained
    afresh on the training split, which is deterministic and takes about a second. A capped
    split tokenizes only the documents it needs, which keeps smoke runs fast.

    Args:
      seq_len: Window length of both splits.
      train_tokens: Keep only the first this many training targets (None: all, about 660k).
      heldout_tokens: Keep only the first this many held-out targets (None: all, about 28k). A
        capped split has no byte count, so bits per byte is unavailable on it.
      tokenizer_path: A SentencePiece model to use instead of the default.

    Returns:
      The tokenizer and the windows.
    """
    return prepare_text(
        seq_len,
        tokenizer=experiment_tokenizer(tokenizer_path),
        vocab_size=TOKENIZER_VOCAB_SIZE,
        train_tokens=train_tokens,
        heldout_tokens=heldout_tokens,
    )


@dataclasses.dataclass
class TrainedVariant:
    """One trained model of an experiment.

    Attributes:
      config: The model's config.
      model: The trained model.
      history: The logged training records (``step``, ``loss``, ``tokens_per_second``, ...).
      seconds: Wall-clock seconds of the whole run, compilation included.
    """

    config: ModelConfig
    model: GopherLM
    history: list[dict[str, Any]]
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        """Median training throughput over the logged intervals (compilation excluded)."""
        return statistics.median(record["tokens_per_second"] for record in self.history)


def train_variants(
    configs: Mapping[str, ModelConfig],
    train_config: TrainConfig,
    data: TextData,
    *,
    progress: bool = False,
    callback: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, TrainedVariant]:
    """Train several models on identical batches (same seed, same order, same steps).

    Args:
      configs: Name → model config; the names label plots.
      train_config: Shared training settings; its ``seq_len`` (or each config's
        ``max_seq_len``) is the training window.
      data: From `load_experiment_data`; its training windows must have that length.
      progress: Show a progress bar per run.
      callback: Called with ``(name, record)`` for every logged record (live plots).

    Returns:
      Name → trained variant, in the order of ``configs``.
    """
    results = {}
    for name, config in configs.items():
        seq_len = train_config.seq_len or config.max_seq_len
        if seq_len != data.train.window:
            raise ValueError(
                f"Variant {name!r} trains on {seq_len}-token windows but the data was packed "
                f"into {data.train.window}; call load_experiment_data({seq_len})."
            )
        batches = BatchIterator(data.train, train_config.batch_size, seed=train_config.seed)
        callbacks = () if callback is None else (lambda record, n=name: callback(n, record),)
        start = time.perf_counter()
        result = train(
            config,
            train_config,
            batches,
            bytes_per_token=data.bytes_per_token,
            callbacks=callbacks,
            progress=progress,
        )
        seconds = time.perf_counter() - start
        results[name] = TrainedVariant(config, result.trainer.model, result.history, seconds)
    return results


def extrapolation_configs(
    base: ModelConfig, seq_len: int, max_factor: int, *, clamp: bool = False
) -> dict[str, ModelConfig]:
    """The position variants of the extrapolation experiment, equal in everything else.

    * ``"relative"``: Transformer-XL relative attention (Gopher), no clamp.
    * ``"relative, clamp L−1"``: the same with distances above L − 1 clamped to L − 1 (TXL
      ``clamp_len``), the largest distance a training window holds, so evaluation never meets
      an unseen distance. Training is identical to ``"relative"``: no distance reaches the
      clamp.
    * ``"absolute"``: GPT-2's learned table of ``max_factor · L`` rows, trained on windows of
      L, so rows L … max_factor · L − 1 keep their random initial values: an absolute model
      evaluated past its training length meets positions it never learned.

    Args:
      base: Model shape (layers, widths, vocabulary, norm).
      seq_len: Training window L.
      max_factor: Longest evaluation window in units of L.
      clamp: Include the clamped relative variant.

    Returns:
      Name → config.
    """
    configs = {"relative": base.replace(position="relative", max_seq_len=seq_len, clamp_len=None)}
    if clamp:
        configs["relative, clamp L−1"] = configs["relative"].replace(clamp_len=seq_len - 1)
    configs["absolute"] = base.replace(
        position="absolute", max_seq_len=max_factor * seq_len, clamp_len=None
    )
    return configs


@dataclasses.dataclass
class LengthScores:
    """A model's held-out loss when reading windows of several lengths.

    Attributes:
      loss: Window length → mean loss (nats per token) over the same targets.
      per_position: Window length → mean loss at each position ``[length]``.
    """

    loss: dict[int, float]
    per_position: dict[int, np.ndarray]


def score_lengths(
    model: GopherLM, heldout: PackedWindows, lengths: Sequence[int], *, batch_size: int = 8
) -> LengthScores:
    """Loss per position and overall at each window length, on exactly the same targets.

    The held-out stream is cut again (`repack`) for each length, so every length scores the
    same tokens and only the context before each one changes. The overall loss is the
    target-weighted mean of the per-position curve, so it equals
    `gopherlite.evaluate.evaluate_lengths` without a second pass.

    Args:
      model: The model (an absolute one must have ``max_seq_len >= max(lengths)``).
      heldout: Held-out windows.
      lengths: Window lengths.
      batch_size: Windows per forward pass.

    Returns:
      The scores.
    """
    loss, per_position = {}, {}
    for length in lengths:
        windows = repack(heldout, length)
        curve_L = loss_per_position(model, windows, batch_size)
        weight_L = windows.weights_NxL.sum(axis=0, dtype=np.float64)
        loss[length] = float(np.nansum(curve_L * weight_L) / weight_L.sum())
        per_position[length] = curve_L
    return LengthScores(loss, per_position)


@dataclasses.dataclass
class ExtrapolationResult:
    """Outcome of `context_extrapolation`.

    Attributes:
      seq_len: Training window L.
      lengths: Evaluation windows (L, 2L, 4L by default).
      runs: Variant name → trained model.
      scores: Variant name → its scores at every length.
    """

    seq_len: int
    lengths: list[int]
    runs: dict[str, TrainedVariant]
    scores: dict[str, LengthScores]

    def table(self) -> list[dict[str, Any]]:
        """One row per variant: its name and the loss at each length (for printing)."""
        return [
            {"variant": name, **{f"{n}": round(s.loss[n], 4) for n in self.lengths}}
            for name, s in self.scores.items()
        ]


def context_extrapolation(
    data: TextData,
    base: ModelConfig,
    train_config: TrainConfig,
    *,
    factors: Sequence[int] = (1, 2, 4),
    clamp: bool = False,
    progress: bool = False,
    callback: Callable[[str, dict[str, Any]], None] | None = None,
) -> ExtrapolationResult:
    """Train at context L, evaluate at multiples of L: relative vs absolute positions.

    Gopher chose relative positions so that models can be evaluated on longer sequences than
    they were trained on (G Sec. 3.1). This trains the `extrapolation_configs` variants on
    the same batches of L-token windows (L = ``data.train.window``) and scores the held-out
    text in windows of ``f · L`` tokens for each factor f.

    Args:
      data: From `load_experiment_data(L, ...)`.
      base: Shared model shape.
      train_config: Shared training settings (``seq_len`` None or L).
      factors: Evaluation window lengths in units of L.
      clamp: Also train the clamped relative variant.
      progress: Show progress bars.
      callback: Called with ``(name, record)`` for every logged training record.

    Returns:
      The trained variants and their scores.
    """
    seq_len = data.train.window
    configs = extrapolation_configs(base, seq_len, max(factors), clamp=clamp)
    train_config = dataclasses.replace(train_config, seq_len=seq_len)
    runs = train_variants(configs, train_config, data, progress=progress, callback=callback)
    lengths = [f * seq_len for f in factors]
    scores = {name: score_lengths(run.model, data.heldout, lengths) for name, run in runs.items()}
    return ExtrapolationResult(seq_len, lengths, runs, scores)


@dataclasses.dataclass
class NormComparison:
    """Outcome of `norm_comparison`.

    Attributes:
      runs: ``"RMSNorm"`` and ``"LayerNorm"`` → trained model.
      heldout_loss: The same names → held-out loss (nats per token) at the training length.
    """

    runs: dict[str, TrainedVariant]
    heldout_loss: dict[str, float]


def norm_comparison(
    data: TextData,
    base: ModelConfig,
    train_config: TrainConfig,
    *,
    progress: bool = False,
    callback: Callable[[str, dict[str, Any]], None] | None = None,
) -> NormComparison:
    """Train one model with RMSNorm (Gopher) and one with LayerNorm (GPT-2), all else equal.

    Args:
      data: From `load_experiment_data`.
      base: Shared model shape (its ``norm`` is overridden).
      train_config: Shared training settings.
      progress: Show progress bars.
      callback: Called with ``(name, record)`` for every logged training record.

    Returns:
      Both runs and their held-out losses.
    """
    configs = {"RMSNorm": base.replace(norm="rms"), "LayerNorm": base.replace(norm="layer")}
    runs = train_variants(configs, train_config, data, progress=progress, callback=callback)
    heldout_loss = {name: evaluate(run.model, data.heldout).loss for name, run in runs.items()}
    return NormComparison(runs, heldout_loss)


@dataclasses.dataclass(frozen=True)
class NormTiming:
    """Median time of one jitted norm call.

    Attributes:
      kind: ``"rms"`` or ``"layer"``.
      mode: ``"forward"`` or ``"forward+backward"`` (gradients of the input and the gain).
      tokens: Rows normalised per call.
      d_model: Features per row.
      seconds: Median wall-clock seconds per call.
    """

    kind: Literal["rms", "layer"]
    mode: Literal["forward", "forward+backward"]
    tokens: int
    d_model: int
    seconds: float


def _norm_fn(kind: str, mode: str) -> Callable[..., Any]:
    """A jitted function of (x, scale, bias) applying one norm, or its gradient."""

    def apply(x_NxD: jax.Array, scale_D: jax.Array, bias_D: jax.Array) -> jax.Array:
        if kind == "rms":
            return rms_norm(x_NxD, scale_D, 1e-5)
        return layer_norm(x_NxD, scale_D, bias_D, 1e-5)

    if mode == "forward":
        return jax.jit(apply)

    def summed(x_NxD: jax.Array, scale_D: jax.Array, bias_D: jax.Array) -> jax.Array:
        return jnp.sum(apply(x_NxD, scale_D, bias_D) * x_NxD)  # a non-trivial upstream gradient

    return jax.jit(jax.grad(summed, argnums=(0, 1)))


def norm_speed(
    sizes: Sequence[tuple[int, int]],
    *,
    modes: Sequence[Literal["forward", "forward+backward"]] = ("forward", "forward+backward"),
    repeats: int = 20,
    dtype: str = "float32",
    seed: int = 0,
) -> list[NormTiming]:
    """Time jitted `rms_norm` against `layer_norm` on the default device.

    Each function is compiled and run once before timing; then ``repeats`` calls are timed one
    by one (each waits for its result) and the median is kept. The two norms alternate call by
    call so that a busy machine slows both alike.

    Args:
      sizes: ``(tokens, d_model)`` pairs, e.g. ``[(8192, 512), (8192, 2048)]``.
      modes: Forward only, and/or forward plus backward.
      repeats: Timed calls per norm, size and mode.
      dtype: Input dtype name (statistics are float32 either way).
      seed: Seed of the random inputs.

    Returns:
      One timing per (size, mode, norm).
    """
    timings = []
    key = jax.random.key(seed)
    for tokens, d_model in sizes:
        x_NxD = jax.random.normal(key, (tokens, d_model), jnp.dtype(dtype))
        scale_D, bias_D = jnp.ones((d_model,), jnp.float32), jnp.zeros((d_model,), jnp.float32)
        for mode in modes:
            fns = {kind: _norm_fn(kind, mode) for kind in ("rms", "layer")}
            samples: dict[str, list[float]] = {kind: [] for kind in fns}
            for fn in fns.values():
                jax.block_until_ready(fn(x_NxD, scale_D, bias_D))
            for _ in range(repeats):
                for kind, fn in fns.items():
                    start = time.perf_counter()
                    jax.block_until_ready(fn(x_NxD, scale_D, bias_D))
                    samples[kind].append(time.perf_counter() - start)
            timings += [
                NormTiming(kind, mode, tokens, d_model, statistics.median(samples[kind]))
                for kind in fns
            ]
    return timings
