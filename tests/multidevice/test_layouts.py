"""With 8 simulated devices, every layout and mesh trains exactly like one device does.

Runs only through tests/test_sharding.py::test_multidevice_tier (8 fake CPU devices).
"""

import jax
import numpy as np
import pytest

from gopherlite import ModelConfig
from gopherlite.data.batches import BatchIterator, pack
from gopherlite.sharding import LAYOUTS, make_mesh
from gopherlite.train import TrainConfig, Trainer, train

# Every sharded dimension divides 8: heads 8, d_model 32, mlp 128, vocab 64.
CFG = ModelConfig(n_layers=2, n_heads=8, d_head=4, d_model=32, vocab_size=64, max_seq_len=16)
TRAIN = TrainConfig(steps=4, batch_size=8, warmup_steps=1, learning_rate=1e-2, seed=0)
STEPS = 3


def _batches():
    rng = np.random.default_rng(7)
    docs = [rng.integers(4, 64, rng.integers(8, 40)).tolist() for _ in range(60)]
    it = BatchIterator(pack(docs, 16, separator_id=3, pad_id=0, num_bytes=1), 8, seed=0)
    return [next(it) for _ in range(STEPS)]


def _losses(mesh=None, layout="2d", config=CFG):
    trainer = Trainer(config, TRAIN, mesh=mesh, layout=layout)
    return np.array([float(trainer.train_step(b)["loss"]) for b in _batches()])


@pytest.fixture(scope="module")
def single_device_losses():
    assert jax.device_count() == 8
    return _losses()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_on_a_2x2x2_mesh_matches_one_device(single_device_losses, layout):
    mesh = make_mesh(data=2, fsdp=2, tensor=2)
    np.testing.assert_allclose(_losses(mesh, layout), single_device_losses, rtol=1e-5)


@pytest.mark.parametrize(
    ("shape", "layout"),
    [((8, 1, 1), "dp"), ((8, 1, 1), "zero"), ((1, 1, 8), "tensor"), ((2, 1, 4), "2d"),
     ((1, 8, 1), "fsdp")],
)  # fmt: skip
def test_meshes_match_one_device(single_device_losses, shape, layout):
    mesh = make_mesh(*shape)
    np.testing.assert_allclose(_losses(mesh, layout), single_device_losses, rtol=1e-5)


def test_parameters_really_are_sharded():
    trainer = Trainer(CFG, TRAIN, mesh=make_mesh(data=2, fsdp=2, tensor=2), layout="2d")
    kernel = trainer.state[0]["blocks"][0]["attn"]["query"]["kernel"][...]
    assert kernel.shape == (32, 8, 4)
    shard_shapes = {s.data.shape for s in kernel.addressable_shards}
    assert shard_shapes == {(16, 4, 4)}  # embed / fsdp=2, heads / tensor=2


def test_scanned_layers_shard_and_train_like_one_device():
    """Stacked weights keep their layer axis whole and split the others as unrolled ones do."""
    scanned = CFG.replace(scan_layers=True)
    mesh = make_mesh(data=2, fsdp=2, tensor=2)
    np.testing.assert_allclose(_losses(mesh, "2d", scanned), _losses(config=scanned), rtol=1e-5)
    trainer = Trainer(scanned, TRAIN, mesh=mesh, layout="2d")
    kernel = trainer.state[0]["blocks"]["attn"]["query"]["kernel"][...]
    assert kernel.shape == (2, 32, 8, 4)
    assert {s.data.shape for s in kernel.addressable_shards} == {(2, 16, 4, 4)}


def test_checkpoint_from_one_mesh_resumes_on_another(tmp_path):
    cfg = TrainConfig(steps=4, batch_size=8, warmup_steps=1, learning_rate=1e-2, seed=0,
                      checkpoint_every=2, log_every=1)  # fmt: skip
    rng = np.random.default_rng(7)
    docs = [rng.integers(4, 64, rng.integers(8, 40)).tolist() for _ in range(60)]
    windows = pack(docs, 16, separator_id=3, pad_id=0, num_bytes=1)

    def run(out_dir, mesh, layout, stop_after=None):
        class StopError(Exception):
            pass

        def stop(record):
            if stop_after is not None and record["step"] == stop_after:
                raise StopError

        try:
            return train(CFG, cfg, BatchIterator(windows, 8, seed=0), bytes_per_token=1.0,
                         out_dir=out_dir, mesh=mesh, layout=layout, callbacks=(stop,),
                         progress=False)  # fmt: skip
        except StopError:
            return None

    reference = run(tmp_path / "ref", make_mesh(data=2, fsdp=2, tensor=2), "2d")
    run(tmp_path / "moved", make_mesh(data=2, fsdp=2, tensor=2), "2d", stop_after=3)
    resumed = run(tmp_path / "moved", make_mesh(1, 1, 8), "tensor")  # another mesh and layout
    # steps 1-2 are read back from the metrics log; 3-4 are trained after the step-2 checkpoint
    assert [r["step"] for r in resumed.history] == [1, 2, 3, 4]
    ref_losses = [r["loss"] for r in reference.history]
    new_losses = [r["loss"] for r in resumed.history]
    np.testing.assert_allclose(new_losses, ref_losses, rtol=1e-5)
    kernel = resumed.trainer.state[0]["embed"]["embedding"][...]
    assert {s.data.shape for s in kernel.addressable_shards} == {(8, 32)}  # vocab / tensor=8
