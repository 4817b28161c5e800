"""Accelerator facts and the measured peak used for model-FLOPs utilisation (MFU).

MFU = (model FLOPs per token × tokens per second) / peak FLOP/s of the devices in use. On
accelerators the peak is the vendor's dense bfloat16 figure per chip (below); on a CPU there is
no meaningful spec sheet, so the peak is measured once per process with a large float32 matmul.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Chip:
    """One accelerator chip as vendors specify it.

    Attributes:
      name: Short name used on the command line (``v3``, ``h100``).
      peak_bf16_flops: Dense bfloat16 matmul FLOP/s per chip (vendor specification).
      hbm_bytes: High-bandwidth memory per chip in bytes.
      devices_per_chip: JAX devices per chip (TPU v2/v3 expose each of their two cores).
    """

    name: str
    peak_bf16_flops: float
    hbm_bytes: int
    devices_per_chip: int = 1

    @property
    def hbm_bytes_per_device(self) -> int:
        """Memory of one JAX device (one TPU v3 core: 16 GiB)."""
        return self.hbm_bytes // self.devices_per_chip


_GiB = 1024**3

# Vendor specifications per chip (dense bf16, no sparsity). TPU v3 has two cores of 16 GiB each
# (Gopher Sec. 3.3 quotes 16 GiB per core).
CHIPS: dict[str, Chip] = {
    "v3": Chip("v3", 123e12, 32 * _GiB, devices_per_chip=2),
    "v4": Chip("v4", 275e12, 32 * _GiB),
    "v5e": Chip("v5e", 197e12, 16 * _GiB),
    "v5p": Chip("v5p", 459e12, 95 * _GiB),
    "v6e": Chip("v6e", 918e12, 32 * _GiB),
    "a100": Chip("a100", 312e12, 80 * _GiB),
    "h100": Chip("h100", 989e12, 80 * _GiB),
}


@functools.cache
def measured_matmul_flops(size: int = 1024, dtype: str = "float32", repeats: int = 5) -> float:
    """Measure this process's best matmul throughput on the default device.

    Times a jitted ``[size, size] @ [size, size]`` product (2·size³ FLOPs) after compilation and
    keeps the fastest of ``repeats`` runs. Cached per process.

    Args:
      size: Matrix side.
      dtype: Operand dtype name; bfloat16 accumulates in float32.
      repeats: Timed runs.

    Returns:
      FLOP/s of the fastest run.
    """
    a = jnp.ones((size, size), dtype)
    matmul = jax.jit(lambda x, y: jnp.matmul(x, y, preferred_element_type=jnp.float32))
    matmul(a, a).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, a).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def chip_for_device(device: jax.Device) -> Chip | None:
    """Identify a device's chip from its ``device_kind`` (None for CPUs and unknown kinds).

    Args:
      device: A JAX device.

    Returns:
      The matching `Chip`, or None.
    """
    kind = device.device_kind.lower().replace(" ", "")
    for key, pattern in [
        ("v6e", "v6"),
        ("v5p", "v5p"),
        ("v5e", "v5"),  # "TPU v5 lite" and "TPU v5e"
        ("v4", "v4"),
        ("v3", "v3"),
        ("h100", "h100"),
        ("a100", "a100"),
    ]:
        if pattern in kind:
            return CHIPS[key]
    return None


def peak_flops(devices: list[jax.Device] | None = None) -> tuple[float, str]:
    """Peak FLOP/s of the given devices (default: all) and where the number comes from.

    Args:
      devices: Devices in use; defaults to ``jax.devices()``.

    Returns:
      ``(flop_per_second, source)`` where source says "spec: <chip> bf16" or "measured fp32
      matmul" for CPUs and unknown chips.
    """
    devices = devices or jax.devices()
    chip = chip_for_device(devices[0])
    if chip is not None:
        return chip.peak_bf16_flops * len(devices), f"spec: {chip.name} bf16 × {len(devices)}"
    # All CPU "devices" of one host share the same cores, so one measurement is the peak.
    return measured_matmul_flops(), "measured fp32 matmul"
