"""The numbers behind chapter 06's figures: float bit fields and the bfloat16 accumulation run.

Gopher trained its largest models with bfloat16 parameters (Rae et al. 2021, Sec. 3.2 and
App. C). bfloat16 keeps float32's 8-bit exponent (so its range) but only 7 stored mantissa bits
(so about 2-3 significant decimal digits); float16 spends its 16 bits the other way round.

* :func:`bit_fields`, :func:`decode` and :func:`parse_number`: a number rounded to float32,
  bfloat16 or float16 and its sign, exponent and mantissa fields; the value of any encoding from
  the IEEE 754 rules; a number as a learner types it.
* :func:`accumulate` and :func:`bfloat16_step`: many tiny updates added to a bfloat16 number with
  round-to-nearest and with stochastic rounding (`gopherlite.precision.stochastic_round`), one
  jitted ``lax.scan``.

`gopherlite.workbook.viz.precision` draws these; nothing here imports a notebook package.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

from gopherlite.precision import stochastic_round


@dataclasses.dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format: 1 sign bit, then exponent bits, then mantissa bits.

    Attributes:
      name: ``"float32"``, ``"bfloat16"`` or ``"float16"``.
      dtype: The NumPy dtype (bfloat16 from ``ml_dtypes``).
      exponent_bits: Width of the biased exponent.
      mantissa_bits: Stored fraction bits (the leading 1 of a normal number is implicit).
    """

    name: str
    dtype: Any
    exponent_bits: int
    mantissa_bits: int

    @property
    def total_bits(self) -> int:
        """Bits of one number."""
        return 1 + self.exponent_bits + self.mantissa_bits

    @property
    def bias(self) -> int:
        """The exponent bias: a stored exponent e means 2^(e − bias)."""
        return 2 ** (self.exponent_bits - 1) - 1


FORMATS: dict[str, FloatFormat] = {
    f.name: f
    for f in (
        FloatFormat("float32", np.dtype(np.float32), 8, 23),
        FloatFormat("bfloat16", np.dtype(ml_dtypes.bfloat16), 8, 7),
        FloatFormat("float16", np.dtype(np.float16), 5, 10),
    )
}
_UINT = {16: np.uint16, 32: np.uint32}


@dataclasses.dataclass(frozen=True)
class BitFields:
    """One number stored in one format, taken apart.

    Attributes:
      format: The format.
      x: The number asked for (a Python float).
      stored: The value the format stores: ``x`` rounded to nearest (ties to even).
      bits: The encoding as a string of ``"0"``/``"1"``, sign bit first.
      sign: The sign bit.
      exponent: The biased exponent field.
      mantissa: The mantissa (fraction) field.
    """

    format: FloatFormat
    x: float
    stored: float
    bits: str
    sign: int
    exponent: int
    mantissa: int

    @property
    def kind(self) -> str:
        """``"zero"``, ``"subnormal"``, ``"normal"``, ``"inf"`` or ``"nan"``."""
        top = 2**self.format.exponent_bits - 1
        if self.exponent == top:
            return "nan" if self.mantissa else "inf"
        if self.exponent == 0:
            return "subnormal" if self.mantissa else "zero"
        return "normal"

    @property
    def abs_error(self) -> float:
        """``|stored − x|`` (nan where either is nan, inf on overflow)."""
        if math.isinf(self.x) and self.stored == self.x:
            return 0.0
        return abs(self.stored - self.x)

    @property
    def rel_error(self) -> float:
        """``|stored − x| / |x|`` (nan for x = 0 or non-finite x)."""
        if self.x == 0 or not math.isfinite(self.x):
            return math.nan
        return self.abs_error / abs(self.x)


def bit_fields(x: float, format_name: str) -> BitFields:
    """Round ``x`` to a format (nearest, ties to even) and split the encoding into its fields.

    Args:
      x: Any Python float, including ±0, ±inf, nan and subnormals.
      format_name: A key of `FORMATS`.

    Returns:
      The fields and the stored value.
    """
    fmt = FORMATS[format_name]
    with np.errstate(over="ignore"):  # overflow to inf is what the format does
        stored_0d = np.asarray(x, np.float64).astype(fmt.dtype)
    code = int(stored_0d.view(_UINT[fmt.total_bits]))
    bits = format(code, f"0{fmt.total_bits}b")
    return BitFields(
        format=fmt,
        x=float(x),
        stored=float(stored_0d),
        bits=bits,
        sign=int(bits[0]),
        exponent=int(bits[1 : 1 + fmt.exponent_bits], 2),
        mantissa=int(bits[1 + fmt.exponent_bits :], 2),
    )


def decode(sign: int, exponent: int, mantissa: int, format_name: str) -> float:
    """The value of an encoding, from the IEEE 754 rules (independent of NumPy's casts).

    Normal: (−1)^sign · (1 + mantissa / 2^m) · 2^(exponent − bias). Exponent 0: subnormal,
    (−1)^sign · (mantissa / 2^m) · 2^(1 − bias), including ±0. All-ones exponent: ±inf when the
    mantissa is 0, nan otherwise.

    Args:
      sign: Sign bit.
      exponent: Biased exponent field.
      mantissa: Mantissa field.
      format_name: A key of `FORMATS`.

    Returns:
      The value as a Python float.
    """
    fmt = FORMATS[format_name]
    if exponent == 2**fmt.exponent_bits - 1:
        return math.nan if mantissa else (-math.inf if sign else math.inf)
    if exponent == 0:
        magnitude = mantissa * 2.0 ** (1 - fmt.bias - fmt.mantissa_bits)
    else:
        magnitude = (1 + mantissa / 2**fmt.mantissa_bits) * 2.0 ** (exponent - fmt.bias)
    return -magnitude if sign else magnitude


