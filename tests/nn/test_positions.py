"""Sinusoid table and the relative-shift trick (Transformer-XL Sec. 3.3, App. B)."""

import jax.numpy as jnp
import numpy as np
import pytest

from gopherlite.nn.positions import clamp_distances, rel_shift, sinusoids


def test_sinusoids_are_sin_half_then_cos_half():
    d = 8
    pos = np.array([0.0, 1.0, 5.0, 100.0])
    table = np.asarray(sinusoids(jnp.asarray(pos), d))
    for p_i, p in enumerate(pos):
        for k in range(d // 2):
            freq = 1.0 / 10000 ** (2 * k / d)
            assert table[p_i, k] == pytest.approx(np.sin(p * freq), abs=1e-5)
            assert table[p_i, d // 2 + k] == pytest.approx(np.cos(p * freq), abs=1e-5)


@pytest.mark.parametrize(("Q", "C"), [(1, 1), (1, 9), (5, 5), (7, 7), (4, 11), (13, 13)])
def test_rel_shift_moves_row_i_left_by_q_minus_1_minus_i(rng, Q, C):
    x = rng.normal(size=(2, 3, Q, C)).astype(np.float32)
    got = np.asarray(rel_shift(jnp.asarray(x)))
    offset = C - Q  # keys before the first query (cached positions)
    for i in range(Q):
        for j in range(offset + i + 1):  # every key the query may see
            np.testing.assert_array_equal(got[:, :, i, j], x[:, :, i, j + Q - 1 - i])


def test_clamp_distances():
    d = jnp.array([-3, 0, 4, 9, 12])
    np.testing.assert_array_equal(clamp_distances(d, None), [0, 0, 4, 9, 12])
    np.testing.assert_array_equal(clamp_distances(d, 9), [0, 0, 4, 9, 9])
