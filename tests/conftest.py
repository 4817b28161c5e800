"""Shared test set-up: strict numerics and small helpers.

Implicit rank promotion raises in every test, so a broadcast that was not written on purpose
fails loudly.
"""

import gc
import os
import shutil
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

jax.config.update("jax_numpy_rank_promotion", "raise")

# One persistent compilation cache per test run, shared by every process the run starts: xdist
# workers, the multi-device tier, notebook and JupyterLab kernels, CLI and multiprocess
# workers (they inherit the environment set here). The notebook and browser tiers run the same
# chapters and many tests build the same small models, so most compilations happen once.
_CACHE_ENV = "JAX_COMPILATION_CACHE_DIR"
# The folder this process made, if it made one. Only that process removes it: a pytest run
# started by a test (the multi-device tier) inherits the variable but must leave the folder,
# which its parent run is still using.
_made_cache_dir: str | None = None


def pytest_configure(config):
    global _made_cache_dir
    if os.environ.get(_CACHE_ENV) is None and not hasattr(config, "workerinput"):
        _made_cache_dir = tempfile.mkdtemp(prefix="gopherlite-jax-cache-")
        os.environ[_CACHE_ENV] = _made_cache_dir
    if os.environ.get(_CACHE_ENV):
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
        jax.config.update("jax_compilation_cache_dir", os.environ[_CACHE_ENV])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


def pytest_unconfigure(config):
    if _made_cache_dir is not None:
        shutil.rmtree(_made_cache_dir, ignore_errors=True)


# The multi-device tier runs in its own process (see tests/test_sharding.py).
collect_ignore = [] if os.environ.get("GOPHERLITE_MULTIDEVICE") else ["multidevice"]


@pytest.fixture(scope="module", autouse=True)
def _drop_compiled_functions_after_each_module():
    """Free each module's compiled executables, so a test worker's memory does not keep growing.

    Without it one xdist worker reached 3.7 GB by a third of the suite (2026-12-07).
    """
    yield
    jax.clear_caches()
    gc.collect()


def randomize_params(module: nnx.Module, seed: int, scale: float = 0.3) -> None:
    """Overwrite every parameter with N(0, scale²) noise: no term hides behind a zero init."""
    state = nnx.state(module, nnx.Param)
    leaves, treedef = jax.tree.flatten(state)
    rng = np.random.default_rng(seed)
    new = [jnp.asarray(rng.normal(0.0, scale, leaf.shape), leaf.dtype) for leaf in leaves]
    nnx.update(module, jax.tree.unflatten(treedef, new))


def synthetic_windows(n_docs: int, seed: int, window: int, vocab: int):
    """Random token documents (ids 4 … vocab−1, 5 to 29 long) packed into windows."""
    from gopherlite.data.batches import pack

    rng = np.random.default_rng(seed)
    docs = [rng.integers(4, vocab, rng.integers(5, 30)).tolist() for _ in range(n_docs)]
    return pack(docs, window, separator_id=3, pad_id=0, num_bytes=1000)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# Tokenizer fixtures: one small tokenizer per test session keeps tokenizer tests fast.
TOKENIZER_TRAINING_CHARS = 300_000
SMALL_VOCAB_SIZE = 1024


@pytest.fixture(scope="session")
def tokenizer_training_text() -> str:
    """The first 300,000 characters of the default corpus's train split."""
    from gopherlite.data.corpus import default_text

    return default_text("train")[:TOKENIZER_TRAINING_CHARS]


@pytest.fixture(scope="session")
def small_tokenizer(tokenizer_training_text):
    """A 1,024-piece tokenizer trained once per session on ``tokenizer_training_text``."""
    from gopherlite.data.tokenizer import Tokenizer

    return Tokenizer.train(tokenizer_training_text, vocab_size=SMALL_VOCAB_SIZE)
