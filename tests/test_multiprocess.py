"""Two processes on localhost, joined by `jax.distributed` with 4 CPU devices each, stop
together (a signal to one of them) and fail fast together (one of them killed), leaving a
checkpoint that restores (design.md Sec. 6, issue 14). The pair's losses against one process
and the restore of its checkpoint on 8 devices are in tests/multidevice/."""

import json
import signal
import time

from gopherlite.checkpoint import Checkpointer
from gopherlite.train import Trainer
from tests.multiprocess_data import TRAIN, model_config
from tests.multiprocess_launch import ROOT, finish, free_port, launch_pair


def test_sigterm_to_one_process_stops_both_after_the_same_step(tmp_path):
    run_dir, outs = tmp_path / "run", [tmp_path / f"p{i}.json" for i in range(2)]
    port, worker = free_port(), ROOT / "tests" / "multiprocess_train_worker.py"
    procs = launch_pair(worker, [[str(port), str(i), str(run_dir), str(outs[i])] for i in range(2)])
    metrics = run_dir / "metrics.jsonl"
    deadline = time.monotonic() + 300
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.05)
    procs[1].send_signal(signal.SIGTERM)  # only the second process is told
    logs = finish(procs, timeout=120)
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
