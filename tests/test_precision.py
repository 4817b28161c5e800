"""Precision policies and stochastic rounding (Gopher G Sec. 3.2, App. C; Gupta et al. 2015).

Statistical tests use fixed keys, so they are deterministic; their tolerances are stated in
standard errors of the estimate they check, chosen so that a correct implementation would fail
with negligible probability for a fresh key, while a biased one (e.g. round-to-nearest) fails.
"""

import shutil

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import optax
import pytest
from flax import nnx

from gopherlite import ModelConfig
from gopherlite.checkpoint import Checkpointer, CheckpointError
from gopherlite.cli import build_parser, train_config_from_args
from gopherlite.data.batches import BatchIterator, pack
from gopherlite.precision import (
    POLICIES,
    float32_optimizer,
    get_policy,
    rounding_key,
    stochastic_round,
    updated_params,
)
from gopherlite.train import TrainConfig, build_model_and_optimizer, train

BF16 = ml_dtypes.bfloat16
# One block: stochastic rounding compiles one random-bits generator per parameter array.
CFG = ModelConfig(
    n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=32, max_seq_len=16,
)  # fmt: skip
LR = 3e-3  # peak learning rate of these tests' runs
# A correct stochastic rounding misses by more than Z standard errors with probability
# 5.7e-7 per checked value (two-sided normal tail); a few hundred values are checked.
Z = 5.0


