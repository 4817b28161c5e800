"""Training: settings and schedule (`config`), the jitted step (`step`), the loop (`loop`).

Gopher trains with Adam, warm-up then cosine decay and global-norm clipping (G Sec. 3.2); the
loss is the softmax cross-entropy in float32 (G App. C).
"""

from gopherlite.train.config import (
    GOPHER_WARMUP_STEPS,
    TrainConfig,
    build_model_and_optimizer,
    learning_rate_schedule,
    make_optimizer,
)
from gopherlite.train.loop import Callback, TrainResult, run_meta, train
from gopherlite.train.step import Trainer

__all__ = [
    "GOPHER_WARMUP_STEPS",
    "Callback",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "build_model_and_optimizer",
    "learning_rate_schedule",
    "make_optimizer",
    "run_meta",
    "train",
]
