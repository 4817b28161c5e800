"""gopherlite: Gopher-style language models (Rae et al. 2021) in JAX and Flax NNX, for learning.

The public names below are the package's contract with its notebooks and users.
"""

from gopherlite import corpus
from gopherlite.config import PRESETS, ModelConfig, get_preset
from gopherlite.nn import GopherLM
from gopherlite.sample import generate
from gopherlite.tokenizer import Tokenizer

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "GopherLM",
    "ModelConfig",
    "Tokenizer",
    "__version__",
    "corpus",
    "generate",
    "get_preset",
]