def _neighbours(x_f32: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bfloat16 values just below and just above each float32 (equal when exact)."""
    nearest = x_f32.astype(BF16)
    up = np.nextafter(nearest, np.full_like(nearest, np.inf))
    down = np.nextafter(nearest, np.full_like(nearest, -np.inf))
    above = nearest.astype(np.float32) > x_f32
    below = nearest.astype(np.float32) < x_f32
    lo = np.where(above, down, nearest).astype(np.float64)
    hi = np.where(below, up, nearest).astype(np.float64)
    return lo, hi


# --- policies ------------------------------------------------------------------------------


def test_the_five_policies_and_their_dtypes():
    assert list(POLICIES) == ["fp32", "mixed", "bf16_rne", "bf16_sr", "bf16_master"]
    table = {
        name: (p.param_dtype, p.compute_dtype, p.master_copy, p.update_rounding)
        for name, p in POLICIES.items()
    }
    assert table == {
        "fp32": ("float32", "float32", False, "nearest"),
        "mixed": ("float32", "bfloat16", False, "nearest"),
        "bf16_rne": ("bfloat16", "bfloat16", False, "nearest"),
        "bf16_sr": ("bfloat16", "bfloat16", False, "stochastic"),
        "bf16_master": ("bfloat16", "bfloat16", True, "nearest"),
    }


def test_unknown_policy_lists_the_choices():
    with pytest.raises(ValueError, match="fp32, mixed, bf16_rne, bf16_sr, bf16_master"):
        get_policy("bf16")
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(learning_rate=LR, precision="fp16")


def test_policy_sets_model_dtypes_and_refuses_conflicting_ones():
    config = get_policy("mixed").apply_to(CFG)
    assert (config.dtype, config.param_dtype) == ("bfloat16", "float32")
    assert get_policy("mixed").apply_to(config) == config
    with pytest.raises(ValueError, match="param_dtype='bfloat16'"):
        get_policy("fp32").apply_to(get_policy("bf16_sr").apply_to(CFG))


def test_cli_train_takes_a_precision():
    parser = build_parser()
    args = parser.parse_args(["train", "--preset", "tiny", "--out", "x", "--precision", "bf16_sr"])
    assert train_config_from_args(args).precision == "bf16_sr"
    default = parser.parse_args(["train", "--preset", "tiny", "--out", "x"])
    assert train_config_from_args(default).precision == "fp32"
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--preset", "tiny", "--out", "x", "--precision", "fp16"])


# --- stochastic rounding -------------------------------------------------------------------


@pytest.mark.parametrize("magnitude", [1e-39, 3e-30, 1e-3, 1.0, 7e4, 1e38])
def test_stochastic_rounding_is_unbiased(magnitude):
    """Mean of 20,000 roundings of each of 32 values is within Z standard errors of the value.

    The standard error of one value's mean is (hi − lo)·sqrt(p(1 − p))/sqrt(N), with p the
    fraction of the step from lo to hi that the value covers. 1e-39 is a float32 subnormal.
    """
    n, m = 20_000, 32
    rng = np.random.default_rng(0)
    signs = np.where(np.arange(m) % 2, -1.0, 1.0)
    x_M = (magnitude * (1 + rng.random(m)) * signs).astype(np.float32)
    rounded = stochastic_round(jnp.broadcast_to(x_M, (n, m)), jax.random.key(7))
    assert rounded.dtype == jnp.bfloat16
    mean_M = np.asarray(rounded, np.float64).mean(axis=0)
    lo, hi = _neighbours(x_M)
    p = (x_M - lo) / np.where(hi > lo, hi - lo, 1.0)
    se_M = (hi - lo) * np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(mean_M - x_M) <= Z * se_M + 1e-300)
    # The test has power: round-to-nearest's bias exceeds the tolerance for most values.
    nearest_bias = np.abs(x_M.astype(BF16).astype(np.float64) - x_M)
    assert np.mean(nearest_bias > Z * se_M) > 0.8


def test_stochastic_rounding_returns_a_neighbour_and_keeps_exact_values():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(4096) * 10.0 ** rng.integers(-40, 38, 4096)).astype(np.float32)
    x[:100] = x[:100].astype(BF16).astype(np.float32)  # exactly representable: must not move
    out = np.asarray(stochastic_round(x, jax.random.key(0)), np.float64)
    lo, hi = _neighbours(x)
    assert np.all((out == lo) | (out == hi))
    np.testing.assert_array_equal(out[:100], x[:100])


def test_stochastic_rounding_special_values():
    bits = np.array([0x7F800001, 0xFFFFFFFF, 0x7FC00000], np.uint32)  # nan payloads
    nans = bits.view(np.float32)
    bf16_max = float(ml_dtypes.finfo(BF16).max)
    x = np.array([0.0, -0.0, np.inf, -np.inf, *nans, bf16_max, -bf16_max], np.float32)
    for seed in range(4):
        out = np.asarray(stochastic_round(x, jax.random.key(seed))).astype(np.float32)
        np.testing.assert_array_equal(out[:4], [0.0, -0.0, np.inf, -np.inf])
        np.testing.assert_array_equal(np.signbit(out[:2]), [False, True])
        assert np.all(np.isnan(out[4:7]))
        np.testing.assert_array_equal(out[7:], [bf16_max, -bf16_max])

    # Beyond the largest bfloat16: round to it or to ±inf (inf as the next step), never nan.
    top_ulp = 2.0**120
    x = np.array([bf16_max + 0.25 * top_ulp, -(bf16_max + 0.25 * top_ulp)], np.float32)
    n = 40_000
    out = np.asarray(stochastic_round(np.broadcast_to(x, (n, 2)), jax.random.key(3)))
    out = out.astype(np.float32)
    assert set(np.unique(np.abs(out))) == {np.float32(bf16_max), np.inf}
    frac_inf = np.isinf(out).mean(axis=0)
    assert np.all(np.abs(frac_inf - 0.25) <= Z * np.sqrt(0.25 * 0.75 / n))
    largest = np.asarray(stochastic_round(np.finfo(np.float32).max, jax.random.key(0)))
    assert largest.astype(np.float32) in (np.float32(bf16_max), np.inf)

    # The smallest float32 subnormal rounds to 0 or to the smallest bfloat16 subnormal.
    tiny = np.full(4096, np.float32(2.0**-149))
    out = np.asarray(stochastic_round(tiny, jax.random.key(0)), np.float64)
    assert set(np.unique(out)) <= {0.0, 2.0**-133}


def test_stochastic_rounding_is_reproducible_from_its_key():
    x = jnp.linspace(-3.0, 3.0, 10_001, dtype=jnp.float32) * 1.001
    a = stochastic_round(x, jax.random.key(0))
    b = jax.jit(stochastic_round)(x, jax.random.key(0))
    c = stochastic_round(x, jax.random.key(1))
    np.testing.assert_array_equal(a.view(jnp.uint16), b.view(jnp.uint16))
    assert np.mean(np.asarray(a != c)) > 0.1
    legacy = stochastic_round(x, jax.random.PRNGKey(0))  # raw uint32 keys work too
    assert legacy.shape == x.shape and legacy.dtype == jnp.bfloat16
    keys = [jax.random.key_data(rounding_key(seed, step)) for seed, step in ((3, 5), (3, 6))]
    np.testing.assert_array_equal(keys[0], jax.random.key_data(rounding_key(3, 5)))
    assert not np.array_equal(keys[0], keys[1])


def test_stochastic_rounding_refuses_other_dtypes():
    with pytest.raises(ValueError, match="bfloat16 only"):
        stochastic_round(jnp.ones(3), jax.random.key(0), dtype=jnp.float16)
    with pytest.raises(TypeError, match="floating-point"):
        stochastic_round(jnp.ones(3, jnp.int32), jax.random.key(0))


def _add_repeatedly(policy_name, increment=1e-4, steps=1000, chains=4096):
    """Add ``increment`` to bfloat16 ones ``steps`` times with a policy's update rule."""
    policy = get_policy(policy_name)
    tx = float32_optimizer(optax.identity(), master_copy=policy.master_copy)
    params = {"w": jnp.ones((chains,), jnp.bfloat16)}
    grads = {"w": jnp.full((chains,), increment, jnp.float32)}  # identity: update = grad

    def body(carry, step):
        params, state = carry
        updates, state = tx.update(grads, state, params)
        return (updated_params(policy, params, updates, state, rounding_key(0, step)), state), None

    (params, state), _ = jax.lax.scan(body, (params, tx.init(params)), jnp.arange(steps))
    return np.asarray(params["w"], np.float64), state


def test_round_to_nearest_loses_tiny_updates_that_stochastic_rounding_keeps():
    """1e-4 is below half of bfloat16's step at 1.0 (2⁻⁸): 1,000 additions should give 1.1."""
    expected = 1.0 + 1000 * 1e-4
    rne, _ = _add_repeatedly("bf16_rne")
    np.testing.assert_array_equal(rne, 1.0)  # every single update rounded away

    sr, _ = _add_repeatedly("bf16_sr")
    se = sr.std() / np.sqrt(sr.size)  # standard error of the mean over 4,096 chains
    assert abs(sr.mean() - expected) <= Z * se
    assert sr.std() > 0  # each chain is noisy; only the mean is exact

    master, state = _add_repeatedly("bf16_master")
    master_copy = np.asarray(state.master["w"], np.float64)
    np.testing.assert_allclose(master_copy, expected, rtol=1e-4)  # float32 accumulation error
    np.testing.assert_array_equal(master, float(np.float32(master_copy[0]).astype(BF16)))


# --- the policies in the train step --------------------------------------------------------


def _abstract_state(precision):
    model, optimizer = nnx.eval_shape(
        lambda: build_model_and_optimizer(CFG, TrainConfig(learning_rate=LR, precision=precision))
    )
    return nnx.state(model, nnx.Param), optimizer


@pytest.mark.parametrize("precision", list(POLICIES))
def test_optimizer_state_dtypes_are_explicit(precision):
    policy = get_policy(precision)
    params, optimizer = _abstract_state(precision)
    assert {leaf.dtype for leaf in jax.tree.leaves(params)} == {jnp.dtype(policy.param_dtype)}
    opt_leaves = nnx.to_flat_state(nnx.state(optimizer.opt_state))
    floats = {leaf.dtype for _, leaf in opt_leaves if jnp.issubdtype(leaf.dtype, jnp.floating)}
    assert floats == {jnp.dtype(jnp.float32)}  # Adam moments (and master copy) in float32
    has_master = any(path[0] == "master" for path, _ in opt_leaves)
    assert has_master == policy.master_copy


def test_every_policy_starts_from_the_same_weights():
    first = {}
    for precision in ("fp32", "bf16_sr", "bf16_master"):
        model, optimizer = build_model_and_optimizer(
            CFG, TrainConfig(learning_rate=LR, precision=precision)
        )
        first[precision] = jax.tree.leaves(nnx.state(model, nnx.Param))
        if precision == "bf16_master":
            master = jax.tree.leaves(optimizer.opt_state.master)
    for w32, w16, m in zip(first["fp32"], first["bf16_sr"], master, strict=True):
        np.testing.assert_array_equal(w16, w32.astype(jnp.bfloat16))
        np.testing.assert_array_equal(m, w16.astype(jnp.float32))


def _iterator(seed=0):
    rng = np.random.default_rng(123)
    docs = [rng.integers(4, 32, rng.integers(5, 40)).tolist() for _ in range(40)]
    windows = pack(docs, window=16, separator_id=3, pad_id=0, num_bytes=4000)
    return BatchIterator(windows, 4, seed=seed)


def _states_equal(a, b):
    return all(
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def test_bf16_sr_run_resumes_bit_identical(tmp_path):
    """Rounding keys come from (seed, step), so a resumed run redraws the same noise.

    The run's folder is copied as it was after step 3's checkpoint (later ones deleted, as if
    the process had died there) and resumed from it.
    """
    cfg = TrainConfig(
        learning_rate=LR,
        steps=8,
        batch_size=4,
        log_every=2,
        checkpoint_every=3,
        precision="bf16_sr",
    )
    a, b = tmp_path / "a", tmp_path / "b"
    full = train(CFG, cfg, _iterator(), bytes_per_token=1.0, out_dir=a, progress=False)
    assert Checkpointer(a / "checkpoints").all_steps() == [3, 6, 8]
    shutil.copytree(a, b)
    for step in ("6", "8"):
        shutil.rmtree(b / "checkpoints" / step)
    resumed = train(CFG, cfg, _iterator(), bytes_per_token=1.0, out_dir=b, progress=False)
    assert resumed.trainer.step == 8
    assert _states_equal(resumed.trainer.state, full.trainer.state)


def test_bf16_master_params_are_the_nearest_bfloat16_of_the_master_copy():
    cfg = TrainConfig(learning_rate=LR, steps=3, batch_size=4, precision="bf16_master")
    trainer = train(CFG, cfg, _iterator(), bytes_per_token=1.0, progress=False).trainer
    model, optimizer = nnx.merge(trainer.graphdef, trainer.state)
    params = jax.tree.leaves(nnx.state(model, nnx.Param))
    master = jax.tree.leaves(optimizer.opt_state.master)
    for p, m in zip(params, master, strict=True):
        np.testing.assert_array_equal(p, m.astype(jnp.bfloat16))
    # ... and the master copy holds bits the bfloat16 parameters do not.
    assert not _states_equal(master, [p.astype(jnp.float32) for p in params])


def test_resuming_with_another_policy_is_refused(tmp_path):
    """With the policy's dtypes in the model config (as `train --precision` does)."""
    cfg = TrainConfig(learning_rate=LR, steps=2, batch_size=4, checkpoint_every=2)
    train(CFG, cfg, _iterator(), bytes_per_token=1.0, out_dir=tmp_path, progress=False)
    sr = TrainConfig(**{**cfg.__dict__, "precision": "bf16_sr"})
    with pytest.raises(CheckpointError, match="dtype: 'float32' there, 'bfloat16' here"):
        train(
            get_policy("bf16_sr").apply_to(CFG), sr, _iterator(), bytes_per_token=1.0,
            out_dir=tmp_path, progress=False,
        )  # fmt: skip
