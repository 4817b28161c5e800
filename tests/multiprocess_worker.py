"""One of several processes joined by `jax.distributed` (run by tests/test_multiprocess.py).

Usage: python tests/multiprocess_worker.py PORT NUM_PROCESSES PROCESS_ID DEVICES OUT_JSON CKPT
Trains the tiny preset for a few steps on a data-parallel mesh over every process's CPU
devices, each process loading only its rows of every batch, and writes the losses. Then all
processes save one sharded checkpoint into CKPT together; process 0 writes the gathered
parameters beside it (``params.npz``), and both take one more step and record its loss.
"""

import json
import pathlib
import sys

import jax
import numpy as np


def main(
    port: str, num_processes: str, process_id: str, devices: str, out_json: str, ckpt: str
) -> None:
    jax.config.update("jax_num_cpu_devices", int(devices))
    jax.distributed.initialize(
        f"127.0.0.1:{port}",
        int(num_processes),
        int(process_id),
        initialization_timeout=60,
        heartbeat_timeout_seconds=10,
        shutdown_timeout_seconds=10,
    )
    from flax import nnx
    from jax.experimental import multihost_utils

    from gopherlite.checkpoint import Checkpointer
    from gopherlite.sharding import make_mesh
    from gopherlite.train import Trainer
    from tests.multiprocess_data import STEPS, TRAIN, batch_iterator, model_config

    trainer = Trainer(model_config(), TRAIN, mesh=make_mesh(data=-1), layout="zero")
    start, stop = trainer.local_rows
    data = batch_iterator(
        num_shards=TRAIN.batch_size // (stop - start), shard_index=start // (stop - start)
    )
    losses = [float(trainer.train_step(next(data))["loss"]) for _ in range(STEPS)]
    checkpointer = Checkpointer(pathlib.Path(ckpt) / "checkpoints")
    checkpointer.save(STEPS, trainer.state, {"step": STEPS, "data_position": data.position()})
    checkpointer.close()
    params = jax.tree.leaves(nnx.state(trainer.model, nnx.Param))
    gathered = [np.asarray(multihost_utils.process_allgather(p, tiled=True)) for p in params]
    if jax.process_index() == 0:
        np.savez(pathlib.Path(ckpt) / "params.npz", *gathered)
    next_loss = float(trainer.train_step(next(data))["loss"])
    with open(out_json, "w") as f:
        record = {"losses": losses, "next_loss": next_loss, "rows": [start, stop]}
        json.dump({**record, "devices": jax.device_count()}, f)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:])
