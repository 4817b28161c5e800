"""The compiled decoding loop touches each cached array in place: no copy, transpose or gather.

Per-token time stays nearly flat in the context length only if a decoding step reads the
cache and writes one slot of it; a copy, transposed copy or gathered copy of a ``[C, ...]``
array per layer and step would grow with C and dominate (it did: 0.49 ms per token at 256
slots, 2.6–4.8 ms at 1,024 for the tiny preset). These tests read XLA's optimised HLO of
`gopherlite.generate`'s program, so they need no timing.
"""

import re

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from gopherlite import GopherLM, ModelConfig
from gopherlite.sample import _decode_with_cache

C = 88  # cache slots: a size no other axis of the model has
# An array of the cache's size: C slots of d_head numbers (keys, values, relative keys); the
# [B, H, C] scores are 1/d_head of that and may be moved.
CFG = ModelConfig(n_layers=2, n_heads=2, d_head=8, d_model=16, vocab_size=64, max_seq_len=96)
VARIANTS = {"relative": CFG, "absolute": CFG.replace(position="absolute")}


def _computations(hlo: str) -> dict[str, list[str]]:
    """Instruction lines of every computation of an HLO module, by name (with the ``%``)."""
    out, name = {}, None
    for line in hlo.splitlines():
        head = re.match(r"^(?:ENTRY )?(%[\w.\-]+) ", line)
        if head and line.rstrip().endswith("{"):
            name, out[head.group(1)] = head.group(1), []
        elif name and line.startswith("  "):
            out[name].append(line)
    return out


def _called(computations: dict[str, list[str]], root: str) -> list[str]:
    """``root`` and every computation it calls, transitively (fusions, reductions, ...)."""
    seen, todo = [], [root]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.append(name)
            for line in computations[name]:
                todo += re.findall(r"(?:calls|to_apply|body|condition)=(%[\w.\-]+)", line)
    return seen


def _decode_loop_hlo(variant: str, batch: int) -> tuple[dict[str, list[str]], str]:
    model = GopherLM(VARIANTS[variant], rngs=nnx.Rngs(0))
    graphdef, state = nnx.split(model)
    prompt_BxT = jnp.ones((batch, 9), jnp.int32)
    hlo = (
        _decode_with_cache.lower(
            graphdef, state, prompt_BxT, jnp.asarray(5, jnp.int32), jax.random.key(0),
            cache_len=C, temperature=0.0, top_k=None, top_p=None,
        )
        .compile()
        .as_text()
    )  # fmt: skip
    computations = _computations(hlo)
    bodies = re.findall(r" while\(.*body=(%[\w.\-]+)", hlo)
    cache_shape = f"f32[{batch * CFG.n_heads},{C},{CFG.d_head}]"
    loops = [b for b in bodies if cache_shape in computations[b][0]]
    assert len(loops) == 1, bodies  # the token loop carries the caches
    return computations, loops[0]


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("variant", VARIANTS)
def test_decoding_step_neither_copies_nor_gathers_the_cache(variant, batch):
    computations, loop = _decode_loop_hlo(variant, batch)
    sized = re.compile(rf"= f32\[(?=[\d,]*\b{C}\b)(?=[\d,]*\b{CFG.d_head}\b)[\d,]*\]")
    ops = [line for c in _called(computations, loop) for line in computations[c]]
    moves = [op for op in ops if sized.search(op) and re.search(r"\b(copy|transpose|gather)\(", op)]
    assert not moves, "\n".join(moves)
    # Each layer writes its keys and its values once, in the loop-carried buffers.
    writes = [op for op in ops if sized.search(op) and "dynamic-update-slice(" in op]
    assert len(writes) == 2 * CFG.n_layers, "\n".join(writes)
