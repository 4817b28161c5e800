"""`workbook.experiments.scaling`: the power-law fit of loss against parameters."""

import numpy as np
import pytest

from gopherlite.workbook.experiments import scaling


def test_fit_recovers_a_known_power_law_with_offset():
    n_N = np.geomspace(1e4, 1e8, 9)
    loss_N = 40.0 * n_N**-0.3 + 1.7
    fit = scaling.fit_power_law(n_N, loss_N)
    assert fit.alpha == pytest.approx(0.3, rel=1e-2)
    assert fit.a == pytest.approx(40.0, rel=5e-2)
    assert fit.c == pytest.approx(1.7, abs=1e-2)
    np.testing.assert_allclose(fit.predict(n_N), loss_N, rtol=1e-3)


def test_straight_line_fit_is_exact_in_log_log():
    n_N = np.array([1e3, 1e4, 1e5])
    fit = scaling.fit_power_law(n_N, 9.0 * n_N**-0.25, offset=False)
    assert (fit.a, fit.alpha, fit.c) == (pytest.approx(9.0), pytest.approx(0.25), 0.0)
    assert fit.rmse < 1e-9
    assert "N^(−0.250)" in str(fit)


def test_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="positive"):
        scaling.fit_power_law([1.0, -2.0], [3.0, 2.0])
    with pytest.raises(ValueError, match="≥ 2 sizes"):
        scaling.fit_power_law([1.0], [3.0])
