"""Accelerator facts and the peak FLOP/s that model-FLOPs utilisation (MFU) divides by.

MFU = (model FLOPs per token × tokens per second) / peak FLOP/s of the devices in use. For a chip
in `CHIPS` the peak is the vendor's dense 16-bit matmul figure per *chip* times the number of
chips in use: a TPU v3 or TPU7x chip shows JAX two devices (one per TensorCore), so eight v3
devices are four chips, not eight. A CPU has no meaningful spec sheet, so its peak is measured
once per process with a float32 matmul (all simulated CPU devices share the same cores). An
accelerator missing from the table is measured on one device with a bfloat16 matmul and the
result multiplied by the device count. `peak_flops` always says which of these it used.

The module also keeps the chip-to-chip bandwidths that chapter 07's worked problems price
collectives with: TPU ICI links (`ICI_LINKS`) and the data-centre network per host
(`DCN_BYTES_PER_S_PER_HOST`), each with its source and how precise it is.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

_GiB = 1024**3
_TPU_DOCS = "Google Cloud TPU documentation, system architecture of"
_NVIDIA = "NVIDIA datasheet,"


@dataclasses.dataclass(frozen=True)
class Chip:
    """One accelerator chip as its vendor specifies it.

    Attributes:
      name: Short name used on the command line (``v3``, ``h100``).
      peak_bf16_flops: Dense (no sparsity) 16-bit matmul FLOP/s per chip: bfloat16, or float16
        on the T4, which has no bfloat16 units.
      hbm_bytes: High-bandwidth memory per chip in bytes.
      source: Where the two numbers come from.
      devices_per_chip: JAX devices per chip (TPU v3 and TPU7x expose each of two TensorCores).
      kinds: Regular expressions matched against a device's lower-cased ``device_kind``.
    """

    name: str
    peak_bf16_flops: float
    hbm_bytes: int
    source: str
    devices_per_chip: int = 1
    kinds: tuple[str, ...] = ()

    @property
    def hbm_bytes_per_device(self) -> int:
        """Memory of one JAX device (one TPU v3 core: 16 GiB)."""
        return self.hbm_bytes // self.devices_per_chip


# Order matters where one kind string contains another's pattern (v5p before v5e, "H100 PCIe"
# before H100, the 40 GB A100 before the 80 GB one). Gopher Sec. 3.3 quotes 16 GiB per TPUv3 core.
CHIPS: dict[str, Chip] = {
    chip.name: chip
    for chip in (
        Chip("v3", 123e12, 32 * _GiB, f"{_TPU_DOCS} TPU v3", 2, (r"v3",)),
        Chip("v4", 275e12, 32 * _GiB, f"{_TPU_DOCS} TPU v4", 1, (r"v4",)),
        Chip("v5p", 459e12, 95 * _GiB, f"{_TPU_DOCS} TPU v5p", 1, (r"v5p", r"v5$")),
        Chip("v5e", 197e12, 16 * _GiB, f"{_TPU_DOCS} TPU v5e", 1, (r"v5 ?lite", r"v5e")),
        Chip("v6e", 918e12, 32 * _GiB, f"{_TPU_DOCS} TPU v6e", 1, (r"v6 ?lite", r"v6e")),
        Chip("v7", 2307e12, 192 * _GiB, f"{_TPU_DOCS} TPU7x", 2, (r"tpu ?7", r"v7")),
        Chip("t4", 65e12, 16 * _GiB, f"{_NVIDIA} T4 (FP16 tensor cores)", 1, (r"\bt4\b",)),
        Chip("l4", 121e12, 24 * _GiB, f"{_NVIDIA} L4", 1, (r"\bl4\b",)),
        Chip("a100-40gb", 312e12, 40 * _GiB, f"{_NVIDIA} A100 40GB", 1, (r"a100.*40gb",)),
        Chip("a100", 312e12, 80 * _GiB, f"{_NVIDIA} A100 80GB", 1, (r"a100",)),
        Chip("h100-pcie", 756e12, 80 * _GiB, f"{_NVIDIA} H100 PCIe", 1, (r"h100.*pcie",)),
        Chip("h100", 989e12, 80 * _GiB, f"{_NVIDIA} H100 SXM", 1, (r"h100",)),
        Chip("h200", 989e12, 141 * _GiB, f"{_NVIDIA} H200 SXM", 1, (r"h200",)),
        Chip("b200", 2250e12, 180 * _GiB, f"{_NVIDIA} HGX B200, per GPU", 1, (r"b200",)),
    )
}


@functools.cache
def measured_matmul_flops(
    size: int = 1024, dtype: str = "float32", repeats: int = 5, device: Any = None
) -> float:
    """Measure the best matmul throughput of one device in this process.

    Times a jitted ``[size, size] @ [size, size]`` product (2·size³ FLOPs) after compilation and
    keeps the fastest of ``repeats`` runs. Cached per process.

    Args:
      size: Matrix side.
      dtype: Operand dtype name; bfloat16 accumulates in float32.
      repeats: Timed runs.
      device: The device to measure (default: JAX's default device).

    Returns:
      FLOP/s of the fastest run.
    """
    a = jax.device_put(jnp.ones((size, size), dtype), device)
    matmul = jax.jit(lambda x, y: jnp.matmul(x, y, preferred_element_type=jnp.float32))
    matmul(a, a).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, a).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def chip_for_device(device: Any) -> Chip | None:
    """Identify a device's chip from its ``device_kind`` (None for CPUs and unknown kinds).

    Args:
      device: A JAX device (anything with ``device_kind``).

    Returns:
      The matching `Chip`, or None.
    """
    kind = device.device_kind.lower().strip()
    for chip in CHIPS.values():
        if any(re.search(pattern, kind) for pattern in chip.kinds):
            return chip
    return None


def count_chips(devices: Sequence[Any], chip: Chip) -> int:
    """How many physical chips a list of devices spans.

    TPU devices carry their chip's coordinates (``coords``, and ``slice_index`` across slices),
    so two TensorCores of one chip count once; devices without coordinates count
    ``devices_per_chip`` to a chip.

    Args:
      devices: The devices in use.
      chip: Their chip.

    Returns:
      The number of chips.
    """
    if all(getattr(d, "coords", None) is not None for d in devices):
        return len({(getattr(d, "slice_index", 0), tuple(d.coords)) for d in devices})
    return math.ceil(len(devices) / chip.devices_per_chip)


def peak_flops(devices: Sequence[Any] | None = None) -> tuple[float, str]:
    """Peak FLOP/s of the given devices (default: all) and where the number comes from.

    Args:
      devices: Devices in use; defaults to ``jax.devices()``.

    Returns:
      ``(flop_per_second, source)``; the source names the chip, its per-chip figure and the
      chip count, or says the peak was measured and how.
    """
    devices = list(devices or jax.devices())
    first = devices[0]
    chip = chip_for_device(first)
    if chip is not None:
        chips = count_chips(devices, chip)
        per_chip = chip.peak_bf16_flops
        source = (
            f"spec: {chip.name} {per_chip / 1e12:,.0f} TFLOP/s × {chips} chip(s) ({chip.source})"
        )
        return per_chip * chips, source
    if first.platform == "cpu":
        # All CPU "devices" of one host share the same cores, so one measurement is the peak.
        return measured_matmul_flops(), "measured: fp32 matmul on this host's CPU"
    per_device = measured_matmul_flops(dtype="bfloat16", device=first)
    source = (
        f"measured: bf16 matmul on one {first.device_kind!r} device × {len(devices)} (not in "
        "gopherlite.hardware.CHIPS)"
    )
    return per_device * len(devices), source


def device_memory_bytes(device: Any) -> int | None:
    """Memory one device can give a program: the runtime's limit on accelerators; on a CPU,
    the host's available memory (Linux ``MemAvailable``, else all physical memory), which every
    CPU device of the process shares.

    Args:
      device: A `jax.Device`.

    Returns:
      Bytes, or None when the runtime does not say.
    """
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"])
    if device.platform != "cpu":
        return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


# --- Links between chips (chapter 07's worked problems) ----------------------------------------
_SCALING_BOOK = (
    "Austin et al. 2025, How to Scale Your Model (the JAX scaling book), Part 2 'How to Think "
    "About TPUs', interconnect table (https://jax-ml.github.io/scaling-book/tpus/)"
)


@dataclasses.dataclass(frozen=True)
class IciLink:
    """One inter-chip interconnect (ICI) link of a TPU, as the scaling book tabulates it.

    Attributes:
      one_way: Bytes per second in one direction.
      bidirectional: Bytes per second in both directions together; the figure a ring with a
        wraparound link can use, and the one the scaling book's collective times divide by.
      source: Where the numbers come from.
    """

    one_way: float
    bidirectional: float
    source: str


# Keys are `CHIPS` names (the book's "TPU v4p" row is our "v4"). These are round figures per link,
# from the book's revision we read; a chip has several links (v3: a 2-D torus, 4 per chip).
ICI_LINKS: dict[str, IciLink] = {
    "v3": IciLink(1e11, 2e11, _SCALING_BOOK),
    "v4": IciLink(4.5e10, 9e10, _SCALING_BOOK),
    "v5p": IciLink(1e11, 2e11, _SCALING_BOOK),
    "v5e": IciLink(5e10, 1e11, _SCALING_BOOK),
    "v6e": IciLink(1e11, 2e11, _SCALING_BOOK),
}

DCN_BYTES_PER_S_PER_HOST = 2.5e10
"""Data-centre network (DCN) bandwidth of one TPU host, shared by all of its chips.

The scaling book (Part 2) says only that DCN bandwidth is "typically around" this figure per
host, for no particular TPU generation, so treat it as an order of magnitude: APPROXIMATE, and
ASSUMED to hold for TPUv3 hosts."""

DCN_SOURCE = _SCALING_BOOK.replace("interconnect table", "text below the interconnect table")
