"""One of several processes joined by `jax.distributed` (run by tests/test_multiprocess.py).

Usage: python tests/multiprocess_worker.py PORT NUM_PROCESSES PROCESS_ID DEVICES OUT_JSON
Trains the tiny preset for a few steps on a data-parallel mesh over every process's CPU
devices, each process loading only its rows of every batch, and writes the losses.
"""

import json
import sys

import jax


def main(port: str, num_processes: str, process_id: str, devices: str, out_json: str) -> None:
    jax.config.update("jax_num_cpu_devices", int(devices))
    jax.distributed.initialize(
        f"127.0.0.1:{port}",
        int(num_processes),
        int(process_id),
        initialization_timeout=60,
        heartbeat_timeout_seconds=10,
        shutdown_timeout_seconds=10,
    )
    from gopherlite.sharding import make_mesh
    from gopherlite.train import Trainer
    from tests.multiprocess_data import STEPS, TRAIN, batch_iterator, model_config

    trainer = Trainer(model_config(), TRAIN, mesh=make_mesh(data=-1), layout="zero")
    start, stop = trainer.local_rows
    data = batch_iterator(
        num_shards=TRAIN.batch_size // (stop - start), shard_index=start // (stop - start)
    )
    losses = [float(trainer.train_step(next(data))["loss"]) for _ in range(STEPS)]
    with open(out_json, "w") as f:
        json.dump({"losses": losses, "rows": [start, stop], "devices": jax.device_count()}, f)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:])
