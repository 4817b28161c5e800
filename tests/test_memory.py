"""Memory per device: exact state bytes from the sharding rules, and "will it fit"."""

import json

import pytest

from gopherlite.cli import main
from gopherlite.config import PRESETS
from gopherlite.costs import activation_bytes_per_device, memory_per_device, smallest_fit

TIB = 2**40


def test_gophers_state_is_the_papers_2_5_tib():
    """G Sec. 3.3: bf16 parameters plus fp32 Adam state of the 280B model take 2.5 TiB."""
    e = memory_per_device(PRESETS["280b"], chip="v3", mesh={}, layout="dp", precision="bf16_sr")
    assert (e.params + e.optimizer) / TIB == pytest.approx(2.5, abs=0.05)
    assert not e.fits


def test_280b_fits_on_a_named_layout_and_device_count():
    e = smallest_fit(PRESETS["280b"], chip="v3", precision="bf16_sr", remat=True)
    assert e is not None and e.fits and e.total <= 16 * 2**30
    devices = e.mesh["data"] * e.mesh["fsdp"] * e.mesh["tensor"]
    assert 64 <= devices <= 8192  # Gopher itself used up to 4,096 TPU v3 chips


def test_layouts_divide_the_right_state():
    cfg = PRESETS["44m"]
    dp = memory_per_device(cfg, chip="v4", mesh={"data": 8}, layout="dp")
    zero = memory_per_device(cfg, chip="v4", mesh={"data": 8}, layout="zero")
    fsdp = memory_per_device(cfg, chip="v4", mesh={"fsdp": 8}, layout="fsdp")
    assert zero.params == dp.params
    assert zero.optimizer == pytest.approx(dp.optimizer / 8, rel=0.01)
    assert fsdp.params == pytest.approx(dp.params / 8, rel=0.01)
    assert fsdp.optimizer == pytest.approx(dp.optimizer / 8, rel=0.01)


def test_precision_changes_bytes_per_parameter():
    cfg = PRESETS["117m"]
    fp32 = memory_per_device(cfg, chip="a100", mesh={}, precision="fp32")
    master = memory_per_device(cfg, chip="a100", mesh={}, precision="bf16_master")
    assert master.params == pytest.approx(fp32.params / 2, rel=1e-6)
    assert master.optimizer == pytest.approx(fp32.optimizer * 1.5, rel=1e-3)  # + fp32 copy


def test_remat_and_tensor_parallelism_shrink_activations():
    cfg = PRESETS["1.4b"]
    full = activation_bytes_per_device(cfg, 1, 2048, tensor=1, remat=False)
    assert activation_bytes_per_device(cfg, 1, 2048, tensor=1, remat=True) < full / 5
    assert activation_bytes_per_device(cfg, 1, 2048, tensor=4, remat=False) < full / 2


def test_memory_cli(capsys):
    argv = ["memory", "--preset", "44m", "--chip", "v5e", "--mesh", "fsdp=4", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mesh"] == {"data": 1, "fsdp": 4, "tensor": 1} and report["fits"] is True
    assert main(["memory", "--preset", "44m", "--chip", "tpu9"]) == 2
    assert "Unknown chip 'tpu9'" in capsys.readouterr().err
    assert main(["memory", "--preset", "44m", "--chip", "v4", "--mesh", "data=-1"]) == 2
    assert "no -1" in capsys.readouterr().err
