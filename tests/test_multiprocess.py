"""Two processes on localhost, joined by `jax.distributed` with 4 CPU devices each, train the
tiny preset with the same losses as one process (design.md Sec. 6), and save one sharded
checkpoint together that restores in a single process on one device under another layout."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
from flax import nnx

from gopherlite.checkpoint import Checkpointer
from gopherlite.train import Trainer
from tests.multiprocess_data import STEPS, TRAIN, batch_iterator, model_config

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_match_one(tmp_path):
    port = _free_port()
    outs = [tmp_path / f"p{i}.json" for i in range(2)]
    worker = ROOT / "tests" / "multiprocess_worker.py"
    procs = _launch_pair(worker, [[str(port), "2", str(i), "4", str(outs[i]), str(tmp_path / "run")]
                                  for i in range(2)])  # fmt: skip
    logs = _finish(procs)
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-3000:]
    results = [json.loads(o.read_text()) for o in outs]
    assert [r["devices"] for r in results] == [8, 8]
    assert [r["rows"] for r in results] == [[0, 4], [4, 8]]  # each loads only its half

    trainer = Trainer(model_config(), TRAIN)  # one process, one device
    data = batch_iterator()
    single = [float(trainer.train_step(next(data))["loss"]) for _ in range(STEPS)]
    for r in results:
        np.testing.assert_allclose(r["losses"], single, rtol=1e-5)

    # The two processes' checkpoint, restored in this one process on one device, "dp" layout.
    restored = Trainer(model_config(), TRAIN, layout="dp")
    checkpointer = Checkpointer(tmp_path / "run" / "checkpoints")
    state, meta = checkpointer.restore(restored.abstract_state())
    checkpointer.close()
    restored.load_state(state)
    assert restored.step == STEPS and meta["step"] == STEPS
    saved = np.load(tmp_path / "run" / "params.npz")
    params = jax.tree.leaves(nnx.state(restored.model, nnx.Param))
    assert len(params) == len(saved.files)
    for i, param in enumerate(params):
        np.testing.assert_array_equal(np.asarray(param), saved[f"arr_{i}"])  # bit for bit
    data.restore(meta["data_position"])  # the single run's iterator, back at the saved place
    next_loss = float(restored.train_step(next(data))["loss"])
    for r in results:
        np.testing.assert_allclose(r["next_loss"], next_loss, rtol=1e-5)


def _launch_pair(worker, args):
    """Start one worker process per argument list (never left behind: see `_finish`)."""
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


def _finish(procs, timeout=600):
    try:
        return [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_sigterm_to_one_process_stops_both_after_the_same_step(tmp_path):
    run_dir, outs = tmp_path / "run", [tmp_path / f"p{i}.json" for i in range(2)]
    port, worker = _free_port(), ROOT / "tests" / "multiprocess_train_worker.py"
    procs = _launch_pair(
        worker, [[str(port), str(i), str(run_dir), str(outs[i])] for i in range(2)]
    )
    metrics = run_dir / "metrics.jsonl"
    deadline = time.monotonic() + 300
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.05)
    procs[1].send_signal(signal.SIGTERM)  # only the second process is told
    logs = _finish(procs, timeout=120)
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 143, log[-3000:]
    stopped = [json.loads(o.read_text()) for o in outs]
    assert stopped[0]["step"] == stopped[1]["step"] >= 10, stopped  # the same step everywhere
    assert {s["signal"] for s in stopped} == {signal.SIGTERM}
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [str(stopped[0]["step"])]

    # The pair's checkpoint is consistent: it restores here, at the step both stopped after.
    restored = Trainer(model_config(), TRAIN, layout="dp")
    checkpointer = Checkpointer(run_dir / "checkpoints")
    state, meta = checkpointer.restore(restored.abstract_state())
    checkpointer.close()
    restored.load_state(state)
    assert restored.step == meta["step"] == stopped[0]["step"]
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] <= stopped[0]["step"]  # one writer
