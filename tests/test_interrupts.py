"""Nothing lost: SIGTERM and SIGINT save at the next step, and one trainer holds a run folder.

Each run is a real ``python -m gopherlite train`` process on the tiny preset (32-token windows,
4 rows), signalled once its metrics log shows step 30 of 160.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

from gopherlite.cli import main
from gopherlite.runlock import LOCK_FILE, RunLock, RunLockedError
from gopherlite.train.interrupts import StopSignals, TrainingStoppedError

ROOT = pathlib.Path(__file__).resolve().parents[1]
TOKENIZER = str(ROOT / "data" / "tokenizer_4k.model")
STEPS = 160
FLAGS = ["--preset", "tiny", "--seq-len", "32", "--batch-size", "4", "--log-every", "10",
         "--eval-every", "1000", "--checkpoint-every", "1000", "--no-progress",
         "--tokenizer", TOKENIZER]  # fmt: skip


def _train(out, steps=STEPS, *extra):
    argv = [sys.executable, "-m", "gopherlite", "train", "--out", str(out), "--steps", str(steps)]
    return subprocess.Popen(
        [*argv, *FLAGS, *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _records(out):
    path = out / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_for_step(process, out, step, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["step"] >= step for r in _records(out)):
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    pytest.fail(f"no step {step} within {timeout} s")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    process = _train(out)
    assert process.wait(timeout=600) == 0, process.communicate()
    return _records(out)[-1]


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_saves_the_next_step_and_resuming_matches_an_uninterrupted_run(
    tmp_path, uninterrupted, signum, status
):
    out = tmp_path / "run"
    process = _train(out)
    _wait_for_step(process, out, 30)
    sent = time.monotonic()
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    seconds = time.monotonic() - sent
    assert process.returncode == status, err
    assert seconds < 15, seconds
    line = err.strip().splitlines()[-1]
    stopped = int(line.split("after step ")[1].split(";")[0])
    assert f"stopped by {signal.Signals(signum).name} after step" in line and "resume" in line
    assert stopped >= 30 and (out / "checkpoints" / str(stopped)).is_dir()
    assert not (out / LOCK_FILE).exists()  # released on the way out
    if signum == signal.SIGINT:
        return  # the same code path from here on; one resumed run (SIGTERM's) keeps the suite short

    resumed = _train(out)
    assert resumed.wait(timeout=600) == 0, resumed.communicate()
    last = _records(out)[-1]
    assert last["step"] == STEPS
    assert last["loss"] == uninterrupted["loss"]  # exactly, not approximately


def test_stop_signals_record_the_first_signal_and_restore_the_handlers():
    before = signal.getsignal(signal.SIGINT)
    with StopSignals() as stop:
        assert not stop.should_stop()
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)  # a second signal (e.g. while saving) is ignored
        assert stop.should_stop() and stop.signum == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is before
    stopped = TrainingStoppedError(30, signal.SIGTERM, "runs/x/checkpoints/30")
    assert stopped.exit_status == 143 and "after step 30" in str(stopped)


def test_a_second_trainer_is_refused_and_the_first_finishes(tmp_path, capsys):
    out = tmp_path / "run"
    first = _train(out, 300, "--checkpoint-every", "10")
    _wait_for_step(first, out, 10)
    second = ["train", "--out", str(out), "--steps", "300", *FLAGS]
    assert main(second) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"being trained by process {first.pid}" in err
    # Readers are not trainers: eval and sample read the newest checkpoint while it trains
    # (once one is complete: background saves finish a little after their step).
    deadline = time.monotonic() + 240
    while not any(p.name.isdigit() for p in (out / "checkpoints").glob("*")):
        assert time.monotonic() < deadline and first.poll() is None, "no checkpoint in time"
        time.sleep(0.05)
    assert first.poll() is None  # still training when the readers start
    assert main(["eval", "--checkpoint", str(out), "--json"]) == 0
    assert (
        main(["sample", "--checkpoint", str(out), "--prompt", "The", "--max-new-tokens", "4"]) == 0
    )
    assert first.wait(timeout=600) == 0, first.communicate()
    assert _records(out)[-1]["step"] == 300
    assert main(["eval", "--checkpoint", str(out), "--json"]) == 0


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = RunLock(tmp_path)
    lock.path.write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid}))
    with lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
        with RunLock(tmp_path):  # the same process again: nested, the outer lock releases
            pass
        assert lock.path.exists()
    assert f"left by process {dead.pid}, which no longer runs" in capsys.readouterr().err
    assert not lock.path.exists()


def test_a_lock_of_a_live_process_or_another_host_refuses(tmp_path):
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for owner in ({"host": socket.gethostname(), "pid": alive.pid},
                      {"host": "another-host", "pid": 1}):  # fmt: skip
            (tmp_path / LOCK_FILE).write_text(json.dumps(owner))
            with pytest.raises(RunLockedError, match=f"process {owner['pid']} on host"):
                RunLock(tmp_path).acquire()
            assert json.loads((tmp_path / LOCK_FILE).read_text()) == owner  # left alone
    finally:
        alive.kill()


def test_an_out_that_is_a_file_is_refused_in_one_line(tmp_path, capsys):
    out = tmp_path / "notes.txt"
    out.write_text("my notes")
    assert main(["train", "--out", str(out), "--steps", "2", *FLAGS]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is a file, not a folder" in err
    assert out.read_text() == "my notes"  # nothing of the user's overwritten
