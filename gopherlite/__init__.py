"""gopherlite: Gopher-style language models (Rae et al. 2021) in JAX and Flax NNX, for learning.

The public names below are the package's contract with its notebooks and users. They are
imported lazily (PEP 562), so ``import gopherlite`` does not start JAX: a notebook's setup
cell can still ask for simulated CPU devices before JAX initialises its backend.
"""

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY_NAMES = {
    "PRESETS": "gopherlite.config",
    "ModelConfig": "gopherlite.config",
    "get_preset": "gopherlite.config",
    "GopherLM": "gopherlite.nn",
    "Tokenizer": "gopherlite.data.tokenizer",
    "generate": "gopherlite.sample",
}
_LAZY_MODULES = {
    "corpus": "gopherlite.data.corpus",
    "data": "gopherlite.data",
    "precision": "gopherlite.precision",
    "sharding": "gopherlite.sharding",
}

__all__ = [*_LAZY_NAMES, *_LAZY_MODULES, "__version__"]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use."""
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    if name in _LAZY_MODULES:
        return importlib.import_module(_LAZY_MODULES[name])
    raise AttributeError(f"module 'gopherlite' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
