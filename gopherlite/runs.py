"""A training run folder end to end: corpus → tokenizer → windows → training → checkpoints.

One run folder holds everything needed to resume, evaluate and sample::

    DIR/tokenizer.model     the SentencePiece model the run was trained with
    DIR/metrics.jsonl       one JSON record per logged step
    DIR/checkpoints/<step>/ model + optimizer state and metadata (see `gopherlite.checkpoint`)

The command line (`python -m gopherlite train/eval/sample`) and the notebooks both call these
functions, so what a learner runs in a notebook is exactly what the CLI runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pathlib
from collections.abc import Sequence
from typing import Any

from flax import nnx
from jax.sharding import Mesh

from gopherlite.checkpoint import Checkpointer, CheckpointError
from gopherlite.config import ModelConfig
from gopherlite.data.batches import BatchIterator, pack_documents
from gopherlite.data.pipeline import TextData, load_documents, prepare_text
from gopherlite.data.tokenizer import Tokenizer
from gopherlite.evaluate import EvalResult, evaluate, evaluate_by_source, unigram_bits_per_byte
from gopherlite.nn import GopherLM
from gopherlite.runlock import hold_run_folder
from gopherlite.sharding import batch_sharding, local_batch_rows, mesh_or_first_device
from gopherlite.train import (
    Callback,
    TrainConfig,
    TrainResult,
    build_model_and_optimizer,
    train,
)

TOKENIZER_FILE = "tokenizer.model"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def prepare_data(
    model_config: ModelConfig,
    seq_len: int,
    out_dir: pathlib.Path,
    *,
    corpus_paths: Sequence[str | pathlib.Path] | None = None,
    tokenizer_path: str | pathlib.Path | None = None,
) -> TextData:
    """Choose the run's tokenizer and pack its text into windows (`pipeline.prepare_text`).

    The tokenizer is, in order of preference: the one already in the run folder (resuming;
    a different file given is refused), the file given, or a new SentencePiece model trained on
    the training text with the model's vocabulary size. It is checked against the model config
    and saved into the run folder.

    Args:
      model_config: The model (its ``vocab_size`` must match the tokenizer's).
      seq_len: Window length.
      out_dir: Run folder.
      corpus_paths: Text files and folders, or None for the embedded corpus.
      tokenizer_path: An existing tokenizer to use for a new run.

    Returns:
      The run's data.
    """
    saved = out_dir / TOKENIZER_FILE
    given = None if tokenizer_path is None else Tokenizer.load(tokenizer_path)
    tokenizer = Tokenizer.load(saved) if saved.exists() else given
    if given is not None and given.to_bytes() != tokenizer.to_bytes():
        raise ValueError(
            f"The tokenizer {tokenizer_path} is not the one the run in {out_dir} was trained "
            f"with ({saved}); to resume, leave the tokenizer out (the run's own is used); for "
            "a new run with it, choose another output folder."
        )
    if tokenizer is not None:
        tokenizer.check_compatible(model_config)
    data = prepare_text(
        seq_len, corpus_paths=corpus_paths, tokenizer=tokenizer, vocab_size=model_config.vocab_size
    )
    if tokenizer is None:  # freshly trained: check what SentencePiece produced
        data.tokenizer.check_compatible(model_config)
    if not saved.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        data.tokenizer.save(saved)
    return data


def train_run(
    model_config: ModelConfig,
    train_config: TrainConfig,
    out_dir: str | pathlib.Path,
    *,
    corpus_paths: Sequence[str | pathlib.Path] | None = None,
    tokenizer_path: str | pathlib.Path | None = None,
    callbacks: tuple[Callback, ...] = (),
    progress: bool = True,
    mesh: Mesh | None = None,
    layout: str = "2d",
) -> tuple[TrainResult, TextData]:
    """Train a model in a run folder, resuming from its latest checkpoint if there is one.

    Args:
      model_config: The model.
      train_config: How to train it.
      out_dir: Run folder (created if missing).
      corpus_paths: Text files and folders, or None for the embedded corpus.
      tokenizer_path: An existing tokenizer for a new run (default: train one).
      callbacks: Called with every logged metrics record.
      progress: Show a progress bar.
      mesh: Device mesh (default: the first device).
      layout: Sharding layout name.

    Returns:
      The training result and the run's data.
    """
    out_dir = pathlib.Path(out_dir)
    with hold_run_folder(out_dir):  # refuse a second trainer before touching the folder
        seq_len = train_config.seq_len or model_config.max_seq_len
        data = prepare_data(
            model_config, seq_len, out_dir, corpus_paths=corpus_paths, tokenizer_path=tokenizer_path
        )
        # Each process loads only the rows of every global batch that its devices hold.
        mesh = mesh_or_first_device(mesh)
        start, stop = local_batch_rows(batch_sharding(mesh), train_config.batch_size)
        batches = BatchIterator(
            data.train,
            train_config.batch_size,
            seed=train_config.seed,
            num_shards=train_config.batch_size // (stop - start),
            shard_index=start // (stop - start),
        )
        meta_extra = {
            "tokenizer_sha256": _sha256(data.tokenizer.to_bytes()),
            "corpus_fingerprint": data.corpus_fingerprint,
            "corpus_paths": [str(p) for p in corpus_paths or []],
        }
        result = train(
            model_config,
            train_config,
            batches,
            bytes_per_token=data.bytes_per_token,
            out_dir=out_dir,
            heldout=data.heldout,
            callbacks=callbacks,
            progress=progress,
            meta_extra=meta_extra,
            mesh=mesh,
            layout=layout,
        )
        return result, data


@dataclasses.dataclass(frozen=True)
class LoadedRun:
    """A trained model restored from a run folder.

    Attributes:
      model: The model with the checkpoint's parameters.
      tokenizer: The run's tokenizer.
      meta: The checkpoint's metadata (configs, step, data position, provenance).
    """

    model: GopherLM
    tokenizer: Tokenizer
    meta: dict[str, Any]


def load_run(out_dir: str | pathlib.Path, step: int | None = None) -> LoadedRun:
    """Restore the model of a run folder (latest checkpoint unless ``step`` is given).

    The train state's structure is built with `nnx.eval_shape` (nothing allocated), restored
    from the checkpoint, and the model half is returned.

    Args:
      out_dir: Run folder written by `train_run` or ``python -m gopherlite train``.
      step: Checkpoint step; None for the latest.

    Returns:
      The model, the tokenizer and the metadata.
    """
    out_dir = pathlib.Path(out_dir)
    if not out_dir.is_dir():
        raise CheckpointError(
            f"Run folder {out_dir} does not exist; pass the --out of a train run."
        )
    checkpointer = Checkpointer(out_dir / "checkpoints")
    meta = checkpointer.read_meta(step)
    model_config = ModelConfig.from_dict(meta["model_config"])
    train_config = TrainConfig.from_dict(meta["train_config"], meta["model_config"])
    tokenizer_file = out_dir / TOKENIZER_FILE
    if not tokenizer_file.exists():
        raise CheckpointError(f"{tokenizer_file} is missing; the run folder is incomplete.")
    tokenizer = Tokenizer.load(tokenizer_file)
    if _sha256(tokenizer.to_bytes()) != meta.get("tokenizer_sha256"):
        raise CheckpointError(
            f"{tokenizer_file} is not the tokenizer this checkpoint was trained with (checksum "
            "differs); restore the original file."
        )

    graphdef, abstract_state = nnx.split(
        nnx.eval_shape(lambda: build_model_and_optimizer(model_config, train_config))
    )
    # step (None: the latest) is resolved again: a trainer on this folder may have replaced the
    # checkpoint the metadata came from; the configs of one run are the same at every step.
    state, meta = checkpointer.restore(abstract_state, step=step)
    checkpointer.close()
    model, _ = nnx.merge(graphdef, state)
    return LoadedRun(model=model, tokenizer=tokenizer, meta=meta)


def evaluate_run(run: LoadedRun, *, seq_len: int | None = None, batch_size: int = 8) -> EvalResult:
    """Held-out loss, perplexity and bits per byte of a restored run, with the unigram baseline.

    Args:
      run: From `load_run`.
      seq_len: Evaluation window; None for the model's training context. Relative-attention
        models can be evaluated on longer windows than they were trained on.
      batch_size: Windows per evaluation batch.

    Returns:
      The evaluation, including the tokenizer's unigram bits per byte on the same text.
    """
    config = run.model.config
    window = seq_len or config.max_seq_len
    train_docs, heldout_docs = load_documents(run.meta.get("corpus_paths") or None)
    heldout = pack_documents(run.tokenizer, heldout_docs, window)
    train_windows = pack_documents(run.tokenizer, train_docs, window)
    baseline = unigram_bits_per_byte(train_windows, heldout, config.vocab_size)
    return evaluate(run.model, heldout, batch_size=batch_size, unigram_bpb=baseline)


def evaluate_run_by_source(
    run: LoadedRun, *, seq_len: int | None = None, batch_size: int = 8
) -> dict[str, EvalResult]:
    """A restored run's held-out bits per byte per source group (`evaluate.evaluate_by_source`).

    Args:
      run: From `load_run`.
      seq_len: Evaluation window; None for the model's training context.
      batch_size: Windows per evaluation batch.

    Returns:
      One result per source group of the run's held-out documents, each with the unigram
      baseline of the run's tokenizer on that group's text.
    """
    window = seq_len or run.model.config.max_seq_len
    train_docs, heldout_docs = load_documents(run.meta.get("corpus_paths") or None)
    train_windows = pack_documents(run.tokenizer, train_docs, window)
    return evaluate_by_source(
        run.model,
        run.tokenizer,
        heldout_docs,
        window,
        batch_size=batch_size,
        train_windows=train_windows,
    )
