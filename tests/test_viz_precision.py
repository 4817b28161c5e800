"""`workbook.viz.precision`: bit fields, the accumulation experiment, and the explorers."""

import math

import ml_dtypes
import numpy as np
import pytest

from gopherlite.workbook.viz import precision as pv

SPECIAL = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.1,
    1 + 2**-8,
    3.14159,
    -2.5e-3,
    65504.0,
    70000.0,
    1e-6,
    1e-40,  # subnormal in float32 and bfloat16, zero in float16
    -1e-45,
    5.96e-8,  # float16's smallest subnormal
    1.1754944e-38,  # float32's smallest normal
    3.3e38,
    1e39,  # overflows every format
    math.inf,
    -math.inf,
    math.nan,
]


def _same(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


@pytest.mark.parametrize("name", list(pv.FORMATS))
def test_fields_decode_back_to_the_stored_value(name):
    rng = np.random.default_rng(0)
    randoms = list(rng.normal(size=200) * 10.0 ** rng.integers(-30, 30, size=200))
    for x in SPECIAL + randoms:
        f = pv.bit_fields(float(x), name)
        assert len(f.bits) == f.format.total_bits
        decoded = pv.decode(f.sign, f.exponent, f.mantissa, name)
        assert _same(decoded, f.stored), (name, x, f.bits)
        with np.errstate(over="ignore"):
            assert _same(f.stored, float(np.asarray(x).astype(pv.FORMATS[name].dtype)))


def test_field_kinds_and_signed_zero():
    assert pv.bit_fields(-0.0, "bfloat16").bits == "1" + "0" * 15
    assert pv.bit_fields(1e-40, "float32").kind == "subnormal"
    assert pv.bit_fields(1e-40, "bfloat16").kind == "subnormal"
    assert pv.bit_fields(1e-40, "float16").kind == "zero"
    assert pv.bit_fields(70000.0, "float16").kind == "inf"
    assert pv.bit_fields(70000.0, "bfloat16").kind == "normal"
    assert pv.bit_fields(math.nan, "float16").kind == "nan"
    one = pv.bit_fields(1.0, "float32")
    assert (one.sign, one.exponent, one.mantissa) == (0, 127, 0)


def test_bfloat16_is_the_top_half_of_float32_and_loses_one_plus_two_to_minus_8():
    f = pv.bit_fields(1 + 2**-8, "bfloat16")
    assert f.stored == 1.0 and f.abs_error == 2**-8  # half a step, ties to even: down to 1
    assert pv.bit_fields(1 + 2**-8, "float16").stored == 1 + 2**-8  # 10 mantissa bits keep it
    assert pv.bit_fields(1 + 2**-7, "bfloat16").stored == 1 + 2**-7
    for x in (1.0, -3.5, 0.15625, 2.0**100):  # exactly representable in bfloat16
        assert pv.bit_fields(x, "bfloat16").bits == pv.bit_fields(x, "float32").bits[:16]


def test_errors():
    f = pv.bit_fields(0.1, "bfloat16")
    assert f.abs_error == pytest.approx(abs(0.10009765625 - 0.1))
    assert f.rel_error == pytest.approx(f.abs_error / 0.1)
    assert f.rel_error <= 2**-8  # at most half of bfloat16's epsilon
    assert math.isnan(pv.bit_fields(0.0, "float32").rel_error)
    assert pv.bit_fields(math.inf, "float16").abs_error == 0.0
    assert pv.bit_fields(70000.0, "float16").abs_error == math.inf


def test_ranges_table_uses_finfo():
    table = pv.ranges_html()
    assert f"{float(ml_dtypes.finfo(np.float16).max):.4g}" in table  # 6.55e+04
    assert "0.007812" in table  # bfloat16 epsilon 2^-7
    assert table.count("<tr>") == 4


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.1", 0.1), ("-0", -0.0), ("2**-8", 2**-8), ("1+2**-8", 1 + 2**-8), ("inf", math.inf)],
)
def test_parse_number(text, value):
    assert _same(pv.parse_number(text), value)


