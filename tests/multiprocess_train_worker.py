"""One of two `jax.distributed` processes training into one shared run folder (for
tests/test_multiprocess.py).

Usage: python tests/multiprocess_train_worker.py PORT PROCESS_ID RUN_DIR OUT_JSON
                                                  [STEPS [CHECKPOINT_EVERY]]
Runs `gopherlite.train.train` for up to STEPS steps (default 200) on a data-parallel mesh of
both processes' 4 CPU devices each, checkpointing every CHECKPOINT_EVERY steps (default: only
at the end) and resuming from RUN_DIR's checkpoint if there is one. Writes the step it started
and ended at (and the stop signal, if one stopped it) and exits with the CLI's status.
"""

import dataclasses
import json
import pathlib
import sys

import jax


def main(
    port: str,
    process_id: str,
    run_dir: str,
    out_json: str,
    steps: str = "200",
    checkpoint_every: str = "1000",
) -> int:
    jax.config.update("jax_num_cpu_devices", 4)
    jax.distributed.initialize(
        f"127.0.0.1:{port}", 2, int(process_id), initialization_timeout=60,
        heartbeat_timeout_seconds=60, shutdown_timeout_seconds=10,
    )  # fmt: skip
    from gopherlite.sharding import make_mesh
    from gopherlite.train import train
    from gopherlite.train.interrupts import TrainingStoppedError
    from tests.multiprocess_data import TRAIN, batch_iterator, model_config

    config = dataclasses.replace(
        TRAIN, steps=int(steps), log_every=5, checkpoint_every=int(checkpoint_every)
    )
    data = batch_iterator(num_shards=2, shard_index=int(process_id))
    checkpoints = pathlib.Path(run_dir) / "checkpoints"
    saved = [int(p.name) for p in checkpoints.glob("*") if p.name.isdigit()]
    status, record = 0, {"resumed_from": max(saved, default=0)}
    try:
        result = train(
            model_config(), config, data, bytes_per_token=1.0, out_dir=run_dir,
            progress=False, mesh=make_mesh(data=-1), layout="zero",
        )  # fmt: skip
        record.update(step=result.trainer.step, loss=result.history[-1]["loss"])
    except TrainingStoppedError as stopped:
        status = stopped.exit_status
        record.update(step=stopped.step, signal=stopped.signum)
    with open(out_json, "w") as f:
        json.dump(record, f)
    jax.distributed.shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
