"""Chapter 07's grids and layout runs against real shardings on 8 simulated devices.

Runs only through tests/test_sharding.py::test_multidevice_tier (8 fake CPU devices).
"""

import numpy as np
import pytest
from jax.sharding import NamedSharding

from gopherlite import ModelConfig
from gopherlite.data.batches import BatchIterator, pack
from gopherlite.sharding import AXES, LAYOUTS, make_mesh
from gopherlite.train import TrainConfig
from gopherlite.workbook.experiments import mesh_blocks as mb
from gopherlite.workbook.experiments.layout_runs import compare_layouts


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(2, 4, 1), (2, 2, 2), (1, 1, 8), (8, 1, 1)])
def test_grid_blocks_equal_devices_indices_map(layout, shape):
    mesh = make_mesh(*shape)
    degrees = dict(zip(AXES, shape, strict=True))
    for array in mb.array_layouts(degrees, layout):
        index_map = NamedSharding(mesh, array.spec).devices_indices_map(array.shape)
        for coords in np.ndindex(*shape):
            device = mesh.devices[coords]
            expected = tuple(
                (s.start or 0, s.stop if s.stop is not None else size)
                for s, size in zip(index_map[device], array.shape, strict=True)
            )
            assert array.blocks[coords] == expected, (array.label, coords)


def test_fsdp_4_on_a_2x4x1_mesh_shows_4_shards_each_on_2_devices():
    mesh = make_mesh(2, 4, 1)
    arrays = {a.label: a for a in mb.array_layouts({"data": 2, "fsdp": 4, "tensor": 1}, "fsdp")}
    up = arrays["MLP in"]
    index_map = NamedSharding(mesh, up.spec).devices_indices_map(up.shape)
    distinct = {tuple((s.start, s.stop) for s in idx) for idx in index_map.values()}
    assert len(distinct) == up.num_shards == 4
    assert sorted(np.unique(up.ids, return_counts=True)[1].tolist()) == [2, 2, 2, 2]


def test_compare_layouts_on_8_devices_matches_one_device():
    cfg = ModelConfig(n_layers=1, n_heads=4, d_head=8, d_model=32, vocab_size=64, max_seq_len=8)
    train = TrainConfig(steps=3, batch_size=8, warmup_steps=1, learning_rate=1e-2, seed=0)
    rng = np.random.default_rng(3)
    docs = [rng.integers(4, 64, rng.integers(5, 30)).tolist() for _ in range(40)]
    it = BatchIterator(pack(docs, 8, separator_id=3, pad_id=0, num_bytes=1), 8, seed=0)
    batches = [next(it) for _ in range(2)]
    runs = compare_layouts(
        cfg, train, batches, [("zero", {"data": 8}), ("2d", {"data": 2, "fsdp": 2, "tensor": 2})]
    )
    assert runs[2].mesh == {"data": 2, "fsdp": 2, "tensor": 2}
    for run in runs[1:]:
        np.testing.assert_allclose(run.losses, runs[0].losses, rtol=1e-5)
