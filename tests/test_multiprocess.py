"""Two processes on localhost, joined by `jax.distributed` with 4 CPU devices each, stop
together (a signal to one of them) and fail fast together (one of them killed), leaving a
checkpoint that restores (design.md Sec. 6, issue 14). The pair's losses against one process
and the restore of its checkpoint on 8 devices are in tests/multidevice/."""

import json
import signal
import time

from gopherlite.checkpoint import Checkpointer
from gopherlite.train import Trainer
from gopherlite.train.peers import PEER_LOST_EXIT_STATUS
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


def _wait_for_step(run_dir, step, procs, seconds=300):
    """Until the metrics log has reached ``step`` and a checkpoint exists (both still alive)."""
    metrics, deadline = run_dir / "metrics.jsonl", time.monotonic() + seconds
    while True:
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        lines = metrics.read_text().splitlines() if metrics.exists() else []
        if lines and json.loads(lines[-1])["step"] >= step and _saved_steps(run_dir):
            return
        time.sleep(0.05)


def _saved_steps(run_dir):
    folder = run_dir / "checkpoints"
    return sorted(int(p.name) for p in folder.glob("*") if p.name.isdigit())


def test_a_killed_process_stops_its_peer_in_seconds_and_the_relaunched_pair_resumes(tmp_path):
    run_dir, outs = tmp_path / "run", [tmp_path / f"p{i}.json" for i in range(2)]
    worker = ROOT / "tests" / "multiprocess_train_worker.py"

    def launch():  # 40 steps, a checkpoint every 10
        port = free_port()
        return launch_pair(
            worker, [[str(port), str(i), str(run_dir), str(outs[i]), "40", "10"] for i in range(2)]
        )

    # kill -9 process 1: process 0 names it and exits 75 within seconds, not JAX's 60 s
    # heartbeat (the worker's setting) and not hung in the collective it was waiting in.
    procs = launch()
    _wait_for_step(run_dir, 15, procs)
    procs[1].kill()
    start = time.monotonic()
    survivor_log = procs[0].communicate(timeout=60)[0]
    waited = time.monotonic() - start
    finish(procs)
    assert procs[0].returncode == PEER_LOST_EXIT_STATUS, survivor_log[-3000:]
    assert waited < 30, waited
    lines = [line for line in survivor_log.splitlines() if line.startswith("Process 0 of 2 stops")]
    assert len(lines) == 1, survivor_log[-3000:]
    assert "process 1 sent no sign of life" in lines[0]
    assert str(run_dir / "checkpoints") in lines[0] and "relaunch" in lines[0]
    first_kill = _saved_steps(run_dir)[-1]
    logged = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])["step"]
    print(f"survivor of a killed peer exited after {waited:.1f} s")

    # kill -9 the coordinator (process 0) of the relaunched pair: JAX itself ends process 1 at
    # once (its error poll fails), with its own message; the checkpoints stay restorable.
    procs = launch()
    _wait_for_step(run_dir, logged + 5, procs)  # past what the first pair logged
    procs[0].kill()
    start = time.monotonic()
    survivor_log = procs[1].communicate(timeout=60)[0]
    waited = time.monotonic() - start
    finish(procs)
    assert procs[1].returncode != 0 and waited < 30, (waited, survivor_log[-3000:])
    assert "another task died" in survivor_log or "process 0" in survivor_log
    second_kill = _saved_steps(run_dir)[-1]
    assert second_kill >= first_kill

    # The pair relaunched once more resumes from the newest checkpoint and finishes.
    procs = launch()
    logs = finish(procs, timeout=300)
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-3000:]
    ended = [json.loads(o.read_text()) for o in outs]
    assert [e["resumed_from"] for e in ended] == [second_kill] * 2
    assert [e["step"] for e in ended] == [40, 40]
    records = (run_dir / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in records]
    assert steps == sorted(set(steps)) and steps[-1] == 40  # no step logged twice
