"""`workbook.experiments.float_bits`: bit fields vs IEEE 754 decoding; the accumulation run."""

import math

import numpy as np
import pytest

from gopherlite.workbook.experiments import float_bits as fb

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


@pytest.mark.parametrize("name", list(fb.FORMATS))
def test_fields_decode_back_to_the_stored_value(name):
    rng = np.random.default_rng(0)
    randoms = list(rng.normal(size=200) * 10.0 ** rng.integers(-30, 30, size=200))
    for x in SPECIAL + randoms:
        f = fb.bit_fields(float(x), name)
        assert len(f.bits) == f.format.total_bits
        decoded = fb.decode(f.sign, f.exponent, f.mantissa, name)
        assert _same(decoded, f.stored), (name, x, f.bits)
        with np.errstate(over="ignore"):
            assert _same(f.stored, float(np.asarray(x).astype(fb.FORMATS[name].dtype)))


def test_field_kinds_and_signed_zero():
    assert fb.bit_fields(-0.0, "bfloat16").bits == "1" + "0" * 15
    assert fb.bit_fields(1e-40, "float32").kind == "subnormal"
    assert fb.bit_fields(1e-40, "bfloat16").kind == "subnormal"
    assert fb.bit_fields(1e-40, "float16").kind == "zero"
    assert fb.bit_fields(70000.0, "float16").kind == "inf"
    assert fb.bit_fields(70000.0, "bfloat16").kind == "normal"
    assert fb.bit_fields(math.nan, "float16").kind == "nan"
    one = fb.bit_fields(1.0, "float32")
    assert (one.sign, one.exponent, one.mantissa) == (0, 127, 0)


def test_bfloat16_is_the_top_half_of_float32_and_loses_one_plus_two_to_minus_8():
    f = fb.bit_fields(1 + 2**-8, "bfloat16")
    assert f.stored == 1.0 and f.abs_error == 2**-8  # half a step, ties to even: down to 1
    assert fb.bit_fields(1 + 2**-8, "float16").stored == 1 + 2**-8  # 10 mantissa bits keep it
    assert fb.bit_fields(1 + 2**-7, "bfloat16").stored == 1 + 2**-7
    for x in (1.0, -3.5, 0.15625, 2.0**100):  # exactly representable in bfloat16
        assert fb.bit_fields(x, "bfloat16").bits == fb.bit_fields(x, "float32").bits[:16]


def test_errors():
    f = fb.bit_fields(0.1, "bfloat16")
    assert f.abs_error == pytest.approx(abs(0.10009765625 - 0.1))
    assert f.rel_error == pytest.approx(f.abs_error / 0.1)
    assert f.rel_error <= 2**-8  # at most half of bfloat16's epsilon
    assert math.isnan(fb.bit_fields(0.0, "float32").rel_error)
    assert fb.bit_fields(math.inf, "float16").abs_error == 0.0
    assert fb.bit_fields(70000.0, "float16").abs_error == math.inf


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.1", 0.1), ("-0", -0.0), ("2**-8", 2**-8), ("1+2**-8", 1 + 2**-8), ("inf", math.inf)],
)
def test_parse_number(text, value):
    assert _same(fb.parse_number(text), value)


def test_round_to_nearest_stalls_below_half_a_step_and_stochastic_rounding_does_not():
    steps, seeds, u = 2000, 32, 2**-10  # a quarter of bfloat16's step at 1.0
    result = fb.accumulate(u, steps, seeds=seeds)
    assert fb.bfloat16_step(1.0) == 2**-7
    assert np.all(result.nearest_N == 1.0)  # every add is rounded away
    exact = result.exact_N[-1]
    assert exact == pytest.approx(1 + steps * u)
    assert result.float32_N[-1] == pytest.approx(exact, rel=1e-5)
    # Each rounding adds independent zero-mean noise of at most half the largest step seen,
    # so the final value's standard deviation is at most sqrt(N) * step / 2; the mean of S
    # seeds is within 4 of its standard errors with probability > 0.9999.
    bound = 4 * math.sqrt(steps) * fb.bfloat16_step(exact) / 2 / math.sqrt(seeds)
    assert abs(result.stochastic_mean_N[-1] - exact) < bound
    assert result.stochastic_std_N[-1] > 0
    # Halfway too, and every single seed has grown well beyond the start.
    mid = steps // 2 - 1
    assert abs(result.stochastic_mean_N[mid] - result.exact_N[mid]) < bound
    assert np.all(result.stochastic_SxN[:, -1] > 1.5)


def test_round_to_nearest_moves_once_the_update_exceeds_half_a_step():
    result = fb.accumulate(0.75 * 2**-7, 100, seeds=4)
    assert result.nearest_N[0] == 1 + 2**-7  # rounds up to a whole step: too fast
    assert result.nearest_N[-1] > result.exact_N[-1]
