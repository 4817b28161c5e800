"""One live trainer per run folder: a lock file naming the host and process that holds it.

Two trainers writing checkpoints and metrics into one folder corrupt each other's history, so
`RunLock` takes ``DIR/.lock`` with an exclusive create (atomic on local and network file
systems) and removes it on exit. A lock left by a process that died without cleaning up (``kill
-9``, a crashed VM) is recognised when it names this host and a process that no longer runs;
it is taken over with a message. A lock held by a live process, or by another host (whose
processes cannot be checked from here), refuses the second trainer with one line that says how
to proceed. Reading a folder (``eval``, ``sample``) takes no lock.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import pathlib
import socket
import sys
from typing import Any

import jax

LOCK_FILE = ".lock"


class RunLockedError(RuntimeError):
    """The run folder is held by another live trainer."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


class RunLock:
    """Hold a run folder for one trainer while the context is active.

    Example:
      >>> with RunLock("runs/tiny"):
      ...     train(...)
    """

    def __init__(self, directory: str | pathlib.Path) -> None:
        """Prepare to lock ``directory`` (created if missing when the lock is taken).

        Args:
          directory: The run folder.
        """
        self.path = pathlib.Path(directory) / LOCK_FILE
        self.held = False

    def _owner(self) -> dict[str, Any]:
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump(self._owner(), f)
        return True

    def acquire(self) -> None:
        """Take the lock, taking over a stale one.

        Raises:
          RunLockedError: another live trainer (or one on another host) holds the folder.
          NotADirectoryError: the folder's path is a file.
          PermissionError: the folder cannot be written.
        """
        folder = self.path.parent
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(
                f"The run folder {folder} is a file, not a folder; choose another --out (a "
                "new or existing run folder)."
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            created = self._create()
        except PermissionError:
            raise PermissionError(
                f"Cannot write to the run folder {folder} (permission denied); choose an --out "
                "you can write to."
            ) from None
        if created:
            self.held = True
            return
        try:
            owner = json.loads(self.path.read_text())
        except (OSError, ValueError):
            owner = {}
        host, pid = owner.get("host", "?"), int(owner.get("pid", -1))
        if host == socket.gethostname() and pid == os.getpid():
            return  # this process already holds it (a nested lock; the outer one releases)
        if host == socket.gethostname() and pid > 0 and not _alive(pid):
            self.path.unlink(missing_ok=True)
            if self._create():
                print(
                    f"Took over {self.path}: it was left by process {pid}, which no longer runs.",
                    file=sys.stderr,
                )
                self.held = True
                return
            owner = json.loads(self.path.read_text())
            host, pid = owner.get("host", "?"), int(owner.get("pid", -1))
        raise RunLockedError(
            f"{self.path.parent} is being trained by process {pid} on host {host} (since "
            f"{owner.get('since', '?')}); wait for it to finish, stop it, or use another --out "
            f"(if that process is gone, delete {self.path})."
        )

    def release(self) -> None:
        """Remove the lock file if this object holds it."""
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold_run_folder(
    directory: str | pathlib.Path | None,
) -> RunLock | contextlib.nullcontext[None]:
    """The lock a trainer takes on its run folder: process 0's `RunLock`, else nothing.

    With several processes writing one run (``jax.distributed``), process 0 stands for them;
    without a folder there is nothing to lock.

    Args:
      directory: The run folder, or None.

    Returns:
      A context manager.
    """
    if directory is None or jax.process_index() != 0:
        return contextlib.nullcontext()
    return RunLock(directory)
