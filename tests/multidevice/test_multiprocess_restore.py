"""Two `jax.distributed` processes (4 CPU devices each) train and save one sharded checkpoint
together; it restores in this one process on 8 devices under another layout and on one device,
parameters bit for bit, the next loss as the pair's (issue 14, design.md Sec. 6).

Runs only through tests/test_sharding.py::test_multidevice_tier (8 fake CPU devices).
"""

import json

import jax
import numpy as np
from flax import nnx

from gopherlite.checkpoint import Checkpointer
from gopherlite.sharding import make_mesh
from gopherlite.train import Trainer
from tests.multiprocess_data import STEPS, TRAIN, batch_iterator, model_config
from tests.multiprocess_launch import ROOT, finish, free_port, launch_pair


def test_two_processes_match_one_and_their_checkpoint_restores_on_any_layout(tmp_path):
    assert jax.device_count() == 8
    port = free_port()
    outs = [tmp_path / f"p{i}.json" for i in range(2)]
    worker = ROOT / "tests" / "multiprocess_worker.py"
    procs = launch_pair(worker, [[str(port), "2", str(i), "4", str(outs[i]), str(tmp_path / "run")]
                                 for i in range(2)])  # fmt: skip
    logs = finish(procs)
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-3000:]
    results = [json.loads(o.read_text()) for o in outs]
    assert [r["devices"] for r in results] == [8, 8]
    assert [r["rows"] for r in results] == [[0, 4], [4, 8]]  # each loads only its half

    trainer = Trainer(model_config(), TRAIN, mesh=make_mesh(devices=jax.devices()[:1]))
    data = batch_iterator()
    single = [float(trainer.train_step(next(data))["loss"]) for _ in range(STEPS)]
    for r in results:
        np.testing.assert_allclose(r["losses"], single, rtol=1e-5)

    saved = np.load(tmp_path / "run" / "params.npz")
    # The pair saved under "zero" on a (data=8) mesh of two processes; restore it here on all
    # 8 devices of one process under "2d", then on one device under "dp".
    for mesh, layout in [
        (make_mesh(data=2, fsdp=2, tensor=2), "2d"),
        (make_mesh(devices=jax.devices()[:1]), "dp"),
    ]:
        restored = Trainer(model_config(), TRAIN, mesh=mesh, layout=layout)
        checkpointer = Checkpointer(tmp_path / "run" / "checkpoints")
        state, meta = checkpointer.restore(restored.abstract_state())
        checkpointer.close()
        restored.load_state(state)
        assert restored.step == STEPS and meta["step"] == STEPS
        params = jax.tree.leaves(nnx.state(restored.model, nnx.Param))
        assert len(params) == len(saved.files)
        assert {p.sharding.mesh.size for p in params} == {mesh.size}
        for i, param in enumerate(params):
            np.testing.assert_array_equal(np.asarray(param), saved[f"arr_{i}"])  # bit for bit
        data = batch_iterator()
        data.restore(meta["data_position"])  # a single-process iterator, at the saved place
        next_loss = float(restored.train_step(next(data))["loss"])
        for r in results:
            np.testing.assert_allclose(r["next_loss"], next_loss, rtol=1e-5, err_msg=layout)
