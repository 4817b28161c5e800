"""Training: Gopher's schedule, the optimizer, learning, metrics and exact resumption."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gopherlite import ModelConfig
from gopherlite.checkpoint import Checkpointer, CheckpointError
from gopherlite.data.batches import BatchIterator, pack
from gopherlite.train import TrainConfig, Trainer, learning_rate_schedule, make_optimizer, train

CFG = ModelConfig(
    n_layers=2, n_heads=2, d_head=8, d_model=16, vocab_size=32, max_seq_len=16,
)  # fmt: skip
LR = 3e-3  # peak learning rate of these tests' runs


def _iterator(seed=0, batch_size=4):
    rng = np.random.default_rng(123)
    docs = [rng.integers(4, 32, rng.integers(5, 40)).tolist() for _ in range(40)]
    windows = pack(docs, window=16, separator_id=3, pad_id=0, num_bytes=4000)
    return BatchIterator(windows, batch_size, seed=seed)


def _leaves_equal(a, b):
    return all(
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def test_schedule_matches_gopher_at_key_steps():
    """Warm-up from 1e-7 to the peak, then cosine to 10% of the peak at the last step."""
    cfg = TrainConfig(learning_rate=LR, steps=1000, warmup_steps=100)
    lr = learning_rate_schedule(cfg, peak=2e-4)
    assert float(lr(0)) == pytest.approx(1e-7)
    assert float(lr(50)) == pytest.approx(1e-7 + 0.5 * (2e-4 - 1e-7), rel=1e-5)
    assert float(lr(100)) == pytest.approx(2e-4, rel=1e-6)
    assert float(lr(550)) == pytest.approx(2e-4 * (0.1 + 0.9 * 0.5), rel=1e-5)  # cosine midpoint
    assert float(lr(1000)) == pytest.approx(2e-5, rel=1e-5)


def test_default_warmup_is_gophers_1500_scaled_to_short_runs():
    assert TrainConfig(steps=1_200_000).resolved_warmup() == 1500
    assert TrainConfig(steps=1000).resolved_warmup() == 50
    assert TrainConfig(steps=5).resolved_warmup() == 1


@pytest.mark.parametrize("steps, warmup", [(1, None), (5, 5), (3, 10)])
def test_runs_that_are_all_warm_up_have_a_schedule(steps, warmup):
    """One step, or no steps left after the warm-up: it ramps up and never decays."""
    cfg = TrainConfig(steps=steps, warmup_steps=warmup)
    lr = learning_rate_schedule(cfg, peak=2e-4)
    assert float(lr(cfg.resolved_warmup())) == pytest.approx(2e-4, rel=1e-6)
    assert float(lr(0)) == pytest.approx(1e-7)


def test_gradients_are_clipped_to_the_global_norm():
    cfg = TrainConfig(learning_rate=LR, steps=10, grad_clip=1.0, warmup_steps=1)
    tx = make_optimizer(cfg, peak=1.0)
    params = {"w": jnp.zeros((3,))}
    clip = tx.init(params)[0]
    huge = {"w": jnp.array([30.0, 40.0, 0.0])}  # norm 50
    clipped, _ = optax.clip_by_global_norm(1.0).update(huge, clip)
    assert float(optax.tree.norm(clipped)) == pytest.approx(1.0, rel=1e-6)


def test_adamw_decays_matrices_but_not_vectors():
    cfg = TrainConfig(
        learning_rate=LR, steps=10, optimizer="adamw", weight_decay=0.5, warmup_steps=1
    )
    tx = make_optimizer(cfg, peak=0.1)
    params = {"matrix": jnp.ones((2, 2)), "gain": jnp.ones((2,))}
    state = tx.init(params)
    zeros = jax.tree.map(jnp.zeros_like, params)
    for _ in range(3):
        updates, state = tx.update(zeros, state, params)
        params = optax.apply_updates(params, updates)
    assert float(params["matrix"][0, 0]) < 1.0
    assert float(params["gain"][0]) == 1.0


BAD_TRAIN_CONFIGS = [
    {"steps": 0}, {"batch_size": 0}, {"optimizer": "sgd"}, {"learning_rate": 0.0},
    {"eps": -1e-8}, {"b1": 1.5}, {"b2": -0.1}, {"final_lr_fraction": 2.0}, {"warmup_steps": -1},
    {"eval_every": -1}, {"weight_decay": -0.1},
]  # fmt: skip


@pytest.mark.parametrize("bad", BAD_TRAIN_CONFIGS)
def test_bad_train_config_is_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrainConfig(**bad)


def test_for_preset_takes_table1_rate_and_batch():
    cfg = TrainConfig.for_preset("1.4b", steps=10)
    assert (cfg.learning_rate, cfg.steps) == (2e-4, 10)
    assert cfg.batch_size == round(250_000 / 2048)  # Table 1 tokens / Gopher's 2,048 window
    assert TrainConfig.for_preset("1.4b", seq_len=1024).batch_size == round(250_000 / 1024)
    assert TrainConfig.for_preset("tiny").learning_rate == 3e-3
    assert TrainConfig.for_preset("tiny", learning_rate=1e-3, batch_size=3).batch_size == 3


def test_a_run_saved_before_the_learning_rate_left_the_model_config_loads():
    legacy_model = {**dataclasses.asdict(CFG), "max_learning_rate": 3e-3, "batch_size_tokens": 64}
    legacy_train = {**dataclasses.asdict(TrainConfig()), "learning_rate": None}
    assert ModelConfig.from_dict(legacy_model) == CFG
    assert TrainConfig.from_dict(legacy_train, legacy_model).learning_rate == 3e-3
    assert (
        TrainConfig.from_dict(dataclasses.asdict(TrainConfig(learning_rate=0.1))).learning_rate
        == 0.1
    )


def test_batch_of_the_wrong_size_is_explained():
    trainer = Trainer(CFG, TrainConfig(learning_rate=LR, steps=2, batch_size=8))
    with pytest.raises(ValueError, match=r"batch of 4 rows.*global batch of 8"):
        trainer.train_step(next(_iterator(batch_size=4)))


def test_trainer_learns_a_fixed_batch():
    trainer = Trainer(
        CFG, TrainConfig(learning_rate=LR, steps=60, batch_size=4, warmup_steps=1, seed=0)
    )
    batch = next(_iterator())
    losses = [float(trainer.train_step(batch)["loss"]) for _ in range(60)]
    assert losses[0] == pytest.approx(np.log(32), rel=0.05)  # untrained ≈ uniform
    # Targets are uniform over 28 ids: only memorising this batch gets below ln 28 ≈ 3.33.
    assert losses[-1] < 0.75 * np.log(28)
    assert trainer.step == 60


def test_train_writes_metrics_and_calls_back(tmp_path):
    seen = []
    cfg = TrainConfig(learning_rate=LR, steps=6, batch_size=4, log_every=2, checkpoint_every=3)
    result = train(
        CFG, cfg, _iterator(), bytes_per_token=2.0, out_dir=tmp_path, callbacks=(seen.append,),
        progress=False,
    )  # fmt: skip
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6] == [r["step"] for r in seen]
    for key in ("loss", "bits_per_byte", "tokens_per_second", "mfu", "learning_rate"):
        assert all(np.isfinite(r[key]) for r in records), key
    r = records[-1]
    assert r["bits_per_byte"] == pytest.approx(r["loss"] / np.log(2) / 2.0)
    assert 0 < r["mfu"] < 1
    assert Checkpointer(tmp_path / "checkpoints").all_steps() == [3, 6]
    assert result.trainer.step == 6 and result.history == records


class _InterruptError(Exception):
    pass


@pytest.mark.parametrize("model", [CFG, CFG.replace(scan_layers=True)], ids=["unrolled", "scanned"])
def test_interrupted_run_resumes_bit_identical(tmp_path, model):
    cfg = TrainConfig(
        learning_rate=LR, steps=12, batch_size=4, log_every=2, checkpoint_every=5, seed=1
    )
    uninterrupted = train(model, cfg, _iterator(), bytes_per_token=1.0, progress=False)

    def crash_at_step_8(record):
        if record["step"] == 8:
            raise _InterruptError

    with pytest.raises(_InterruptError):
        train(
            model, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path,
            callbacks=(crash_at_step_8,), progress=False,
        )  # fmt: skip
    assert Checkpointer(tmp_path / "checkpoints").all_steps() == [5]
    resumed = train(model, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)
    assert resumed.trainer.step == 12
    assert _leaves_equal(resumed.trainer.state, uninterrupted.trainer.state)
    steps = [json.loads(x)["step"] for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8, 10, 12]  # records of the lost steps 6, 8 were replaced


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (CFG.replace(d_model=32), r"different model \(d_model: 16 there, 32 here"),
        (CFG.replace(scan_layers=True), "scan_layers: False there, True here"),  # stacked weights
    ],
    ids=["width", "scan_layers"],
)
def test_resuming_with_a_different_model_is_refused_and_overwrites_nothing(
    tmp_path, other, message
):
    cfg = TrainConfig(learning_rate=LR, steps=2, batch_size=4, checkpoint_every=2)
    train(CFG, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)
    before = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    with pytest.raises(CheckpointError, match=message):
        train(other, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == before


def test_checkpoint_from_before_a_new_config_field_still_resumes(tmp_path):
    """A run saved before ``scan_layers`` existed resumes: a missing field means its default."""
    cfg = TrainConfig(learning_rate=LR, steps=2, batch_size=4, checkpoint_every=2)
    train(CFG, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)
    meta_path = tmp_path / "checkpoints" / "2" / "meta" / "metadata"  # Orbax's JSON item
    meta = json.loads(meta_path.read_text())
    del meta["model_config"]["scan_layers"]
    meta_path.write_text(json.dumps(meta))
    more = TrainConfig(learning_rate=LR, steps=3, batch_size=4, checkpoint_every=2)
    resumed = train(CFG, more, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)
    assert resumed.trainer.step == 3


def test_resuming_with_another_precision_policy_is_refused(tmp_path):
    """bf16_rne and bf16_sr share every dtype; only the recorded policy tells them apart."""
    cfg = TrainConfig(
        learning_rate=LR, steps=2, batch_size=4, checkpoint_every=2, precision="bf16_rne"
    )
    train(CFG, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)
    other = TrainConfig(
        learning_rate=LR, steps=2, batch_size=4, checkpoint_every=2, precision="bf16_sr"
    )
    with pytest.raises(CheckpointError, match="precision: 'bf16_rne' there, 'bf16_sr' here"):
        train(CFG, other, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)


def _heldout():
    rng = np.random.default_rng(7)
    docs = [rng.integers(4, 32, rng.integers(5, 40)).tolist() for _ in range(8)]
    return pack(docs, window=16, separator_id=3, pad_id=0, num_bytes=800)


def test_held_out_evaluation_follows_its_own_schedule(tmp_path):
    """Records fall where either schedule is due; evaluations only where ``eval_every`` is."""
    cfg = TrainConfig(
        learning_rate=LR, steps=9, batch_size=4, log_every=2, eval_every=3, checkpoint_every=100
    )
    result = train(
        CFG, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, heldout=_heldout(),
        progress=False,
    )  # fmt: skip
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 3, 4, 6, 8, 9]
    assert [r["step"] for r in records if "eval_bits_per_byte" in r] == [3, 6, 9]
    assert all(np.isfinite(r["loss"]) for r in records)  # training metrics in every record
    assert result.final_eval["eval_bits_per_byte"] == records[-1]["eval_bits_per_byte"]


def test_resuming_a_finished_run_returns_without_compiling(tmp_path, monkeypatch):
    cfg = TrainConfig(learning_rate=LR, steps=4, batch_size=4, log_every=2, checkpoint_every=100)
    first = train(CFG, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)

    def no_compile(self, batch):
        raise AssertionError("a finished run compiled a step")

    monkeypatch.setattr(Trainer, "compile", no_compile)
    again = train(CFG, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)
    assert again.trainer.step == 4 and again.history == first.history
    assert _leaves_equal(again.trainer.state, first.trainer.state)


def test_extending_a_finished_run_says_the_schedule_is_stretched(tmp_path, capsys):
    cfg = TrainConfig(learning_rate=LR, steps=4, batch_size=4, checkpoint_every=100)
    train(CFG, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)
    capsys.readouterr()
    longer = TrainConfig(learning_rate=LR, steps=6, batch_size=4, checkpoint_every=100)
    result = train(CFG, longer, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "Resuming at step 4 of a run planned for 4 steps: the learning-rate schedule is "
        "stretched from step 4 to 6."
    ]
    assert result.trainer.step == 6


def test_steps_yields_timed_results_up_to_the_last_step():
    from gopherlite.train.loop import steps

    trainer = Trainer(CFG, TrainConfig(learning_rate=LR, steps=3, batch_size=4))
    results = list(steps(trainer, _iterator(), 3, timed=True))
    assert [(r.step, r.last) for r in results] == [(1, False), (2, False), (3, True)]
    assert all(r.seconds > 0 and np.isfinite(float(r.metrics["loss"])) for r in results)
    assert trainer.step == 3