def test_bits_figure_encodes_the_bits():
    fig = pv.bits_figure(1 + 2**-8)
    z_FxB = fig.data[0].z
    text_FxB = fig.data[0].text
    assert "".join(text_FxB[0]) == pv.bit_fields(1 + 2**-8, "float32").bits
    assert all(z is None for z in z_FxB[1][16:])  # bfloat16 has 16 bits
    assert z_FxB[0][0] in (0, 1) and z_FxB[0][1] in (2, 3) and z_FxB[0][9] in (4, 5)


def test_bit_explorer_readout_and_figure_follow_the_value():
    explorer = pv.BitExplorer(0.1)
    readout, z = explorer.readout.value, explorer.figure.data[0].z
    explorer.text.value = "1e-40"
    assert explorer.readout.value != readout and "subnormal" in explorer.readout.value
    assert explorer.figure.data[0].z != z
    explorer.slider.value = 2.5
    assert explorer.x == 2.5 and "2.5" in explorer.figure.layout.title.text
    before = explorer.readout.value
    explorer.text.value = "not a number"
    assert "Not a number" in explorer.readout.value and explorer.x == 2.5
    assert before != explorer.readout.value
    assert len(explorer.static()) == 8


def test_round_to_nearest_stalls_below_half_a_step_and_stochastic_rounding_does_not():
    steps, seeds, u = 2000, 32, 2**-10  # a quarter of bfloat16's step at 1.0
    result = pv.accumulate(u, steps, seeds=seeds)
    assert pv.bfloat16_step(1.0) == 2**-7
    assert np.all(result.nearest_N == 1.0)  # every add is rounded away
    exact = result.exact_N[-1]
    assert exact == pytest.approx(1 + steps * u)
    assert result.float32_N[-1] == pytest.approx(exact, rel=1e-5)
    # Each rounding adds independent zero-mean noise of at most half the largest step seen,
    # so the final value's standard deviation is at most sqrt(N) * step / 2; the mean of S
    # seeds is within 4 of its standard errors with probability > 0.9999.
    bound = 4 * math.sqrt(steps) * pv.bfloat16_step(exact) / 2 / math.sqrt(seeds)
    assert abs(result.stochastic_mean_N[-1] - exact) < bound
    assert result.stochastic_std_N[-1] > 0
    # Halfway too, and every single seed has grown well beyond the start.
    mid = steps // 2 - 1
    assert abs(result.stochastic_mean_N[mid] - result.exact_N[mid]) < bound
    assert np.all(result.stochastic_SxN[:, -1] > 1.5)


def test_round_to_nearest_moves_once_the_update_exceeds_half_a_step():
    result = pv.accumulate(0.75 * 2**-7, 100, seeds=4)
    assert result.nearest_N[0] == 1 + 2**-7  # rounds up to a whole step: too fast
    assert result.nearest_N[-1] > result.exact_N[-1]


def test_accumulation_figure_shows_the_stall():
    result = pv.accumulate(1e-4, 500, seeds=8)
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
    alone = pv.zero_bytes_per_device("bf16_master", n, 1)
    assert alone["total"] == pytest.approx(16 * n)
    sharded = {p: pv.zero_bytes_per_device(p, n, 1024)["total"] for p in ("fp32", "bf16_master")}
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


def test_model_parallelism_divides_the_replicated_part():
    n = 280e9
    one = pv.zero_bytes_per_device("bf16_master", n, 1024)
    split = pv.zero_bytes_per_device("bf16_master", n, 1024, model_parallel=16)
    assert split["replicated"] == pytest.approx(one["replicated"] / 16)
    assert split["sharded"] == pytest.approx(one["sharded"] / 16)
    assert one["replicated"] == pytest.approx(4 * n)  # bf16 params + bf16 grads
    assert one["sharded"] == pytest.approx(12 * n / 1024)  # Adam moments + master copy
