"""`workbook.experiments.relative_attention`: the shift step by step, the clamp, the sinusoids."""

import jax.numpy as jnp
import numpy as np
import pytest

from gopherlite.nn.positions import rel_shift
from gopherlite.workbook.experiments import relative_attention as ra


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (1, 6)])
def test_shift_steps_end_where_rel_shift_does(shape):
    x = np.random.default_rng(0).normal(size=shape)
    steps = ra.rel_shift_steps(x)
    Q, C = shape
    assert [s.values.shape for s in steps] == [(Q, C), (Q, C + 1), (C + 1, Q), (C, Q), (Q, C)]
    np.testing.assert_allclose(steps[-1].values, np.asarray(rel_shift(jnp.asarray(x))), rtol=1e-6)
    assert all(s.labels.shape == s.values.shape for s in steps)


def test_shifted_distance_table_holds_i_minus_j_on_and_below_the_diagonal():
    n = 6
    distance, labels = ra.distance_indexed(n)
    final = ra.rel_shift_steps(distance, labels)[-1]
    i, j = np.tril_indices(n)
    np.testing.assert_array_equal(final.values[i, j], i - j)
    assert final.labels[4, 1] == "q4·r3"


def test_padding_value_marks_the_padded_column():
    steps = ra.rel_shift_steps(np.ones((2, 3)), pad_value=np.nan)
    assert np.isnan(steps[1].values[:, 0]).all() and list(steps[1].labels[:, 0]) == ["pad"] * 2


def test_clamped_distance_table():
    table = ra.clamped_distance_table(10, 3)
    assert np.nanmax(table) == 3 and np.isnan(table[0, 1]) and table[9, 0] == 3
    assert table[5, 3] == 2  # below the clamp the true distance
    np.testing.assert_array_equal(np.diagonal(table), 0.0)
    assert np.nanmax(ra.clamped_distance_table(10, None)) == 9


def test_sinusoid_rows_repeat_past_the_clamp():
    rows = ra.clamped_sinusoid_rows(10, 3, 8)
    assert rows.shape == (10, 8)
    np.testing.assert_allclose(rows[3], rows[9])
    assert not np.allclose(rows[2], rows[3])


def test_sinusoid_dot_products_depend_on_the_offset_only():
    table, curves = ra.sinusoid_dot_products(20, 16, (0, 5, 11))
    assert table.shape == (20, 16) and list(curves) == [0, 5, 11]
    for curve in curves.values():
        np.testing.assert_allclose(curve, curves[0], rtol=1e-4, atol=1e-4)
    assert curves[0][0] == pytest.approx(16 / 2, rel=1e-5)  # Σ_f cos(0) = d / 2
