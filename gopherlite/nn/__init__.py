"""Neural-network layers of the Gopher model: norms, positions, attention, the Transformer."""

from gopherlite.nn.attention import Attention, KVCache
from gopherlite.nn.norm import Norm, layer_norm, rms_norm
from gopherlite.nn.transformer import Block, FeedForward, GopherLM, count_params

__all__ = [
    "Attention",
    "Block",
    "FeedForward",
    "GopherLM",
    "KVCache",
    "Norm",
    "count_params",
    "layer_norm",
    "rms_norm",
]
