"""Where a compiled train step spends its time, op by op, from JAX's own profiler.

`profile_step` runs a few steps under `jax.profiler.trace` (with a Perfetto trace), reads
the per-op events the XLA runtime records, and joins each op's name with the optimised HLO
of the step (`jax.stages.Compiled.as_text`) to find its output shape and the JAX operation it
came from (``op_name`` metadata, e.g. ``transpose(jvp(BLD,VD->BLV))/dot_general``: the
backward pass of the unembedding). Ops are grouped into matrix multiplications, copies and
transposes (layout changes that move bytes without arithmetic), and other fused
element-wise or reduction work. This is the "profile before optimising" step of the
benchmarks (`python benchmarks/profile_step.py`).
"""

from __future__ import annotations

import collections
import dataclasses
import gzip
import json
import pathlib
import re
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import jax

# Runtime events that are not ops of the compiled program.
_NOT_OPS = ("ThunkExecutor", "$", "PjitFunction", "SlinkyThreadPool", "Thunk")


@dataclasses.dataclass(frozen=True)
class OpTime:
    """One op of the compiled step and its time.

    Attributes:
      name: HLO instruction name (e.g. ``ynn_fusion.119``).
      kind: ``matmul``, ``copy/transpose`` or ``elementwise/reduce``.
      ms_per_step: Mean milliseconds per step.
      calls_per_step: Executions per step.
      shape: Output shape from the HLO (empty when not found).
      source: The JAX operation it came from (``op_name`` metadata; empty when not found).
    """

    name: str
    kind: str
    ms_per_step: float
    calls_per_step: float
    shape: str
    source: str


def op_kind(name: str) -> str:
    """Group an XLA:CPU op by what it does.

    Args:
      name: HLO instruction name.

    Returns:
      ``matmul`` (dots and library matmul fusions), ``copy/transpose`` or
      ``elementwise/reduce``.
    """
    if name.startswith(("ynn_fusion", "xnn_fusion", "onednn", "dot", "convolution")):
        return "matmul"
    if "copy" in name or "transpose" in name:
        return "copy/transpose"
    return "elementwise/reduce"


def _hlo_index(hlo_text: str) -> dict[str, tuple[str, str]]:
    """Instruction name → (output shape, op_name metadata) of the optimised HLO's entry."""
    index = {}
    pattern = re.compile(r"^\s*(?:ROOT )?%(\S+) = (\S+) ")
    for line in hlo_text.splitlines():
        match = pattern.match(line)
        if match:
            source = re.search(r'op_name="([^"]+)"', line)
            index.setdefault(match.group(1), (match.group(2), source.group(1) if source else ""))
    return index


def _trace_events(directory: pathlib.Path) -> list[dict[str, Any]]:
    """Complete ("X") events of the Perfetto trace JAX wrote under ``directory``."""
    traces = sorted(directory.rglob("perfetto_trace.json.gz"))
    if not traces:
        raise RuntimeError(
            f"jax.profiler.trace wrote no perfetto_trace.json.gz under {directory}; this JAX "
            "build may not record op-level events on this backend."
        )
    with gzip.open(traces[-1], "rt") as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    return [e for e in events if e.get("ph") == "X"]


def profile_step(step: Callable[[], Any], hlo_text: str, steps: int = 3) -> list[OpTime]:
    """Profile ``steps`` calls of an already compiled and warmed-up step.

    Args:
      step: Runs one step (its result is waited for with `jax.block_until_ready`).
      hlo_text: The step's optimised HLO (``compiled.as_text()``), to name the ops.
      steps: Steps recorded; times are averaged over them.

    Returns:
      Every op of the program, slowest first.
    """
    with tempfile.TemporaryDirectory(prefix="gopherlite-profile-") as tmp:
        with jax.profiler.trace(tmp, create_perfetto_trace=True):
            for _ in range(steps):
                jax.block_until_ready(step())
        events = _trace_events(pathlib.Path(tmp))
    index = _hlo_index(hlo_text)
    micros: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    for event in events:
        name = event["name"]
        if name.startswith(_NOT_OPS) or name not in index:
            continue
        micros[name] += event.get("dur", 0)
        calls[name] += 1
    ops = [
        OpTime(name, op_kind(name), us / steps / 1e3, calls[name] / steps, *index[name])
        for name, us in micros.items()
    ]
    return sorted(ops, key=lambda op: -op.ms_per_step)


def summarize(ops: Sequence[OpTime]) -> dict[str, float]:
    """Milliseconds per step of each kind of op.

    Args:
      ops: `profile_step` output.

    Returns:
      Kind → ms per step, plus ``total``.
    """
    totals: collections.Counter[str] = collections.Counter()
    for op in ops:
        totals[op.kind] += op.ms_per_step
    return {**dict(totals.most_common()), "total": sum(totals.values())}


def format_profile(ops: Sequence[OpTime], top: int = 20) -> str:
    """Render a profile as Markdown: time by kind of op, then the slowest ops.

    Args:
      ops: `profile_step` output.
      top: Slowest ops listed.

    Returns:
      The two tables.
    """
    totals = summarize(ops)
    total = totals.pop("total")
    lines = ["| kind of op | ms/step | share |", "|---|---:|---:|"]
    lines += [f"| {kind} | {ms:.1f} | {ms / total:.1%} |" for kind, ms in totals.items()]
    lines += [
        f"| all ops | {total:.1f} | 100% |",
        "",
        "| op | kind | ms/step | share | output | from (JAX op) |",
        "|---|---|---:|---:|---|---|",
    ]
    lines += [
        f"| {op.name} | {op.kind} | {op.ms_per_step:.2f} | {op.ms_per_step / total:.1%} "
        f"| `{op.shape}` | `{op.source.removeprefix('jit(_pure_step)/')}` |"
        for op in ops[:top]
    ]
    return "\n".join(lines)
