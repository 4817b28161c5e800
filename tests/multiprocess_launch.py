"""Start and reap the `jax.distributed` worker pairs of the multi-process tests.

Every worker runs with a clean ``XLA_FLAGS`` (it sets its own CPU device count), and
`finish` kills whatever is still running when it returns, so no process is left behind.
"""

import os
import pathlib
import socket
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for the coordinator)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_pair(worker: pathlib.Path, args: list[list[str]]) -> list[subprocess.Popen]:
    """Start one worker process per argument list (reap them with `finish`)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLA_FLAGS": ""}
    return [
        subprocess.Popen(
            [sys.executable, str(worker), *process_args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for process_args in args
    ]


def finish(procs: list[subprocess.Popen], timeout: float = 600) -> list[str]:
    """Wait for every process and return their outputs; kill any still running after."""
    try:
        return [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
