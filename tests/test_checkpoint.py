"""Checkpoints restore exactly, keep the newest N, and fail clearly when damaged."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gopherlite.checkpoint import Checkpointer, CheckpointError


def _state(seed):
    rng = np.random.default_rng(seed)
    return {
        "w": jnp.asarray(rng.normal(size=(4, 3)), jnp.float32),
        "b": jnp.asarray(rng.normal(size=(3,)), jnp.bfloat16),
        "step": jnp.asarray(seed, jnp.int32),
    }


def test_save_restore_is_exact_and_keeps_the_newest(tmp_path):
    ckpt = Checkpointer(tmp_path, keep=2)
    for step in (1, 2, 3):
        ckpt.save(step, _state(step), {"step": step, "note": "x"})
    assert ckpt.all_steps() == [2, 3]
    state, meta = ckpt.restore(_state(0))
    assert meta == {"step": 3, "note": "x"}
    for key in ("w", "b", "step"):
        assert state[key].dtype == _state(3)[key].dtype
        np.testing.assert_array_equal(np.asarray(state[key]), np.asarray(_state(3)[key]))
    older, _ = ckpt.restore(_state(0), step=2)
    np.testing.assert_array_equal(np.asarray(older["w"]), np.asarray(_state(2)["w"]))


def test_missing_checkpoints_explain_what_to_do(tmp_path):
    with pytest.raises(CheckpointError, match=r"No checkpoint in .*train first"):
        Checkpointer(tmp_path / "empty").restore(_state(0))
    ckpt = Checkpointer(tmp_path / "one")
    ckpt.save(5, _state(5), {})
    with pytest.raises(CheckpointError, match=r"No checkpoint for step 4 .*have \[5\]"):
        ckpt.restore(_state(0), step=4)


def test_an_unfinished_save_is_ignored(tmp_path):
    """A save killed midway leaves only Orbax's temporary folder; the previous step restores."""
    ckpt = Checkpointer(tmp_path)
    ckpt.save(1, _state(1), {"step": 1})
    partial = tmp_path / "2.orbax-checkpoint-tmp-1234"
    (partial / "state").mkdir(parents=True)
    (partial / "state" / "garbage").write_bytes(b"\x00" * 64)
    assert Checkpointer(tmp_path).latest_step() == 1
    state, meta = Checkpointer(tmp_path).restore(_state(0))
    assert meta["step"] == 1
    np.testing.assert_array_equal(np.asarray(state["w"]), np.asarray(_state(1)["w"]))


def test_damaged_checkpoint_gives_a_clear_error_and_earlier_steps_still_restore(tmp_path):
    ckpt = Checkpointer(tmp_path, keep=3)
    ckpt.save(1, _state(1), {"step": 1})
    ckpt.save(2, _state(2), {"step": 2})
    for f in (tmp_path / "2" / "state").rglob("*"):
        if f.is_file():
            f.write_bytes(b"corrupt")
    with pytest.raises(
        CheckpointError, match=r"step 2 .*damaged or incomplete.*earlier step \(1\)"
    ):
        Checkpointer(tmp_path).restore(_state(0))
    state, _ = Checkpointer(tmp_path).restore(_state(0), step=1)
    np.testing.assert_array_equal(np.asarray(state["w"]), np.asarray(_state(1)["w"]))


def test_a_background_save_writes_the_state_of_its_step_though_the_next_steps_donate_it(
    tmp_path,
):
    """Async save, then at once three donating train steps: the checkpoint holds the saved
    step's values exactly (not the donated buffers' later contents)."""
    from flax import nnx

    from gopherlite.config import ModelConfig
    from gopherlite.train import TrainConfig, Trainer
    from tests.multiprocess_data import batch_iterator

    config = ModelConfig(vocab_size=4096, d_model=64, n_layers=2, n_heads=2, d_head=32)
    trainer = Trainer(config, TrainConfig(steps=10, batch_size=8, seq_len=32, warmup_steps=1))
    data = batch_iterator()
    trainer.train_step(next(data))
    saved = [np.array(leaf) for leaf in jax.tree.leaves(nnx.state(trainer.state))]  # copies
    ckpt = Checkpointer(tmp_path, async_save=True)
    ckpt.save(trainer.step, trainer.state, {"step": trainer.step})
    for _ in range(3):
        trainer.train_step(next(data))  # donates the state the writer may still be reading
    later = [np.asarray(leaf) for leaf in jax.tree.leaves(nnx.state(trainer.state))]
    assert any(not np.array_equal(a, b) for a, b in zip(saved, later, strict=True))
    state, meta = ckpt.restore(trainer.abstract_state())  # waits for the write
    ckpt.close()
    assert meta == {"step": 1}
    restored = jax.tree.leaves(nnx.state(state))
    assert len(restored) == len(saved)
    for want, got in zip(saved, restored, strict=True):
        np.testing.assert_array_equal(np.asarray(got), want)


def _reader_racing_a_trainer(folder):
    """Steps 1 and 2 saved (keep 2), and a reader whose first read of a step lets the trainer
    save steps 3 and 4 first, so that keep-N deletes 1 and 2 under it."""
    writer = Checkpointer(folder, keep=2)
    writer.save(1, _state(1), {"step": 1})
    writer.save(2, _state(2), {"step": 2})
    reader = Checkpointer(folder, keep=2)
    real_restore, calls = reader._manager.restore, []

    def restore(step, args):
        if not calls:
            writer.save(3, _state(3), {"step": 3})
            writer.save(4, _state(4), {"step": 4})
        calls.append(step)
        return real_restore(step, args=args)

    reader._manager.restore = restore
    return reader, calls


def test_a_step_deleted_by_a_trainer_while_it_is_read_is_not_called_damaged(tmp_path):
    reader, calls = _reader_racing_a_trainer(tmp_path / "latest")
    state, meta = reader.restore(_state(0))  # the latest: read again from the new latest
    assert calls == [2, 4] and meta == {"step": 4}
    np.testing.assert_array_equal(np.asarray(state["w"]), np.asarray(_state(4)["w"]))

    reader, calls = _reader_racing_a_trainer(tmp_path / "named")
    with pytest.raises(CheckpointError, match=r"step 2 .*was deleted while it was being read"):
        reader.restore(_state(0), step=2)  # a named step is not swapped for another
    assert calls == [2]
