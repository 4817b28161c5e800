"""The same training steps under several meshes and layouts: sharding must not change the maths.

Gopher split each model over the chips of a TPUv3 pod with model and data parallelism, and
sharded the optimizer state (Rae et al. 2021, Sec. 3.3). Splitting is a placement decision: the
sharded program must compute the same losses as one device does, up to the order of
floating-point sums. `compare_layouts` trains identical batches from the same seed once on a
single device and once per (mesh, layout), and returns the losses side by side; chapter 07 and
the multi-device tests check them with ``np.testing.assert_allclose(..., rtol=1e-5)``.

Each run also keeps what the compiler made of its step: the collectives in the optimised HLO
(`gopherlite.comm.count_collectives`) and XLA's memory analysis, per device, which
`memory_comparison` sets beside the analytic estimate of `gopherlite.costs.memory_per_device`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from gopherlite.comm import count_collectives
from gopherlite.config import ModelConfig
from gopherlite.costs import MemoryEstimate, memory_per_device
from gopherlite.data.batches import Batch
from gopherlite.sharding import AXES, BATCH_AXES, make_mesh
from gopherlite.train import TrainConfig, Trainer
from gopherlite.train.loop import steps

SINGLE_DEVICE = "1 device"


@dataclasses.dataclass(frozen=True)
class CompiledMemory:
    """XLA's memory analysis of a compiled step, in bytes per device.

    Attributes:
      arguments: Inputs: the train state's shards and the batch's rows on one device.
      outputs: Results: the new state and the metrics.
      aliased: Outputs written into donated input buffers (the state, updated in place).
      temporaries: Everything else the step allocates: gradients, activations kept for the
        backward pass, gathered weights, scratch.
    """

    arguments: int
    outputs: int
    aliased: int
    temporaries: int

    @property
    def total(self) -> int:
        """Arguments + temporaries + the outputs not written into donated buffers (the metrics):
        the bytes XLA sizes for the step on one device."""
        return self.arguments + self.temporaries + self.outputs - self.aliased


@dataclasses.dataclass(frozen=True)
class LayoutRun:
    """Losses of a few steps under one mesh and layout.

    Attributes:
      name: Label, e.g. ``"2d data=2,fsdp=2,tensor=2"`` (or ``"1 device"``).
      layout: Layout name.
      mesh: Degrees of ``data``, ``fsdp``, ``tensor`` (all 1 for the single device).
      losses: One loss per step.
      compile_seconds: Time to compile the step.
      step_seconds: Median wall-clock time of one step after compilation.
      collectives: Collective instructions in the compiled step (`count_collectives`).
      memory: XLA's memory analysis of the compiled step (None if the backend gives none).
      batch_bytes: Bytes of one device's rows of the batch (inputs, targets, weights).
    """

    name: str
    layout: str
    mesh: dict[str, int]
    losses: np.ndarray
    compile_seconds: float
    step_seconds: float
    collectives: dict[str, int] = dataclasses.field(default_factory=dict)
    memory: CompiledMemory | None = None
    batch_bytes: int = 0


def run_layout(
    model_config: ModelConfig,
    train_config: TrainConfig,
    batches: Sequence[Batch],
    *,
    mesh: Mapping[str, int] | None = None,
    layout: str = "2d",
) -> LayoutRun:
    """Train ``len(batches)`` steps with a `gopherlite.train.Trainer` on one mesh and layout.

    Args:
      model_config: The model.
      train_config: Seed, optimizer, batch size (must equal each batch's rows).
      batches: The global batches, in order.
      mesh: Degrees for `gopherlite.sharding.make_mesh` (missing axes are 1; one may be -1);
        None: the first device alone.
      layout: A `gopherlite.sharding.LAYOUTS` name.

    Returns:
      The run's losses and timings.
    """
    device_mesh = None if mesh is None else make_mesh(**{a: mesh.get(a, 1) for a in AXES})
    trainer = Trainer(model_config, train_config, mesh=device_mesh, layout=layout)
    compile_seconds = trainer.compile(batches[0])
    collectives = count_collectives(trainer.compiled_text())
    analysis = trainer.compiled_memory()
    memory = None
    if analysis is not None:
        memory = CompiledMemory(
            arguments=int(analysis.argument_size_in_bytes),
            outputs=int(analysis.output_size_in_bytes),
            aliased=int(analysis.alias_size_in_bytes),
            temporaries=int(analysis.temp_size_in_bytes),
        )
    results = list(steps(trainer, iter(batches), len(batches), timed=True))
    losses = [float(r.metrics["loss"]) for r in results]
    seconds = [r.seconds for r in results]
    degrees = {axis: int(trainer.mesh.shape[axis]) for axis in AXES}
    batch_ways = int(np.prod([degrees[axis] for axis in BATCH_AXES]))
    shape = ",".join(f"{a}={d}" for a, d in degrees.items() if d > 1)
    name = SINGLE_DEVICE if mesh is None else f"{layout} {shape or '1 device'}"
    return LayoutRun(
        name=name,
        layout=layout,
        mesh=degrees,
        losses=np.asarray(losses),
        compile_seconds=compile_seconds,
        step_seconds=float(np.median(seconds)),
        collectives=collectives,
        memory=memory,
        batch_bytes=sum(int(np.asarray(a).nbytes) for a in batches[0]) // batch_ways,
    )


def compare_layouts(
    model_config: ModelConfig,
    train_config: TrainConfig,
    batches: Sequence[Batch],
    runs: Sequence[tuple[str, Mapping[str, int]]],
) -> list[LayoutRun]:
    """Train the same batches on one device and under each (layout, mesh).

    Args:
      model_config: The model (every sharded dimension must divide its mesh axes).
      train_config: Shared training settings (same seed, so the same initial parameters).
      batches: The global batches, identical for every run.
      runs: ``(layout, degrees)`` pairs, e.g. ``[("2d", {"data": 2, "fsdp": 2, "tensor": 2})]``.

    Returns:
      The single-device run first, then one `LayoutRun` per entry of ``runs``.
    """
    results = [run_layout(model_config, train_config, batches)]
    for layout, mesh in runs:
        results.append(run_layout(model_config, train_config, batches, mesh=mesh, layout=layout))
    return results


def max_relative_difference(runs: Sequence[LayoutRun]) -> dict[str, float]:
    """Largest ``|loss − reference| / |reference|`` of each run against the first run.

    Args:
      runs: From `compare_layouts` (the first is the single-device reference).

    Returns:
      Run name → its largest relative difference over the steps.
    """
    reference = runs[0].losses
    return {
        run.name: float(np.max(np.abs(run.losses - reference) / np.abs(reference))) for run in runs
    }


def memory_comparison(
    model_config: ModelConfig, train_config: TrainConfig, runs: Sequence[LayoutRun]
) -> list[tuple[LayoutRun, MemoryEstimate]]:
    """Each run beside `gopherlite.costs.memory_per_device`'s estimate for its mesh and layout.

    The estimate uses the run's precision, sequence length and rows per data-parallel device;
    the chip only sets the capacity the estimate compares with, so any chip will do.

    Args:
      model_config: The model the runs trained.
      train_config: Their shared training settings.
      runs: From `compare_layouts` (each with its compiler memory analysis).

    Returns:
      ``(run, estimate)`` pairs, in the order of ``runs``.
    """
    seq_len = train_config.seq_len or model_config.max_seq_len
    pairs = []
    for run in runs:
        ways = int(np.prod([run.mesh[axis] for axis in BATCH_AXES]))
        estimate = memory_per_device(
            model_config, chip="h100", mesh=run.mesh, layout=run.layout,
            precision=train_config.precision, per_device_batch=train_config.batch_size // ways,
            seq_len=seq_len,
        )  # fmt: skip
        pairs.append((run, estimate))
    return pairs
