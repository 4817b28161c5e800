"""The set-up every workbook chapter runs first: devices, smoke mode and a device table.

A chapter's second cell is::

    from gopherlite.workbook import notebook

    notebook.setup()

:func:`setup` asks XLA for several simulated CPU devices *before* JAX starts its backend
(``XLA_FLAGS=--xla_force_host_platform_device_count=8``), so sharding code runs unchanged on a
laptop (the trick of the uvadlc notebooks), and on a one-chip Colab runtime the sharding
chapter can still mesh 8 CPU devices (``setup(cpu_mesh=True)``). Accelerators are detected from
device files and tools, without importing JAX, because importing JAX is what would fix the
device count. The module itself never imports JAX at import time.

Smoke mode (``GOPHERLITE_SMOKE=1``) shrinks every measured run so that the test suite can
execute all chapters in minutes; ``pick(full, smoke)`` chooses a size accordingly.
"""

from __future__ import annotations

import collections
import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

SMOKE: bool = os.environ.get("GOPHERLITE_SMOKE", "") == "1"
"""Whether the chapter runs in smoke mode (environment variable ``GOPHERLITE_SMOKE=1``)."""

_DEV = Path("/dev")
_DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"
_TPU_ENV_VARS = ("TPU_NAME", "COLAB_TPU_ADDR")


def pick(full: T, smoke: T) -> T:
    """Choose a size for the current mode.

    Args:
      full: The value a learner gets (the default).
      smoke: The smaller value used when ``GOPHERLITE_SMOKE=1``.

    Returns:
      ``smoke`` in smoke mode, otherwise ``full``.
    """
    return smoke if SMOKE else full


def detect_accelerator() -> str | None:
    """Guess whether JAX will find an accelerator, without importing JAX.

    TPU: a ``/dev/accel*`` or ``/dev/vfio`` device, or ``TPU_NAME`` / ``COLAB_TPU_ADDR`` set.
    GPU: ``/dev/nvidia0`` or ``nvidia-smi`` on ``PATH``. ``JAX_PLATFORMS=cpu`` means no
    accelerator whatever the hardware, since JAX will then use only the CPU.

    Returns:
      ``"tpu"``, ``"gpu"`` or ``None``.
    """
    if os.environ.get("JAX_PLATFORMS", "").strip().lower() == "cpu":
        return None
    if any(_DEV.glob("accel*")) or (_DEV / "vfio").exists():
        return "tpu"
    if any(os.environ.get(name) for name in _TPU_ENV_VARS):
        return "tpu"
    if (_DEV / "nvidia0").exists() or shutil.which("nvidia-smi"):
        return "gpu"
    return None


def with_device_count(xla_flags: str, count: int) -> str:
    """Set the simulated CPU device count in an ``XLA_FLAGS`` string, keeping other flags.

    Args:
      xla_flags: The current value of ``XLA_FLAGS`` (may be empty).
      count: Number of CPU devices to simulate.

    Returns:
      The flags with exactly one ``--xla_force_host_platform_device_count=count``.
    """
    others = [flag for flag in xla_flags.split() if not flag.startswith(_DEVICE_COUNT_FLAG)]
    return " ".join([*others, f"{_DEVICE_COUNT_FLAG}={count}"])


def setup(fake_cpu_devices: int = 8, *, cpu_mesh: bool = False) -> None:
    """Prepare devices for a chapter and print a device table.

    Unless JAX has already been imported, ``fake_cpu_devices`` CPU devices are simulated
    through ``XLA_FLAGS`` whether or not an accelerator is found: the flag touches only the
    host's CPU platform, so on a one-chip Colab TPU or GPU runtime the chip stays JAX's default
    and ``jax.devices("cpu")`` still holds the simulated devices. A sharding chapter passes
    ``cpu_mesh=True``: with an accelerator it then runs on the CPU devices alone
    (``JAX_PLATFORMS=cpu``), because one chip leaves a mesh nothing to split. If JAX was already
    imported with a different device count, the flag can no longer take effect: a warning says
    to restart the kernel and run the set-up cells first. Then JAX is imported and the devices
    are listed.

    Args:
      fake_cpu_devices: CPU devices to simulate.
      cpu_mesh: Run on the simulated CPU devices even when an accelerator is present (for
        chapters that demonstrate meshes; on a machine with 8 or more chips, leave it False to
        mesh the chips themselves).
    """
    if fake_cpu_devices < 1:
        raise ValueError(f"fake_cpu_devices must be at least 1, got {fake_cpu_devices}.")
    accelerator = detect_accelerator()
    jax_was_imported = "jax" in sys.modules
    on_cpu = accelerator is None or cpu_mesh
    if not jax_was_imported:
        os.environ["XLA_FLAGS"] = with_device_count(
            os.environ.get("XLA_FLAGS", ""), fake_cpu_devices
        )
        if accelerator is not None and cpu_mesh:
            os.environ["JAX_PLATFORMS"] = "cpu"

    import jax  # imported here, after XLA_FLAGS is set

    if on_cpu and jax_was_imported and jax.device_count() != fake_cpu_devices:
        warnings.warn(
            f"JAX was imported before notebook.setup(), so the {fake_cpu_devices} simulated CPU "
            f"devices could not be created (JAX sees {jax.device_count()}). Restart the kernel "
            f"(Kernel > Restart) and run the set-up cells before anything else.",
            stacklevel=2,
        )
    print(_describe(accelerator, jax.device_count(), cpu_mesh and accelerator is not None))
    print(device_table())


def device_table() -> str:
    """A text table of JAX's devices: one row per process, platform and device kind.

    Returns:
      The table, with a total line. Imports JAX.
    """
    import jax

    counts = collections.Counter(
        (device.process_index, device.platform, device.device_kind) for device in jax.devices()
    )
    rows = [("process", "platform", "kind", "count")]
    rows += [(str(p), platform, kind, str(n)) for (p, platform, kind), n in sorted(counts.items())]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.append(
        f"jax {jax.__version__}: {jax.device_count()} device(s) in {jax.process_count()} "
        f"process(es); this is process {jax.process_index()}."
    )
    return "\n".join(line.rstrip() for line in lines)


def _describe(accelerator: str | None, device_count: int, meshing_cpus: bool = False) -> str:
    """One line on what :func:`setup` found and whether smoke mode is on."""
    mode = "smoke mode (GOPHERLITE_SMOKE=1): small, fast runs" if SMOKE else "full mode"
    if meshing_cpus:
        return (
            f"gopherlite: {accelerator.upper()} found, but this chapter meshes {device_count} "
            f"simulated CPU devices: a one-chip runtime leaves a mesh nothing to split, and the "
            f"layouts work the same on CPU devices; {mode}."
        )
    if accelerator is not None:
        return f"gopherlite: {accelerator.upper()} found, using it; {mode}."
    return f"gopherlite: no accelerator found, {device_count} simulated CPU device(s); {mode}."
