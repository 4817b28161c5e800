"""What the training loop does besides stepping, each on its own schedule.

The loop (`gopherlite.train.loop.steps`) yields one `StepResult` per optimiser step and calls
every hook with it. A hook keeps its own count: `MetricsLog` writes a record whenever training
metrics are due (``log_every``) or a held-out evaluation is due (``eval_every``), so the two
schedules are independent; `Checkpoints` saves every ``checkpoint_every`` steps; `Progress`
moves a progress bar. A notebook's live plot is a callback on the records `MetricsLog` writes.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from tqdm.auto import tqdm

from gopherlite.evaluate import bits_per_byte

Callback = Callable[[dict[str, Any]], None]


@dataclasses.dataclass(frozen=True)
class StepResult:
    """One optimiser step, as the loop yields it.

    Attributes:
      step: The step just taken (1-based: the optimizer's step count after it).
      last: Whether this is the run's final step.
      metrics: The step's on-device metrics (``loss``, ``grad_norm``, ``learning_rate``).
      seconds: Wall-clock time of the step when the loop was asked to time steps (each then
        waited for), else None (steps are dispatched asynchronously).
    """

    step: int
    last: bool
    metrics: dict[str, jax.Array]
    seconds: float | None = None


def due(every: int, result: StepResult) -> bool:
    """Whether a hook run every ``every`` steps (0: never) fires at this step.

    Args:
      every: The hook's period in steps; 0 or less turns it off.
      result: The step.

    Returns:
      True on multiples of ``every``.
    """
    return every > 0 and result.step % every == 0


class MetricsLog:
    """Turn steps into metric records: training metrics, throughput, MFU and held-out scores.

    A record is written when training metrics are due (every ``log_every`` steps and at the
    last step) or a held-out evaluation is (every ``eval_every`` steps); it always carries the
    mean training loss of the steps since the previous record, and ``eval_*`` fields when the
    evaluation was due. Records go to ``history``, to ``path`` (one JSON line each) and to each
    callback.
    """

    def __init__(
        self,
        *,
        log_every: int,
        eval_every: int,
        held_out: Callable[[], dict[str, Any]] | None,
        bytes_per_token: float,
        tokens_per_step: int,
        flops_per_token: float,
        peak_flops: tuple[float, str],
        compile_seconds: float,
        path: pathlib.Path | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        """Set the schedules and what each record is computed from.

        Args:
          log_every: Steps between training-metric records.
          eval_every: Steps between held-out evaluations (0: none during training).
          held_out: Returns the held-out ``eval_*`` fields of the current model (None: no
            held-out data).
          bytes_per_token: UTF-8 bytes per training token (for bits per byte).
          tokens_per_step: Tokens in one global batch.
          flops_per_token: Training FLOPs per token (`ModelConfig.flops_per_token`).
          peak_flops: ``(FLOP/s, source)`` of the devices (`gopherlite.hardware.peak_flops`).
          compile_seconds: Time the step took to compile (recorded in every line).
          path: The run's ``metrics.jsonl`` (None: keep records in memory only).
          callbacks: Called with every record.
        """
        self.log_every, self.eval_every, self.held_out = log_every, eval_every, held_out
        self.bytes_per_token = bytes_per_token
        self.tokens_per_step, self.flops_per_token = tokens_per_step, flops_per_token
        self.peak, self.peak_source = peak_flops
        self.compile_seconds = compile_seconds
        self.path, self.callbacks = path, tuple(callbacks)
        self.history: list[dict[str, Any]] = []
        self._pending: list[dict[str, jax.Array]] = []
        self._clock = time.perf_counter()

    def __call__(self, result: StepResult) -> None:
        """Collect the step's metrics; write a record if one is due.

        Args:
          result: The step.
        """
        self._pending.append(result.metrics)
        evaluate_now = self.held_out is not None and due(self.eval_every, result)
        if not (due(self.log_every, result) or result.last or evaluate_now):
            return
        fetched = jax.device_get(self._pending)
        elapsed = time.perf_counter() - self._clock
        loss = float(np.mean([m["loss"] for m in fetched]))
        tokens_per_second = len(fetched) * self.tokens_per_step / elapsed
        record = {
            "step": result.step,
            "loss": loss,
            # One token spans bytes_per_token bytes of text on average.
            "bits_per_byte": bits_per_byte(loss, num_tokens=1, num_bytes=self.bytes_per_token),
            "tokens_per_second": tokens_per_second,
            "mfu": tokens_per_second * self.flops_per_token / self.peak,
            "learning_rate": float(fetched[-1]["learning_rate"]),
            "grad_norm": float(fetched[-1]["grad_norm"]),
            "peak_flops_source": self.peak_source,
            "compile_seconds": self.compile_seconds,
        }
        if evaluate_now:
            record |= self.held_out()
        self._write(record)
        self._pending, self._clock = [], time.perf_counter()

    def _write(self, record: dict[str, Any]) -> None:
        self.history.append(record)
        if self.path is not None:
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")
        for callback in self.callbacks:
            callback(record)


class Checkpoints:
    """Save the run every ``every`` steps (the loop saves the final step itself)."""

    def __init__(self, every: int, save: Callable[[], None]) -> None:
        """Args:
        every: Steps between checkpoints.
        save: Writes a checkpoint of the current step.
        """
        self.every, self.save = every, save

    def __call__(self, result: StepResult) -> None:
        """Save if this step is a multiple of ``every``.

        Args:
          result: The step.
        """
        if due(self.every, result):
            self.save()


class Progress:
    """A progress bar over the run's steps (notebook-aware, via tqdm), showing the last loss."""

    def __init__(self, total: int, initial: int, log: MetricsLog | None, enabled: bool) -> None:
        """Args:
        total: Steps of the whole run.
        initial: Steps already done (a resumed run).
        log: Where the last record's loss and bits per byte are read from.
        enabled: False hides the bar.
        """
        self.bar = tqdm(total=total, initial=initial, disable=not enabled, desc="train")
        self.log, self._shown = log, 0

    def __call__(self, result: StepResult) -> None:
        """Advance by one step; show the newest record's numbers.

        Args:
          result: The step.
        """
        if self.log is not None and len(self.log.history) > self._shown:
            record = self.log.history[-1]
            self.bar.set_postfix(loss=f"{record['loss']:.3f}", bpb=f"{record['bits_per_byte']:.3f}")
            self._shown = len(self.log.history)
        self.bar.update(1)
        if result.last:
            self.bar.close()
