"""One of two `jax.distributed` processes training into one shared run folder (for
tests/test_multiprocess.py).

Usage: python tests/multiprocess_train_worker.py PORT PROCESS_ID RUN_DIR OUT_JSON
Runs `gopherlite.train.train` for up to `TRAIN_STEPS` steps on a data-parallel mesh of both
processes' 4 CPU devices each, resuming from RUN_DIR's checkpoint if there is one. Writes the
step it ended at (and the stop signal, if one stopped it) and exits with the CLI's status.
"""

import dataclasses
import json
import sys

import jax

TRAIN_STEPS = 200


def main(port: str, process_id: str, run_dir: str, out_json: str) -> int:
    jax.config.update("jax_num_cpu_devices", 4)
    jax.distributed.initialize(
        f"127.0.0.1:{port}", 2, int(process_id), initialization_timeout=60,
        heartbeat_timeout_seconds=10, shutdown_timeout_seconds=10,
    )  # fmt: skip
    from gopherlite.sharding import make_mesh
    from gopherlite.train import train
    from gopherlite.train.interrupts import TrainingStoppedError
    from tests.multiprocess_data import TRAIN, batch_iterator, model_config

    config = dataclasses.replace(TRAIN, steps=TRAIN_STEPS, log_every=5, checkpoint_every=1000)
    data = batch_iterator(num_shards=2, shard_index=int(process_id))
    status, record = 0, {}
    try:
        result = train(
            model_config(), config, data, bytes_per_token=1.0, out_dir=run_dir,
            progress=False, mesh=make_mesh(data=-1), layout="zero",
        )  # fmt: skip
        record = {"step": result.trainer.step, "loss": result.history[-1]["loss"]}
    except TrainingStoppedError as stopped:
        status, record = stopped.exit_status, {"step": stopped.step, "signal": stopped.signum}
    with open(out_json, "w") as f:
        json.dump(record, f)
    jax.distributed.shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
