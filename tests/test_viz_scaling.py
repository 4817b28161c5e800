"""Chapter 10's figures and explorers (the fits themselves: tests/test_scaling.py and
tests/experiments/test_isoflop.py)."""

import math

import numpy as np
import pytest

from gopherlite.hardware import CHIPS
from gopherlite.scaling import CHINCHILLA_LAW, GOPHER_FLOPS, compute_optimal, training_seconds
from gopherlite.workbook.experiments.isoflop import SweepRun
from gopherlite.workbook.viz import scaling as sviz
from gopherlite.workbook.viz.common import static_html


def _runs():
    runs = []
    for budget, best in ((1e12, 2e4), (1e13, 6e4)):
        for width, n in zip((8, 16, 24, 32), np.geomspace(1e4, 1e5, 4), strict=True):
            loss = 3 + 0.2 * (math.log(n) - math.log(best)) ** 2 - 0.1 * math.log10(budget)
            runs.append(
                SweepRun(budget, width, int(n), int(budget / (6 * n)), budget, 1, loss, 0.0)
            )
    return runs


def test_isoflop_figure_marks_each_budgets_minimum():
    fig = sviz.isoflop_figure(_runs())
    stars = [t for t in fig.data if t.marker.symbol == "star"]
    assert len(stars) == 2 and fig.layout.xaxis.type == "log"
    assert stars[0].x[0] == pytest.approx(2e4, rel=1e-3)


def test_loss_vs_compute_envelope_takes_the_best_run_per_budget():
    runs = _runs()
    fig = sviz.loss_vs_compute_figure(runs)
    envelope = fig.data[-1]
    for x, y in zip(envelope.x, envelope.y, strict=True):
        assert y == min(r.loss for r in runs if r.flops == x)
    assert len(fig.data) == 4 + 1


def test_law_fit_figure_puts_an_exact_law_on_the_diagonal():
    runs = [SweepRun(1.0, 8, n, d, 1.0, 1, float(CHINCHILLA_LAW.loss(n, d)), 0.0)
            for n, d in ((1e6, 1e8), (1e7, 1e9), (1e8, 1e8))]  # fmt: skip
    fig = sviz.law_fit_figure(runs, CHINCHILLA_LAW)
    np.testing.assert_allclose(fig.data[1].x, fig.data[1].y)


def test_budget_explorer_moves_the_compute_optimal_point():
    explorer = sviz.BudgetExplorer()
    star = explorer.figure.data[-1]
    assert star.x[0] == pytest.approx(GOPHER_FLOPS, rel=1e-3)
    before = explorer.readout.value
    explorer.budget.value = 22.0
    star = explorer.figure.data[-1]
    assert star.x[0] == pytest.approx(1e22) and star.y[0] == pytest.approx(compute_optimal(1e22)[0])
    assert "1e+22" in explorer.figure.layout.title.text and explorer.readout.value != before
    assert "Table 3 fit" in static_html(explorer.static())


def test_training_time_explorer_uses_the_chip_table():
    explorer = sviz.TrainingTimeExplorer()
    days = training_seconds(GOPHER_FLOPS, CHIPS["v3"].peak_bf16_flops, 4096, 0.4) / 86400
    assert f"{days:.1f} days" in explorer.readout.value
    explorer.chip.value, explorer.n_chips.value, explorer.mfu.value = "h100", 1024, 0.5
    days = training_seconds(GOPHER_FLOPS, CHIPS["h100"].peak_bf16_flops, 1024, 0.5) / 86400
    assert f"{days:.1f} days" in explorer.readout.value
    explorer.n_chips.value = 0
    assert "at least one chip" in explorer.readout.value