def parse_number(text: str) -> float:
    """Parse a number typed by a learner: ``0.1``, ``-3e5``, ``inf``, ``nan``, ``-0``, ``2**-8``.

    Args:
      text: The text.

    Returns:
      The number.

    Raises:
      ValueError: the text is not a number.
    """
    cleaned = text.strip().replace("_", "")
    if "**" in cleaned:  # a power of two (or any base) such as 2**-8 or 1+2**-8
        parts = cleaned.split("+")
        total = 0.0
        for part in parts:
            base, _, power = part.partition("**")
            total += float(base) ** float(power) if power else float(base)
        return total
    return float(cleaned)


@dataclasses.dataclass(frozen=True)
class Accumulation:
    """A bfloat16 value after many equal updates, by rounding rule.

    Attributes:
      update: The update size u added at every step.
      start: The starting value.
      steps_N: Step numbers 1 … N.
      exact_N: The exact sum ``start + n·u`` (float64).
      float32_N: The sum kept in float32.
      nearest_N: The sum kept in bfloat16, rounded to nearest after every add.
      stochastic_SxN: The sum kept in bfloat16 with stochastic rounding, one row per seed.
    """

    update: float
    start: float
    steps_N: np.ndarray
    exact_N: np.ndarray
    float32_N: np.ndarray
    nearest_N: np.ndarray
    stochastic_SxN: np.ndarray

    @property
    def stochastic_mean_N(self) -> np.ndarray:
        """Mean over seeds of the stochastically rounded sums."""
        return self.stochastic_SxN.mean(axis=0)

    @property
    def stochastic_std_N(self) -> np.ndarray:
        """Standard deviation over seeds of the stochastically rounded sums."""
        return self.stochastic_SxN.std(axis=0)


def bfloat16_step(x: float) -> float:
    """The gap from ``|x|`` to the next larger bfloat16 (one unit in the last place).

    Args:
      x: A finite number.

    Returns:
      The gap, e.g. 2⁻⁷ for x = 1.
    """
    b = np.asarray(abs(x), np.float64).astype(ml_dtypes.bfloat16)
    up = np.nextafter(b, np.asarray(np.inf, ml_dtypes.bfloat16))
    return float(up) - float(b)


@functools.partial(jax.jit, static_argnames=("steps", "seeds"))
def _accumulate(
    update: jax.Array, start: jax.Array, key: jax.Array, *, steps: int, seeds: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The three running sums of :func:`accumulate`, as one ``lax.scan`` over the steps."""
    start16 = start.astype(jnp.bfloat16)

    def step(
        carry: tuple[jax.Array, jax.Array, jax.Array], n: jax.Array
    ) -> tuple[tuple[jax.Array, jax.Array, jax.Array], tuple[jax.Array, jax.Array, jax.Array]]:
        f32, nearest, stochastic_S = carry
        f32 = f32 + update
        nearest = (nearest.astype(jnp.float32) + update).astype(jnp.bfloat16)
        stochastic_S = stochastic_round(
            stochastic_S.astype(jnp.float32) + update, jax.random.fold_in(key, n)
        )
        carry = (f32, nearest, stochastic_S)
        return carry, carry

    init = (start, start16, jnp.full((seeds,), start16))
    _, (f32_N, nearest_N, stochastic_NxS) = jax.lax.scan(step, init, jnp.arange(steps))
    return f32_N, nearest_N, stochastic_NxS


def accumulate(
    update: float, steps: int = 1000, *, start: float = 1.0, seeds: int = 16, seed: int = 0
) -> Accumulation:
    """Add ``update`` to ``start`` ``steps`` times in float32 and in bfloat16, two ways.

    Round-to-nearest gets stuck as soon as ``update`` is below half a bfloat16 step of the
    running value: ``round(x + u) = x`` every time. Stochastic rounding rounds ``x + u`` up with
    probability ``u / step``, so the sum grows by ``u`` per step on average. The whole run is
    one jitted ``lax.scan`` (compiled once per ``steps`` and ``seeds``; a new ``update`` reuses
    the compilation), vectorised over the seeds.

    Args:
      update: The update u added every step (a float32 add before rounding).
      steps: Number of updates N.
      start: Starting value.
      seeds: Independent stochastic-rounding runs S.
      seed: Seed of the rounding noise.

    Returns:
      The sums after every step.
    """
    f32_N, nearest_N, stochastic_NxS = _accumulate(
        jnp.float32(update), jnp.float32(start), jax.random.key(seed), steps=steps, seeds=seeds
    )
    steps_N = np.arange(1, steps + 1)
    return Accumulation(
        update=float(update),
        start=float(start),
        steps_N=steps_N,
        exact_N=start + steps_N * float(np.float32(update)),
        float32_N=np.asarray(f32_N, np.float64),
        nearest_N=np.asarray(nearest_N.astype(jnp.float32), np.float64),
        stochastic_SxN=np.asarray(stochastic_NxS.astype(jnp.float32), np.float64).T,
    )
