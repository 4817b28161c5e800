"""The public names of `gopherlite` resolve, and importing the package does not start JAX."""

import subprocess
import sys

import gopherlite


def test_public_names_resolve():
    for name in gopherlite.__all__:
        assert getattr(gopherlite, name) is not None, name
    assert gopherlite.GopherLM.__name__ == "GopherLM"
    assert callable(gopherlite.generate)


def test_import_does_not_import_jax():
    code = "import sys, gopherlite; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
