"""`compare_layouts` on one device: every layout on a 1-device mesh is the single-device run.

The 8-device comparison (real sharding) is in tests/multidevice/test_mesh_blocks_devices.py.
"""

import numpy as np
import pytest

from gopherlite import ModelConfig
from gopherlite.data.batches import BatchIterator, pack
from gopherlite.train import TrainConfig
from gopherlite.workbook.experiments.layout_runs import (
    SINGLE_DEVICE,
    compare_layouts,
    max_relative_difference,
)

CFG = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=64, max_seq_len=8)
TRAIN = TrainConfig(steps=3, batch_size=4, warmup_steps=1, learning_rate=1e-2, seed=0)


def _batches(n=2):
    rng = np.random.default_rng(3)
    docs = [rng.integers(4, 64, rng.integers(5, 30)).tolist() for _ in range(30)]
    it = BatchIterator(pack(docs, 8, separator_id=3, pad_id=0, num_bytes=1), 4, seed=0)
    return [next(it) for _ in range(n)]


def test_runs_are_labelled_and_match_the_single_device_losses():
    runs = compare_layouts(CFG, TRAIN, _batches(), [("zero", {"data": -1}), ("2d", {"fsdp": -1})])
    assert [r.name for r in runs] == [SINGLE_DEVICE, "zero 1 device", "2d 1 device"]
    assert all(r.losses.shape == (2,) for r in runs)
    assert runs[0].losses[1] < runs[0].losses[0] + 1.0  # a real loss, not a placeholder
    np.testing.assert_allclose(runs[1].losses, runs[0].losses, rtol=1e-6)
    diffs = max_relative_difference(runs)
    assert diffs[SINGLE_DEVICE] == 0.0 and max(diffs.values()) < 1e-6
    assert runs[1].mesh == {"data": 1, "fsdp": 1, "tensor": 1}


def test_a_mesh_larger_than_the_machine_is_explained():
    with pytest.raises(ValueError, match="needs 8 devices"):
        compare_layouts(CFG, TRAIN, _batches(1), [("dp", {"data": 8})])
