"""`gopherlite.workbook.notebook`: accelerator detection, XLA flags, smoke mode and the set-up call.

`setup()` must run before JAX starts, and this test process has already imported JAX (see
tests/conftest.py), so the end-to-end checks run in fresh subprocesses.
"""

import os
import stat
import subprocess
import sys

import pytest

from gopherlite.workbook import notebook


def _run(code, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "GOPHERLITE_SMOKE")}
    env |= {"JAX_PLATFORMS": "cpu"} | env_changes
    env = {k: v for k, v in env.items() if v is not None}  # None: leave the variable unset
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )


@pytest.fixture
def no_devices(tmp_path, monkeypatch):
    """An empty /dev, an empty PATH and no TPU or platform variables."""
    dev = tmp_path / "dev"
    dev.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setattr(notebook, "_DEV", dev)
    monkeypatch.setenv("PATH", str(bin_dir))
    for name in ("TPU_NAME", "COLAB_TPU_ADDR", "JAX_PLATFORMS"):
        monkeypatch.delenv(name, raising=False)
    return dev, bin_dir


def test_pick_follows_smoke_mode(monkeypatch):
    monkeypatch.setattr(notebook, "SMOKE", False)
    assert notebook.pick(1000, 10) == 1000
    monkeypatch.setattr(notebook, "SMOKE", True)
    assert notebook.pick(1000, 10) == 10


def test_smoke_is_read_from_the_environment():
    code = "from gopherlite.workbook import notebook; print(notebook.SMOKE)"
    assert _run(code, GOPHERLITE_SMOKE="1").stdout.strip() == "True"
    assert _run(code).stdout.strip() == "False"


def test_importing_the_module_does_not_import_jax():
    code = "import sys; import gopherlite.workbook.notebook; print('jax' in sys.modules)"
    assert _run(code).stdout.strip() == "False"


def test_with_device_count_keeps_other_flags_and_replaces_an_old_count():
    assert notebook.with_device_count("", 8) == "--xla_force_host_platform_device_count=8"
    flags = "--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=2 --a=b"
    assert notebook.with_device_count(flags, 4) == (
        "--xla_cpu_enable_fast_math=false --a=b --xla_force_host_platform_device_count=4"
    )


def test_no_accelerator(no_devices):
    assert notebook.detect_accelerator() is None


@pytest.mark.parametrize("device", ["accel0", "vfio"])
def test_tpu_device_files(no_devices, device):
    dev, _ = no_devices
    (dev / device).mkdir()
    assert notebook.detect_accelerator() == "tpu"


@pytest.mark.parametrize("name", ["TPU_NAME", "COLAB_TPU_ADDR"])
def test_tpu_environment_variables(no_devices, monkeypatch, name):
    monkeypatch.setenv(name, "10.0.0.2:8470")
    assert notebook.detect_accelerator() == "tpu"


def test_gpu_device_file(no_devices):
    dev, _ = no_devices
    (dev / "nvidia0").touch()
    assert notebook.detect_accelerator() == "gpu"


def test_nvidia_smi_on_path(no_devices):
    _, bin_dir = no_devices
    tool = bin_dir / "nvidia-smi"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    assert notebook.detect_accelerator() == "gpu"


def test_jax_platforms_cpu_means_no_accelerator(no_devices, monkeypatch):
    dev, _ = no_devices
    (dev / "nvidia0").touch()
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    assert notebook.detect_accelerator() is None


def test_setup_simulates_cpu_devices_and_prints_a_table():
    code = (
        "import os; from gopherlite.workbook import notebook; notebook.setup(4); import jax; "
        "print('count', jax.device_count()); print('flags', os.environ['XLA_FLAGS'])"
    )
    out = _run(code, XLA_FLAGS="--xla_cpu_enable_fast_math=false").stdout
    assert "count 4" in out
    assert "--xla_cpu_enable_fast_math=false" in out and "device_count=4" in out
    assert "process  platform  kind  count" in out
    assert "4 simulated CPU device(s)" in out and "full mode" in out


def test_setup_after_jax_warns_to_restart_the_kernel():
    code = "import jax; from gopherlite.workbook import notebook; notebook.setup(4)"
    result = _run(code)
    assert "Restart the kernel" in result.stderr
    assert "1 simulated CPU device(s)" in result.stdout


def test_setup_run_twice_does_not_warn():
    code = "from gopherlite.workbook import notebook; notebook.setup(3); notebook.setup(3)"
    result = _run(code, GOPHERLITE_SMOKE="1")
    assert "Restart" not in result.stderr
    assert result.stdout.count("3 simulated CPU device(s); smoke mode") == 2


def test_setup_rejects_zero_devices():
    with pytest.raises(ValueError, match="at least 1"):
        notebook.setup(0)


def test_on_a_simulated_tpu_runtime_the_cpu_devices_are_still_there():
    """Colab's one-chip TPU runtime, simulated: TPU_NAME set, no JAX_PLATFORMS, a CPU machine."""
    code = (
        "import os; from gopherlite.workbook import notebook; notebook.setup(8); import jax; "
        "print('cpu', len(jax.devices('cpu'))); print('platforms', os.environ.get('JAX_PLATFORMS'))"
    )
    out = _run(code, TPU_NAME="colab-v5e-1", JAX_PLATFORMS=None).stdout
    assert "TPU found, using it" in out
    assert "cpu 8" in out and "platforms None" in out  # the chip would stay JAX's default


def test_the_sharding_chapter_meshes_cpu_devices_when_an_accelerator_is_found():
    code = (
        "import os; from gopherlite.workbook import notebook; notebook.setup(8, cpu_mesh=True); "
        "import jax; from gopherlite.sharding import make_mesh; mesh = make_mesh(2, 2, 2); "
        "print('mesh', mesh.devices.size, {d.platform for d in mesh.devices.flat}); "
        "print('platforms', os.environ['JAX_PLATFORMS'])"
    )
    out = _run(code, TPU_NAME="colab-v5e-1", JAX_PLATFORMS=None).stdout
    assert "TPU found, but this chapter meshes 8 simulated CPU devices" in out
    assert "mesh 8 {'cpu'}" in out and "platforms cpu" in out
    without = _run(code, JAX_PLATFORMS="cpu").stdout  # no accelerator: the same 8 devices
    assert "no accelerator found, 8 simulated CPU device(s)" in without
