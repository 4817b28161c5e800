"""The multi-device tier needs 8 simulated CPU devices, set before JAX starts.

`tests/test_sharding.py::test_multidevice_tier` runs this folder in a fresh process with
``XLA_FLAGS=--xla_force_host_platform_device_count=8``.
"""

import jax
import pytest


def pytest_collection_modifyitems(items):
    if jax.device_count() < 8:
        reason = "needs 8 devices; run through tests/test_sharding.py::test_multidevice_tier"
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))
