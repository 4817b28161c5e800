"""Fail fast, with one clear line, when another process of a multi-process run dies.

A process whose peer was killed (a preempted VM, an out-of-memory kill) blocks in the next
collective. JAX's coordination service notices a process that stopped sending heartbeats only
after ``heartbeat_timeout_seconds`` (100 s by default) and then aborts every other process
from a C++ thread, with a stack trace. While `PeerWatch` is active, a background thread of each
process bumps its own counter in the coordination service's key-value store every ``interval``
seconds and reads everyone's; a peer whose counter has not moved for ``timeout`` seconds (on
this process's clock, so hosts' clocks need not agree), or a coordinator that no longer
answers, is taken as lost. This process then prints one line naming the lost process and where
the last checkpoint is, and exits with status 75 (``EX_TEMPFAIL``: relaunch every process with
the same command to resume), about ``timeout`` seconds after the loss.

A process that leaves the watch normally (or stopped by a signal, as all processes are) marks
itself done, so a peer finishing a little later is never taken for dead. One that leaves on an
error (a collective with a dead peer fails at once on CPUs) first waits up to ``timeout``
seconds for the watch to find a lost peer, then raises the error and stops beating, so its
peers stop too. A peer that has not beaten yet (still
compiling, say) is not judged. Each watch of a job uses its own keys, so a second training run
in the same job never reads the first one's counters.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import sys
import threading
import time

import jax

from gopherlite.train.interrupts import TrainingStoppedError

PEER_LOST_EXIT_STATUS = 75  # sysexits.h EX_TEMPFAIL: a temporary failure, try again
_PREFIX = "gopherlite/peers"


def _client():  # noqa: ANN202 - JAX's private client type
    from jax._src import distributed

    return distributed.global_state.client


class PeerWatch:
    """Exit this process soon after another process of the run is lost (multi-process only).

    With one process, or without `jax.distributed`, the context does nothing.

    Example:
      >>> with PeerWatch(pathlib.Path("runs/x/checkpoints")):
      ...     for result in steps(...): ...
    """

    _watches = 0  # watches entered by this process: the same sequence on every process

    def __init__(
        self,
        checkpoints: pathlib.Path | None,
        timeout: float = 10.0,
        interval: float = 1.0,
    ) -> None:
        """Args:
        checkpoints: The run's checkpoint folder, named in the message (None: none is kept).
        timeout: Seconds without a sign of life before a peer counts as lost.
        interval: Seconds between this process's heartbeats and checks.
        """
        self.checkpoints, self.timeout, self.interval = checkpoints, timeout, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: str | None = None

    def __enter__(self) -> PeerWatch:
        if jax.process_count() > 1 and _client() is not None:
            self._me, self._count = jax.process_index(), jax.process_count()
            PeerWatch._watches += 1
            self._keys = f"{_PREFIX}/{PeerWatch._watches}"
            self._thread = threading.Thread(target=self._run, name="gopherlite-peers", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type | None, *exc: object) -> None:
        if self._thread is None:
            return
        failed = kind is not None and not issubclass(kind, TrainingStoppedError)
        if failed:
            # A collective whose peer died raises here (Gloo on CPUs) or hangs (NCCL): give
            # the watch time to see the loss and exit with its line; any other error is raised
            # on after that, with its traceback, and the peers stop since this one stops beating.
            self._thread.join(self.timeout + 3 * self.interval)
        self._stop.set()
        self._thread.join()
        if failed:
            return
        with contextlib.suppress(Exception):  # a coordinator that is gone needs no telling
            _client().key_value_set(f"{self._keys}/done/{self._me}", "1", allow_overwrite=True)

    def _run(self) -> None:
        client = _client()
        seen: dict[str, tuple[bytes, float]] = {}
        while not self._stop.wait(self.interval):
            now = time.monotonic()
            try:
                client.key_value_increment(f"{self._keys}/alive/{self._me}", 1)
                beats = dict(client.key_value_dir_get_bytes(f"{self._keys}/alive/"))
                done = {
                    k.rsplit("/", 1)[-1] for k, _ in client.key_value_dir_get(f"{self._keys}/done/")
                }
            except Exception as err:  # gRPC errors: an unreachable coordinator
                if self._stop.is_set():
                    return
                self._lose(f"the coordinator (process 0) no longer answers ({type(err).__name__})")
                return
            for peer in range(self._count):
                key = f"{self._keys}/alive/{peer}"
                if peer == self._me or str(peer) in done or key not in beats:
                    continue
                value = beats[key]
                if key not in seen or seen[key][0] != value:
                    seen[key] = (value, now)
                elif now - seen[key][1] > self.timeout:
                    self._lose(f"process {peer} sent no sign of life for {self.timeout:.0f} s")
                    return

    def _lose(self, why: str) -> None:
        self.lost = why
        kept = (
            f"The newest complete checkpoint in {self.checkpoints} is intact; relaunch every "
            "process with the same command to resume."
            if self.checkpoints is not None
            else "Nothing was saved (no run folder)."
        )
        print(
            f"Process {self._me} of {self._count} stops: {why}. {kept}",
            file=sys.stderr,
            flush=True,
        )
        # os._exit, not sys.exit: the main thread may be blocked in a collective that never
        # returns, so a normal exit could not happen.
        os._exit(PEER_LOST_EXIT_STATUS)
