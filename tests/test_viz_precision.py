"""`workbook.viz.precision`: accumulation figure and explorer; memory, ZeRO, comparison figures."""

import numpy as np
import pytest

from gopherlite.costs import zero_bytes_per_device
from gopherlite.workbook.experiments.float_bits import accumulate
from gopherlite.workbook.viz import precision as pv


def test_accumulation_figure_shows_the_stall():
    result = accumulate(1e-4, 500, seeds=8)
    fig = pv.accumulation_figure(result)
    names = [trace.name for trace in fig.data]
    assert "bfloat16, round to nearest" in names and "exact sum" in names
    nearest = fig.data[names.index("bfloat16, round to nearest")]
    assert set(nearest.y) == {1.0}
    assert "1e-04" in pv.accumulation_html(result) or "1.05" in pv.accumulation_html(result)


def test_accumulation_explorer_redraws_when_the_slider_moves():
    explorer = pv.AccumulationExplorer(update=1e-4, steps=250, seeds=4)
    y_before = list(explorer.figure.data[0].y)
    readout = explorer.readout.value
    explorer.update_slider.value = 1e-2
    assert list(explorer.figure.data[0].y) != y_before
    assert explorer.readout.value != readout
    assert "0.01" in explorer.figure.layout.title.text
    nearest = explorer.figure.data[2].y
    assert nearest[-1] > 1.0  # 0.01 is more than half a step at 1.0: nearest moves
    explorer.steps.value = 1000
    assert len(explorer.figure.data[0].x) == 300


def test_memory_and_sharding():
    fig = pv.memory_figure()
    totals = [sum(trace.y[i] for trace in fig.data) for i in range(5)]
    assert totals == [16, 16, 12, 12, 16]
    n = 280e9
    alone = zero_bytes_per_device("bf16_master", n, 1)
    assert alone["total"] == pytest.approx(16 * n)
    sharded = {p: zero_bytes_per_device(p, n, 1024)["total"] for p in ("fp32", "bf16_master")}
    assert sharded["bf16_master"] < 0.55 * sharded["fp32"]  # 4 + 12/1024 vs 8 + 8/1024
    assert len(pv.sharding_figure(n).data) == 3


def test_comparison_figure_and_table():
    losses = {name: [5.0 - 0.01 * i for i in range(40)] for name in ("fp32", "bf16_rne")}
    losses["bf16_rne"] = [y + 0.1 for y in losses["bf16_rne"]]
    heldout = {"fp32": [(20, 3.0), (40, 2.9)], "bf16_rne": [(20, 3.1), (40, 3.0)]}
    fig = pv.comparison_figure(losses, heldout, window=5)
    assert np.allclose(fig.data[2].y, 0.1)  # bf16_rne minus fp32, smoothed
    rows = [
        {
            "run": name,
            "policy": name,
            "final_heldout_bpb": heldout[name][-1][1],
            "final_train_loss": losses[name][-1],
            "bytes_per_parameter": {"total": 16},
            "step_seconds_median": 0.1,
        }
        for name in losses
    ]
    assert "+0.1000" in pv.comparison_html(rows)
