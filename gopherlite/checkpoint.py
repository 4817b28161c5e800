"""Checkpoints with Orbax: the train state (model and optimizer) plus JSON metadata.

Each step is one folder ``DIR/checkpoints/<step>/`` with two items: ``state`` (the arrays,
written by Orbax's standard handler, sharded when the arrays are) and ``meta`` (JSON: configs,
data position, tokenizer checksum). Orbax writes into a temporary folder and renames it only
when every item is complete, so a process killed mid-save leaves the previous step intact.

With ``async_save`` (the trainer's default), `Checkpointer.save` returns once the arrays are
copied to host memory, and Orbax writes them to disk in a background thread while training
goes on. The next train step donates the state's device buffers; it never changes what is
written, because the host copy is taken before `save` returns (on a CPU, where host memory and
device memory are one, a buffer the writer still reads is not donated: XLA copies instead).
tests/test_checkpoint.py checks it: save, step, restore, compare.
"""

from __future__ import annotations

import pathlib
from typing import Any

import jax
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
    """A checkpoint is missing, damaged, or belongs to a different run."""


class Checkpointer:
    """Save and restore numbered checkpoints in one folder, keeping the newest few.

    Example:
      >>> ckpt = Checkpointer("runs/tiny/checkpoints", keep=3)
      >>> ckpt.save(100, state, {"step": 100})
      >>> state, meta = ckpt.restore(abstract_state)
    """

    def __init__(
        self, directory: str | pathlib.Path, keep: int = 3, *, async_save: bool = False
    ) -> None:
        """Open (or create on first save) a checkpoint folder.

        Args:
          directory: Folder holding one sub-folder per saved step.
          keep: How many of the newest checkpoints to keep; older ones are deleted.
          async_save: Write to disk in the background (`save` returns after the copy to host
            memory); `close`, `wait` and every read wait for the write to finish.
        """
        self.directory = pathlib.Path(directory).absolute()
        self.async_save = async_save
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True, enable_async_checkpointing=async_save
        )
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=options,
            item_handlers={
                "state": ocp.StandardCheckpointHandler(),
                "meta": ocp.JsonCheckpointHandler(),
            },
        )

    def latest_step(self) -> int | None:
        """The newest complete step, or None when there is none (waits for a pending save)."""
        self.wait()
        self._manager.reload()
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        """Every complete step, oldest first (waits for a pending save)."""
        self.wait()
        self._manager.reload()
        return sorted(self._manager.all_steps())

    def save(self, step: int, state: Any, meta: dict[str, Any]) -> None:
        """Write ``state`` and ``meta`` as checkpoint ``step`` (atomically; in the background
        with ``async_save``, after waiting for the previous save).

        Args:
          step: Step number (the folder's name).
          state: A pytree of arrays (e.g. an `nnx.State`).
          meta: JSON-serialisable metadata.
        """
        self._manager.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)
            ),
            force=True,
        )
        if not self.async_save:
            self.wait()

    def wait(self) -> None:
        """Block until a background save has been written completely."""
        self._manager.wait_until_finished()

    def read_meta(self, step: int | None = None) -> dict[str, Any]:
        """Read only a checkpoint's metadata.

        Args:
          step: Step to read; None for the latest.

        Returns:
          The metadata dict.
        """
        result = self._read(step, ocp.args.Composite(meta=ocp.args.JsonRestore()))
        return dict(result.meta)

    def restore(self, abstract_state: Any, step: int | None = None) -> tuple[Any, dict[str, Any]]:
        """Restore a checkpoint into the structure (and shardings) of ``abstract_state``.

        Args:
          abstract_state: Pytree of `jax.ShapeDtypeStruct` (with ``sharding`` set to place the
            arrays on a mesh) or of arrays with the target shapes.
          step: Step to restore; None for the latest.

        Returns:
          ``(state, meta)``.
        """
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
        args = ocp.args.Composite(
            state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore()
        )
        result = self._read(step, args)
        return result.state, dict(result.meta)

    def _read(self, step: int | None, args: ocp.args.Composite, attempts: int = 3) -> Any:
        """Restore ``args`` from a step; the latest one is re-resolved if it vanishes mid-read.

        A reader (``eval``, ``sample``) may run while a trainer writes to the same folder and
        deletes all but its newest ``keep`` checkpoints; the step being read can then disappear
        under the reader. That is not damage: for the latest step the read is retried on the
        new latest, and for a named step the error says what happened.
        """
        for attempt in range(attempts):  # the last attempt returns or raises
            resolved = self._resolve(step)
            try:
                return self._manager.restore(resolved, args=args)
            except Exception as err:  # Orbax raises many types for damaged files
                if resolved in self.all_steps():
                    raise self._damaged(resolved, err) from err
                if step is not None or attempt == attempts - 1:
                    raise CheckpointError(
                        f"Checkpoint step {resolved} in {self.directory} was deleted while it "
                        "was being read (a trainer running on this folder keeps only its "
                        f"newest checkpoints); read again, or pass one of {self.all_steps()}."
                    ) from err
        raise CheckpointError(f"No readable checkpoint in {self.directory}.")  # attempts < 1

    def close(self) -> None:
        """Finish pending work and release Orbax's resources."""
        self._manager.close()

    def _resolve(self, step: int | None) -> int:
        steps = self.all_steps()
        if not steps:
            raise CheckpointError(
                f"No checkpoint in {self.directory}; train first (python -m gopherlite train "
                "--out DIR) and pass that DIR."
            )
        if step is None:
            return steps[-1]
        if step not in steps:
            raise CheckpointError(
                f"No checkpoint for step {step} in {self.directory}; have {steps}."
            )
        return step

    def _damaged(self, step: int, err: Exception) -> CheckpointError:
        earlier = [s for s in self.all_steps() if s < step]
        hint = (
            f"restore an earlier step ({', '.join(map(str, earlier))}) or move the folder away"
            if earlier
            else "move the folder away and train again"
        )
        reason = str(err).splitlines()[0] if str(err) else ""
        return CheckpointError(
            f"Checkpoint step {step} in {self.directory} could not be read; it is damaged or "
            f"incomplete ({type(err).__name__}: {reason[:200]}). Nothing was overwritten: {hint}."
        )
