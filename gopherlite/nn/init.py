"""Parameter helpers shared by the layers: dtypes, initialisers and logical axis names.

Every parameter carries logical axis names (``embed``, ``heads``, ``kv``, ``mlp``, ``vocab``)
as metadata. They are not applied when the model is built (``eager_sharding=False``), so a
model builds anywhere; `gopherlite.sharding` maps the names to mesh axes and lays the
parameters out when a mesh is in use.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import nnx


def dtype_of(name: str) -> jnp.dtype:
    """Turn a dtype name from `ModelConfig` (``"float32"``, ``"bfloat16"``) into a dtype.

    Args:
      name: The dtype's name.

    Returns:
      The numpy dtype.
    """
    return jnp.dtype(name)


def logical(*names: str) -> dict[str, Any]:
    """Metadata keyword arguments that attach logical axis names to an `nnx.Param`.

    Args:
      *names: One logical axis name per array dimension.

    Returns:
      Keyword arguments for `nnx.Param`.
    """
    return {"out_sharding": names, "eager_sharding": False}


def normal_init(std: float, *names: str) -> nnx.Initializer:
    """A zero-mean normal initialiser whose parameters carry logical axis names.

    Args:
      std: Standard deviation.
      *names: One logical axis name per parameter dimension.

    Returns:
      An initialiser for Flax layers' ``kernel_init`` / ``embedding_init``.
    """
    return nnx.with_partitioning(nnx.initializers.normal(std), names, eager_sharding=False)
