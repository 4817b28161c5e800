"""The jitted, state-donating train step on a mesh (G Sec. 3.2, 3.3; App. C for the fp32 loss)."""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh

from gopherlite.config import ModelConfig
from gopherlite.data.batches import Batch
from gopherlite.hardware import device_memory_bytes
from gopherlite.nn import GopherLM
from gopherlite.precision import get_policy, rounding_key
from gopherlite.sharding import (
    Layout,
    batch_sharding,
    get_layout,
    local_batch_rows,
    mesh_or_first_device,
    put_batch,
    state_shardings,
)
from gopherlite.train.config import TrainConfig, build_model_and_optimizer, learning_rate_schedule
from gopherlite.train.loss import fused_cross_entropy


class Trainer:
    """A model, its optimizer and one compiled, state-donating train step.

    The model and optimizer are split once into a static graph and a state pytree. The state
    is created directly in its sharded layout (shapes from `nnx.eval_shape`, shardings from the
    layout's rules, then a jitted initialiser with those ``out_shardings``), so no device ever
    holds an unsharded copy. The step is a pure ``jax.jit`` function of (state, batch) with
    explicit shardings that donates the old state, so parameters are updated in place.
    """

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        *,
        mesh: Mesh | None = None,
        layout: str | Layout = "2d",
    ) -> None:
        """Build the model (seeded by ``train_config.seed``) and the optimizer on a mesh.

        Args:
          model_config: The model's shape.
          train_config: How to train it.
          mesh: Device mesh (`gopherlite.sharding.make_mesh`); None means the first device.
          layout: Name of a `gopherlite.sharding.LAYOUTS` entry, or a `Layout`.
        """
        # The policy's dtypes are part of the model (and of every checkpoint's metadata).
        self.model_config = get_policy(train_config.precision).apply_to(model_config)
        self.train_config = train_config
        model_config = self.model_config
        self.peak_learning_rate = train_config.learning_rate
        self.seq_len = train_config.seq_len or model_config.max_seq_len
        self.schedule = learning_rate_schedule(train_config, self.peak_learning_rate)
        self.mesh = mesh_or_first_device(mesh)
        self.layout = get_layout(layout) if isinstance(layout, str) else layout

        def build() -> tuple[GopherLM, nnx.Optimizer]:
            return build_model_and_optimizer(model_config, train_config)

        self.graphdef, abstract = nnx.split(nnx.eval_shape(build))
        self.state_shardings = state_shardings(abstract, self.mesh, self.layout)
        self.batch_sharding = batch_sharding(self.mesh)
        self.local_rows = local_batch_rows(self.batch_sharding, train_config.batch_size)
        self.state = jax.jit(lambda: nnx.state(build()), out_shardings=self.state_shardings)()
        self._step = jax.jit(
            self._pure_step,
            in_shardings=(self.state_shardings, self.batch_sharding),
            out_shardings=(self.state_shardings, None),
            donate_argnums=0,
        )

    @property
    def step(self) -> int:
        """Optimiser steps taken so far."""
        _, optimizer = nnx.merge(self.graphdef, self.state)
        return int(optimizer.step[...])

    @property
    def model(self) -> GopherLM:
        """The current model (its arrays are donated, so it is valid until the next step)."""
        model, _ = nnx.merge(self.graphdef, self.state)
        return model

    def abstract_state(self) -> Any:
        """Shapes, dtypes and shardings of the train state (the target for a restore).

        Restoring into this target places every array on this trainer's mesh, whatever mesh
        the checkpoint was written from.
        """
        return jax.tree.map(
            lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
            self.state,
            self.state_shardings,
        )

    def load_state(self, state: Any) -> None:
        """Replace the train state (e.g. with one restored from a checkpoint).

        Args:
          state: A pytree with the structure of ``self.state``.
        """
        self.state = state

    def train_step(self, batch: Batch) -> dict[str, jax.Array]:
        """One optimiser step on a batch; returns on-device metrics (no host sync).

        Args:
          batch: This process's rows (``self.local_rows``) of the inputs, targets and weights;
            on a single host, the whole ``[B, L]`` batch.

        Returns:
          ``loss`` (mean nats per target), ``grad_norm`` and ``learning_rate``.
        """
        with jax.set_mesh(self.mesh):
            self.state, metrics = self._step(self.state, self.put(batch))
        return metrics

    def timed_step(self, batch: Batch) -> tuple[dict[str, jax.Array], float]:
        """One optimiser step, waited for, with its wall-clock time (for studies and the bench).

        The clock stops when both the metrics and the new state are ready, so the time covers
        the whole update and not only its dispatch.

        Args:
          batch: As for `train_step`.

        Returns:
          The step's metrics (ready on the device) and the seconds it took.
        """
        start = time.perf_counter()
        metrics = self.train_step(batch)
        jax.block_until_ready((metrics, self.state))
        return metrics, time.perf_counter() - start

    def put(self, batch: Batch) -> Batch:
        """Assemble the global, sharded batch from this process's rows.

        Args:
          batch: This process's rows.

        Returns:
          The batch as global `jax.Array`s split over the mesh's data axes.
        """
        size = self.train_config.batch_size
        start, stop = self.local_rows
        if batch.inputs_BxL.shape[0] != stop - start:
            raise ValueError(
                f"Got a batch of {batch.inputs_BxL.shape[0]} rows, but this process supplies rows "
                f"{start}..{stop - 1} of the global batch of {size} (TrainConfig.batch_size); "
                "make the data iterator's batch size match."
            )
        return Batch(*(put_batch(self.batch_sharding, a, size) for a in batch))

    def compile(self, batch: Batch) -> float:
        """Compile the step ahead of time for this batch shape.

        Args:
          batch: An example batch (only its shapes are used).

        Returns:
          Seconds spent compiling.
        """
        start = time.perf_counter()
        with jax.set_mesh(self.mesh):
            self._step = self._step.lower(self.state, self.put(batch)).compile()
        self._check_fits(self._step)
        return time.perf_counter() - start

    def _check_fits(self, compiled: jax.stages.Compiled) -> None:
        """Refuse, before running it, a step that needs more memory than the devices have."""
        analysis = compiled.memory_analysis()
        local = [d for d in self.mesh.devices.flat if d.process_index == jax.process_index()]
        available = device_memory_bytes(local[0])
        if analysis is None or available is None:
            return
        # Bytes the step allocates beyond its (donated, reused) inputs, per device.
        new = analysis.temp_size_in_bytes + analysis.output_size_in_bytes
        new -= analysis.alias_size_in_bytes
        if local[0].platform == "cpu":  # the state is already in host memory, shared by all
            need, where = new * len(local), "this host has available"
        else:
            need, where = new + analysis.argument_size_in_bytes, f"each {local[0].device_kind} has"
        if need > available:
            B, L = self.train_config.batch_size, self.seq_len
            raise ValueError(
                f"One train step needs {need / 2**30:.1f} GiB (XLA's memory analysis of the "
                f"compiled step) but {where} {available / 2**30:.1f} GiB; use a shorter "
                f"sequence (--seq-len, now {L}), a smaller batch (--batch-size, now {B}), "
                "ModelConfig(remat=True), or more devices."
            )

    def compiled_memory(self) -> Any:
        """XLA's memory analysis of the compiled train step (bytes per device).

        Returns:
          The analysis (``argument_size_in_bytes``, ``output_size_in_bytes``,
          ``temp_size_in_bytes``, ``alias_size_in_bytes``, ...), or None where the backend
          gives none.
        """
        if not isinstance(self._step, jax.stages.Compiled):
            raise RuntimeError("The train step is not compiled yet: call compile(batch) first.")
        return self._step.memory_analysis()

    def compiled_text(self) -> str:
        """The optimised HLO of the train step, as XLA compiled it (for profiling).

        Returns:
          The HLO text of the program `compile` produced.
        """
        if not isinstance(self._step, jax.stages.Compiled):
            raise RuntimeError("The train step is not compiled yet: call compile(batch) first.")
        return self._step.as_text()

    def step_jaxpr(self, batch: Batch) -> jax.extend.core.ClosedJaxpr:
        """The train step traced to a jaxpr (forward, backward and update), nothing run.

        Args:
          batch: An example batch (only its shapes are used).

        Returns:
          The closed jaxpr of one step on this batch shape (e.g. to list its matmuls).
        """
        with jax.set_mesh(self.mesh):
            return jax.make_jaxpr(self._pure_step)(self.state, self.put(batch))

    def _pure_step(self, state: Any, batch: Batch) -> tuple[Any, dict[str, jax.Array]]:
        model, optimizer = nnx.merge(self.graphdef, state)
        step = optimizer.step[...]

        def loss_fn(model: GopherLM) -> jax.Array:
            # Logits chunk by chunk, the loss's gradient formed with them (G App. C: float32).
            total, weight = fused_cross_entropy(
                model.final_hidden(batch.inputs_BxL),
                model.unembedding(),
                batch.targets_BxL,
                batch.weights_BxL,
                self.train_config.label_smoothing,
                self.train_config.loss_chunk,
            )
            return total / jnp.maximum(weight, 1.0)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        # Stochastic rounding's noise is a function of (seed, step): resuming redraws it exactly.
        optimizer.update(model, grads, key=rounding_key(self.train_config.seed, step))
        metrics = {
            "loss": loss,
            "grad_norm": optax.tree.norm(jax.tree.map(lambda g: g.astype(jnp.float32), grads)),
            "learning_rate": self.schedule(step),
        }
        return nnx.state((model, optimizer)), metrics
