"""Stop at a step boundary on SIGTERM or SIGINT, so a checkpoint of that step can be written.

A preempted Colab or cloud TPU VM gets SIGTERM; Ctrl-C and a notebook's "interrupt kernel" send
SIGINT. Killing the process there loses everything since the last checkpoint, and a
KeyboardInterrupt raised in the middle of a donated step can leave no valid state at all. While
`StopSignals` is active both signals only set a flag; the loop reads it after each step, saves,
and raises `TrainingStoppedError`. A second signal while the checkpoint is written is recorded and
otherwise ignored, so the save always finishes.

With several processes (`jax.distributed`), a signal may reach some hosts and not others (a
scheduler's SIGTERM, or one Ctrl-C): `StopSignals.should_stop` gathers every process's flag
after each step, so all of them stop after the same step and write one consistent checkpoint.
"""

from __future__ import annotations

import signal
import threading
import types
from typing import Any

import jax
import numpy as np

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TrainingStoppedError(Exception):
    """Training stopped on a signal after a checkpoint of the last finished step was written.

    Attributes:
      step: The step the run stopped after (the checkpoint's step).
      signum: The signal that stopped it.
      where: Where the checkpoint is (None for a run without a folder).
    """

    def __init__(self, step: int, signum: int, where: str | None) -> None:
        self.step, self.signum, self.where = step, signum, where
        name = signal.Signals(signum).name
        saved = f"checkpoint of step {step} saved in {where}" if where else "nothing saved"
        super().__init__(f"stopped by {name} after step {step}; {saved}")

    @property
    def exit_status(self) -> int:
        """The shell's convention for death by a signal (128 + its number: 143, 130)."""
        return 128 + self.signum


class StopSignals:
    """While active, SIGTERM and SIGINT request a stop instead of ending the process.

    Handlers can only be installed from the main thread; elsewhere (a training thread) the
    context does nothing and the signals keep their usual effect.

    Example:
      >>> with StopSignals() as stop:
      ...     for result in steps(...):
      ...         if stop.should_stop():
      ...             save(); raise TrainingStoppedError(...)
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: types.FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def should_stop(self) -> bool:
        """Whether any process has been asked to stop (every process must call this per step).

        Returns:
          True once a signal has arrived here or, with several processes, at any of them.
        """
        if jax.process_count() == 1:
            return self.signum is not None
        from jax.experimental import multihost_utils

        mine = np.int32(self.signum or 0)
        everyone = multihost_utils.process_allgather(mine)
        if self.signum is None and everyone.any():
            self.signum = int(everyone[everyone > 0][0])
        return bool(everyone.any())
