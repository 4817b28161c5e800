"""Chapter 10's IsoFLOP sweep: each run spends its budget, runs are comparable, minima are read
from a parabola in log N."""

import dataclasses

import numpy as np
import pytest

from gopherlite import ModelConfig
from gopherlite.data.pipeline import TextData
from gopherlite.evaluate import evaluate
from gopherlite.train import TrainConfig
from gopherlite.workbook.experiments.isoflop import (
    SweepRun,
    isoflop_minimum,
    isoflop_sweep,
    sweep_configs,
)
from gopherlite.workbook.experiments.variants import train_variants
from tests.conftest import synthetic_windows

VOCAB, L = 64, 8
BASE = ModelConfig(n_layers=1, n_heads=2, d_head=8, d_model=16, vocab_size=VOCAB, max_seq_len=L)


def _windows(n_docs, seed):
    return synthetic_windows(n_docs, seed, L, VOCAB)


@pytest.fixture(scope="module")
def data():
    return TextData(tokenizer=None, train=_windows(60, 0), heldout=_windows(8, 1),
                    bytes_per_token=3.0)  # fmt: skip


def test_sweep_configs_change_only_the_width():
    configs = sweep_configs(BASE, (8, 16, 24), d_head=8)
    assert [c.d_model for c in configs.values()] == [8, 16, 24]
    assert [c.n_heads for c in configs.values()] == [1, 2, 3]
    assert all(c.d_ff == 4 * c.d_model and c.n_layers == 1 for c in configs.values())
    with pytest.raises(ValueError, match="multiple of d_head"):
        sweep_configs(BASE, (12,), d_head=8)


def test_each_run_spends_its_budget_to_within_one_step(data):
    configs = sweep_configs(BASE, (8, 16), d_head=8)
    train = TrainConfig(batch_size=4, learning_rate=1e-2)
    budgets = (2e7, 6e7)
    seen = []
    runs = isoflop_sweep(data, configs, budgets, train, callback=seen.append)
    assert seen == runs and [(r.budget, r.width) for r in runs] == [
        (b, w) for b in budgets for w in (8, 16)
    ]
    for run in runs:
        config = configs[run.width]
        step_flops = config.flops_per_token(L) * 4 * L
        assert abs(run.flops - run.budget) <= step_flops / 2 + 1
        assert run.n_tokens == run.steps * 4 * L and run.n_params == config.num_params()
        assert run.flops == pytest.approx(6 * run.n_params * run.n_tokens, rel=0.5)
    # The smaller model gets more steps for the same budget.
    assert runs[0].steps > runs[1].steps
    # A run's loss is that of the same training done by hand (same seed, same batches).
    first = runs[0]
    by_hand = train_variants(
        {"x": configs[8]}, dataclasses.replace(train, steps=first.steps, seq_len=L), data
    )["x"]
    assert evaluate(by_hand.model, data.heldout).loss == pytest.approx(first.loss, abs=1e-6)


def _runs(budget, n_params, losses):
    return [SweepRun(budget, i, n, 0, budget, 1, loss, 0.0)
            for i, (n, loss) in enumerate(zip(n_params, losses, strict=True))]  # fmt: skip


def test_isoflop_minimum_finds_a_parabolas_vertex():
    n = np.geomspace(1e4, 1e6, 5)
    losses = 0.3 * (np.log(n) - np.log(7e4)) ** 2 + 3.0
    best, coef = isoflop_minimum(_runs(1e12, n, losses))
    assert best == pytest.approx(7e4, rel=1e-6)
    assert coef[0] == pytest.approx(0.3)


def test_isoflop_minimum_falls_back_to_the_best_run_outside_the_range():
    n = np.geomspace(1e4, 1e6, 4)
    falling = [4.0, 3.5, 3.2, 3.1]  # still falling at the largest size: vertex beyond it
    assert isoflop_minimum(_runs(1.0, n, falling))[0] == pytest.approx(n[-1])
    hump = [3.0, 3.5, 3.5, 3.0]  # opens downwards: no minimum inside
    assert isoflop_minimum(_runs(1.0, n, hump))[0] in (pytest.approx(n[0]), pytest.approx(n[-1]))
    with pytest.raises(ValueError, match="one budget"):
        isoflop_minimum(_runs(1.0, n[:2], falling[:2]))
    with pytest.raises(ValueError, match="one budget"):
        isoflop_minimum(_runs(1.0, n, falling) + _runs(2.0, n, falling))
