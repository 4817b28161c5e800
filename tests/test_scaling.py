"""Chinchilla's compute-optimal split and the parametric law's fit (issue 13, library part)."""

import numpy as np
import pytest

from gopherlite.hardware import CHIPS
from gopherlite.scaling import (
    ALLOCATION_EXPONENTS,
    CHINCHILLA_LAW,
    CHINCHILLA_TABLE3,
    GOPHER_FLOPS,
    ParametricLaw,
    compute_optimal,
    fit_parametric_law,
    training_seconds,
)


def test_gophers_budget_is_best_spent_on_a_model_a_quarter_its_size():
    n_params, n_tokens = compute_optimal(GOPHER_FLOPS)
    assert 40e9 <= n_params <= 70e9, n_params  # Gopher itself: 280B on 300B tokens
    assert 6 * n_params * n_tokens == pytest.approx(GOPHER_FLOPS, rel=0.10)
    assert 1.2e12 <= n_tokens <= 1.8e12, n_tokens  # Chinchilla trained 70B on 1.4T


def test_table3_rows_spend_their_budget_and_grow_as_the_square_root_of_compute():
    for n_params, flops, n_tokens in CHINCHILLA_TABLE3:
        assert 6 * n_params * n_tokens == pytest.approx(flops, rel=0.10)
    small, _ = compute_optimal(1e20)
    large, _ = compute_optimal(1e22)
    assert large / small == pytest.approx(10.0, rel=0.05)  # N ∝ C^0.5: 100× compute, 10× N
    with pytest.raises(ValueError, match="positive"):
        compute_optimal(0.0)


@pytest.mark.parametrize("law", [CHINCHILLA_LAW, ParametricLaw(1.8, 300.0, 500.0, 0.3, 0.35)])
def test_the_closed_form_optimum_is_the_least_loss_on_the_iso_flop_line(law):
    """Against a brute-force search over N with D = C / (6N)."""
    for flops in (1e19, GOPHER_FLOPS, 1e26):
        n_params, n_tokens = law.compute_optimal(flops)
        grid_N = np.logspace(5, 14, 200_001)
        best = grid_N[np.argmin(law.loss(grid_N, flops / (6 * grid_N)))]
        assert n_params == pytest.approx(best, rel=1e-3)
        assert 6 * n_params * n_tokens == pytest.approx(flops, rel=1e-12)


def _runs():
    n_R = np.repeat(np.logspace(6, 9, 6), 5)
    d_R = np.tile(np.logspace(8, 11, 5), 6)
    return n_R, d_R


def test_the_fit_recovers_known_constants_from_exact_losses():
    true = ParametricLaw(1.8, 300.0, 500.0, 0.3, 0.35)
    n_R, d_R = _runs()
    fit = fit_parametric_law(n_R, d_R, true.loss(n_R, d_R))
    got = fit.law
    for name in ("E", "A", "B", "alpha", "beta"):
        assert getattr(got, name) == pytest.approx(getattr(true, name), rel=1e-4), name
    assert fit.rms_relative_error < 1e-8 and fit.n_runs == 30


def test_the_fit_with_noise_stays_close_and_reports_the_noise():
    """0.3% relative noise on 30 runs: exponents within 5%, the error about the noise."""
    true = ParametricLaw(1.8, 300.0, 500.0, 0.3, 0.35)
    n_R, d_R = _runs()
    losses = true.loss(n_R, d_R) * (1 + np.random.default_rng(0).normal(0, 0.003, n_R.shape))
    fit = fit_parametric_law(n_R, d_R, losses)
    assert fit.law.alpha == pytest.approx(0.3, rel=0.05)
    assert fit.law.beta == pytest.approx(0.35, rel=0.05)
    irreducible = fit.law.E
    assert irreducible == pytest.approx(1.8, rel=0.02)
    assert 0.001 < fit.rms_relative_error < 0.004
    with pytest.raises(ValueError, match="at least 5 runs"):
        fit_parametric_law(n_R[:4], d_R[:4], losses[:4])


def test_allocation_exponents_split_compute_between_n_and_d():
    """N ∝ C^a and D ∝ C^b with C = 6ND force a + b = 1 in every published row."""
    for name, (a, b) in ALLOCATION_EXPONENTS.items():
        assert a + b == pytest.approx(1.0), name
    law = CHINCHILLA_LAW  # Approach 3's exponent follows from the law's β / (α + β)
    assert law.beta / (law.alpha + law.beta) == pytest.approx(
        ALLOCATION_EXPONENTS["Chinchilla, Approach 3 (parametric fit)"][0], abs=0.01
    )


def test_training_seconds_of_gophers_budget():
    """5.76e23 FLOPs on 4,096 TPU v3 chips at 40% of 123 TFLOP/s: about 33 days."""
    seconds = training_seconds(GOPHER_FLOPS, CHIPS["v3"].peak_bf16_flops, 4096, 0.4)
    assert seconds == pytest.approx(GOPHER_FLOPS / (4096 * 123e12 * 0.4))
    assert 32 < seconds / 86400 < 34
    assert training_seconds(1e18, 1e12, 2, 0.5) == pytest.approx(1e6)
    for bad in (dict(mfu=0.0), dict(mfu=1.5), dict(n_chips=0)):
        args = dict(flops=1e18, peak_flops_per_chip=1e12, n_chips=2, mfu=0.5) | bad
        with pytest.raises(ValueError):
            training_seconds(**args)
