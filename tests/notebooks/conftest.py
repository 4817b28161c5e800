"""Notebook tier fixtures: a Jupyter kernel that runs this test session's Python.

The kernel spec is written to a temporary folder and names ``sys.executable`` explicitly, so
the notebooks run in the same virtual environment as the tests even when the machine has other
``python3`` kernels installed (for example in ``~/.local/share/jupyter``).
"""

import json
import sys

import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

KERNEL_NAME = "gopherlite-test"


@pytest.fixture(scope="session")
def new_kernel_manager(tmp_path_factory):
    """A factory of kernel managers for a fresh kernel on ``sys.executable``."""
    kernels = tmp_path_factory.mktemp("kernels")
    spec_dir = kernels / KERNEL_NAME
    spec_dir.mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gopherlite tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    return lambda: KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
