"""Mesh degrees, layouts and placement rules (single process; devices simulated by shapes).

The real multi-device runs (8 fake CPU devices) and the two-process `jax.distributed` run
are in `tests/multidevice/` and `tests/test_multiprocess.py`; `test_multidevice_tier`
launches the former in its own process, because the device count is fixed when JAX starts.
"""

import os
import pathlib
import subprocess
import sys

import jax.numpy as jnp
import pytest
from flax import nnx
from jax.sharding import PartitionSpec

from gopherlite.config import ModelConfig
from gopherlite.sharding import (
    ACTIVATION_RULES,
    LAYOUTS,
    abstract_mesh,
    constrain,
    get_layout,
    logical_spec,
    mesh_degrees,
    parse_mesh,
    state_shardings,
)
from gopherlite.train import TrainConfig, build_model_and_optimizer

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _mesh(data, fsdp, tensor):
    return abstract_mesh({"data": data, "fsdp": fsdp, "tensor": tensor})


def test_parse_mesh():
    assert parse_mesh("data=2,fsdp=2,tensor=2") == {"data": 2, "fsdp": 2, "tensor": 2}
    assert parse_mesh("tensor=4, data=-1") == {"data": -1, "fsdp": 1, "tensor": 4}
    with pytest.raises(ValueError, match="axis=degree pairs"):
        parse_mesh("pipeline=2")
    with pytest.raises(ValueError, match="must be an integer"):
        parse_mesh("data=two")


def test_one_minus_one_is_filled_from_the_device_count():
    assert mesh_degrees({"data": -1, "tensor": 2}, 8) == {"data": 4, "fsdp": 1, "tensor": 2}
    assert mesh_degrees({"fsdp": -1}, 8) == {"data": 1, "fsdp": 8, "tensor": 1}


@pytest.mark.parametrize(
    ("degrees", "message"),
    [
        ({"data": 3}, "needs 3 devices but 8 are available"),
        ({"data": -1, "tensor": 3}, "multiply to 3, which does not divide the 8 devices"),
        ({"data": -1, "fsdp": -1}, "at most one -1"),
        ({"data": 0}, "must be positive"),
        ({"pipe": 2}, "Unknown mesh axes"),
    ],
)
def test_mesh_that_does_not_fit_the_devices_is_explained(degrees, message):
    with pytest.raises(ValueError, match=message):
        mesh_degrees(degrees, 8)


@pytest.mark.parametrize(
    ("layout", "param_spec", "opt_spec"),
    [
        ("dp", PartitionSpec(None, None, None), PartitionSpec(None, None, None)),
        ("zero", PartitionSpec(None, None, None), PartitionSpec(("data", "fsdp"), None, None)),
        ("fsdp", PartitionSpec("fsdp", None, None), PartitionSpec("fsdp", None, None)),
        ("tensor", PartitionSpec(None, "tensor", None), PartitionSpec(None, "tensor", None)),
        (
            "gopher",
            PartitionSpec(None, "tensor", None),
            PartitionSpec(("data", "fsdp"), "tensor", None),
        ),
        ("2d", PartitionSpec("fsdp", "tensor", None), PartitionSpec("fsdp", "tensor", None)),
    ],
)
def test_layouts_place_a_query_kernel_and_its_adam_moment(layout, param_spec, opt_spec):
    cfg = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=32, max_seq_len=8)
    _, state = nnx.split(nnx.eval_shape(lambda: build_model_and_optimizer(cfg, TrainConfig())))
    flat = dict(nnx.to_flat_state(state_shardings(state, _mesh(2, 2, 2), LAYOUTS[layout])))
    kernel = ("blocks", 0, "attn", "query", "kernel")
    assert flat[(0, *kernel)].get_value().spec == param_spec
    assert flat[(1, "opt_state", 1, 0, "mu", *kernel)].get_value().spec == opt_spec


def test_optimizer_state_is_told_apart_by_kind_not_by_position():
    cfg = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=32, max_seq_len=8)

    def optimizer_first():
        model, optimizer = build_model_and_optimizer(cfg, TrainConfig())
        return optimizer, model

    _, state = nnx.split(nnx.eval_shape(optimizer_first))
    flat = dict(nnx.to_flat_state(state_shardings(state, _mesh(4, 1, 1), LAYOUTS["zero"])))
    kernel = ("blocks", 0, "attn", "query", "kernel")
    assert flat[(1, *kernel)].get_value().spec == PartitionSpec(None, None, None)
    assert flat[(0, "opt_state", 1, 0, "mu", *kernel)].get_value().spec == PartitionSpec(
        "data", None, None
    )


def test_constrain_leaves_activations_alone_without_a_mesh_in_context():
    x_BxLxD = jnp.ones((2, 4, 8))
    assert constrain(x_BxLxD, "batch", "length", "embed") is x_BxLxD
    assert ACTIVATION_RULES["batch"] == ("data", "fsdp")


def test_axes_of_size_one_are_dropped_and_never_reused():
    rules = {"embed": ("data", "fsdp"), "heads": "fsdp"}
    assert logical_spec(("embed", "heads"), rules, _mesh(2, 2, 1)) == PartitionSpec(
        ("data", "fsdp"), None
    )
    assert logical_spec(("embed", "heads"), rules, _mesh(1, 2, 1)) == PartitionSpec("fsdp", None)


def test_dimension_not_divisible_by_its_mesh_axis_names_both():
    cfg = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=32, max_seq_len=8)
    _, state = nnx.split(nnx.eval_shape(lambda: build_model_and_optimizer(cfg, TrainConfig())))
    with pytest.raises(ValueError, match=r"dimension 1 \('heads', size 2\).*'tensor' of size 4"):
        state_shardings(state, _mesh(2, 1, 4), LAYOUTS["tensor"])


def test_unknown_layout_lists_the_choices():
    with pytest.raises(ValueError, match="choose one of: dp, zero, fsdp, tensor, gopher, 2d"):
        get_layout("pipeline")


def test_multidevice_tier():
    """Run tests/multidevice in a fresh process that simulates 8 CPU devices."""
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
        "GOPHERLITE_MULTIDEVICE": "1",
    }
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/multidevice"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    print(out.stdout[-3000:], out.stderr[-3000:])
    assert out.returncode == 0, out.stdout[-3000:]
    assert " passed" in out.stdout and "skipped" not in out.stdout
