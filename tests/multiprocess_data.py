"""The model and data shared by the multi-process test and its workers."""

import numpy as np

from gopherlite.config import PRESETS, ModelConfig
from gopherlite.data.batches import BatchIterator, pack
from gopherlite.train import TrainConfig

STEPS = 3
TRAIN = TrainConfig(steps=STEPS, batch_size=8, seq_len=32, warmup_steps=1, seed=0)


def model_config() -> ModelConfig:
    return PRESETS["tiny"]


def batch_iterator(num_shards: int = 1, shard_index: int = 0) -> BatchIterator:
    rng = np.random.default_rng(11)
    docs = [rng.integers(4, 4096, rng.integers(10, 80)).tolist() for _ in range(200)]
    windows = pack(docs, 32, separator_id=3, pad_id=0, num_bytes=1)
    return BatchIterator(windows, 8, seed=0, num_shards=num_shards, shard_index=shard_index)
