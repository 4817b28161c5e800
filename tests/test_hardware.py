"""The chip table, chip counting and the peak FLOP/s that MFU divides by.

Devices are stand-ins with the attributes JAX devices carry (``device_kind``, ``platform``,
``coords``), so every accelerator is covered without one.
"""

from types import SimpleNamespace

import pytest

from gopherlite import hardware
from gopherlite.hardware import CHIPS, chip_for_device, count_chips, peak_flops


def _device(kind, platform="gpu", coords=None, core=0):
    return SimpleNamespace(device_kind=kind, platform=platform, coords=coords, core_on_chip=core)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("TPU v3", "v3"), ("TPU v4", "v4"), ("TPU v5 lite", "v5e"), ("TPU v5e", "v5e"),
     ("TPU v5", "v5p"), ("TPU v5p", "v5p"), ("TPU v6 lite", "v6e"), ("TPU7x", "v7"),
     ("Tesla T4", "t4"), ("NVIDIA L4", "l4"), ("NVIDIA A100-SXM4-40GB", "a100-40gb"),
     ("NVIDIA A100-SXM4-80GB", "a100"), ("NVIDIA H100 PCIe", "h100-pcie"),
     ("NVIDIA H100 80GB HBM3", "h100"), ("NVIDIA H200", "h200"), ("NVIDIA B200", "b200")],
)  # fmt: skip
def test_device_kinds_people_use_find_their_chip(kind, name):
    assert chip_for_device(_device(kind)).name == name


def test_kinds_outside_the_table_are_not_guessed():
    for kind in ("NVIDIA L40S", "NVIDIA GeForce RTX 4090", "cpu", "AMD Instinct MI300X"):
        assert chip_for_device(_device(kind)) is None, kind


def test_every_chip_states_its_source_and_a_plausible_peak():
    for chip in CHIPS.values():
        assert chip.source and chip.kinds
        assert 50e12 <= chip.peak_bf16_flops <= 3e15 and chip.hbm_bytes >= 16 * 1024**3


def test_tpu_v3_peak_counts_chips_not_cores():
    # Eight v3 devices: four chips with two TensorCores each.
    devices = [_device("TPU v3", "tpu", coords=(i // 2, 0, 0), core=i % 2) for i in range(8)]
    assert count_chips(devices, CHIPS["v3"]) == 4
    flops, source = peak_flops(devices)
    assert flops == 4 * 123e12
    assert "× 4 chip(s)" in source and "TPU v3" in source
    # Without coordinates, devices_per_chip tells the count.
    assert count_chips([_device("TPU v3", "tpu")] * 8, CHIPS["v3"]) == 4
    assert CHIPS["v3"].hbm_bytes_per_device == 16 * 1024**3  # Gopher Sec. 3.3


def test_gpus_count_one_chip_per_device():
    flops, source = peak_flops([_device("NVIDIA H200")] * 8)
    assert flops == 8 * 989e12 and "h200" in source


def test_an_unknown_accelerator_is_measured_once_and_multiplied(monkeypatch):
    calls = []

    def fake_measure(size=1024, dtype="float32", repeats=5, device=None):
        calls.append((dtype, device))
        return 100e12

    monkeypatch.setattr(hardware, "measured_matmul_flops", fake_measure)
    devices = [_device("NVIDIA L40S") for _ in range(4)]
    flops, source = peak_flops(devices)
    assert flops == 4 * 100e12
    assert calls == [("bfloat16", devices[0])]
    assert source.startswith("measured: bf16 matmul on one 'NVIDIA L40S' device × 4")


def test_cpu_devices_share_one_measurement(monkeypatch):
    monkeypatch.setattr(hardware, "measured_matmul_flops", lambda *a, **k: 50e9)
    flops, source = peak_flops([_device("cpu", "cpu") for _ in range(8)])
    assert flops == 50e9 and source == "measured: fp32 matmul on this host's CPU"


def test_the_real_cpu_measurement_is_positive_and_cached():
    first = hardware.measured_matmul_flops(128, "float32", 2)
    assert first > 0 and hardware.measured_matmul_flops(128, "float32", 2) == first
