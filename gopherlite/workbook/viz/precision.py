"""Seeing bfloat16: bit layouts, rounding that stalls, and five precision policies (chapter 06).

Gopher trained its largest models with bfloat16 parameters (Rae et al. 2021, Sec. 3.2 and
App. C). bfloat16 keeps float32's 8-bit exponent (so its range) but only 7 stored mantissa bits
(so about 2-3 significant decimal digits); float16 spends its 16 bits the other way round.

* :func:`bit_fields`, :func:`decode`, :func:`bits_figure`, :func:`bits_html`,
  :func:`ranges_html` and :class:`BitExplorer`: type a number and see its sign, exponent and
  mantissa bits in float32, bfloat16 and float16, the value each stores and the rounding error.
* :func:`accumulate`, :func:`accumulation_figure` and :class:`AccumulationExplorer`: add many
  tiny updates to a bfloat16 number with round-to-nearest and with stochastic rounding
  (`gopherlite.precision.stochastic_round`), computed with a jitted ``lax.scan``.
* :func:`memory_figure`, :func:`zero_bytes_per_device`, :func:`sharding_figure`,
  :func:`comparison_figure` and :func:`comparison_html`: bytes per parameter of each policy,
  per device under ZeRO sharding, and the runs of `gopherlite.workbook.experiments.precision_study`.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gopherlite.costs import bytes_per_parameter
from gopherlite.precision import POLICIES, stochastic_round
from gopherlite.workbook.viz.common import PALETTE, Explorer, html_table, style


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
_FIELD_COLORS = {"sign": PALETTE[5], "exponent": PALETTE[0], "mantissa": PALETTE[2]}


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


def _field_of(fmt: FloatFormat, position: int) -> str:
    if position == 0:
        return "sign"
    return "exponent" if position <= fmt.exponent_bits else "mantissa"


def _tint(color: str, amount: float) -> str:
    """``color`` mixed with white: 0 is white, 1 the colour itself."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(255 + (c - 255) * amount) for c in (r, g, b)]
    return f"rgb({mix[0]},{mix[1]},{mix[2]})"


def _bits_colorscale() -> list[list[Any]]:
    """A stepped colour scale for codes 0..5: field · 2 + bit (light for 0, full for 1)."""
    colors = [
        _tint(_FIELD_COLORS[field], amount)
        for field in ("sign", "exponent", "mantissa")
        for amount in (0.18, 0.85)
    ]
    scale = []
    for code, color in enumerate(colors):
        scale += [[code / 6, color], [(code + 1) / 6, color]]
    return scale


def bits_figure(x: float) -> go.Figure:
    """A coloured grid of the bits of ``x`` in float32, bfloat16 and float16.

    One row per format, sign bit on the left, aligned at the sign bit: bfloat16's row is the
    left half of float32's (the same sign and exponent, the first 7 mantissa bits, rounded).
    Colours mark the field (sign, exponent, mantissa); dark cells are 1s.

    Args:
      x: The number.

    Returns:
      A heatmap figure; its single trace's ``z_FxB`` holds the cell codes (field · 2 + bit,
      None beyond a format's width) and ``text`` the bits.
    """
    names = list(FORMATS)
    z_FxB: list[list[float | None]] = []
    text_FxB: list[list[str]] = []
    hover_FxB: list[list[str]] = []
    for name in names:
        fields, fmt = bit_fields(x, name), FORMATS[name]
        z_row, text_row, hover_row = [], [], []
        for position in range(32):
            if position >= fmt.total_bits:
                z_row.append(None)
                text_row.append("")
                hover_row.append("")
                continue
            field = _field_of(fmt, position)
            bit = int(fields.bits[position])
            z_row.append(2 * ("sign", "exponent", "mantissa").index(field) + bit)
            text_row.append(str(bit))
            hover_row.append(f"{name} bit {fmt.total_bits - 1 - position} ({field})")
        z_FxB.append(z_row)
        text_FxB.append(text_row)
        hover_FxB.append(hover_row)
    fig = go.Figure(
        go.Heatmap(
            z=z_FxB,
            text=text_FxB,
            customdata=hover_FxB,
            texttemplate="%{text}",
            hovertemplate="%{customdata}: %{text}<extra></extra>",
            x=list(range(32)),
            y=names,
            zmin=0,
            zmax=6,
            colorscale=_bits_colorscale(),
            showscale=False,
            xgap=2,
            ygap=4,
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    legend = "  ".join(
        f"<span style='color:{color}'>■</span> {field}" for field, color in _FIELD_COLORS.items()
    )
    return style(
        fig,
        height=230,
        margin={"l": 80, "r": 20, "t": 60, "b": 20},
        title={"text": f"Bits of x = {x!r}<br><sup>{legend} (dark = 1)</sup>"},
    )


def _number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.9g}"


def bits_html(x: float) -> str:
    """A table of what each format stores for ``x`` and how far it is off.

    Args:
      x: The number.

    Returns:
      An HTML table: format, bits (sign | exponent | mantissa), kind, exponent (unbiased),
      stored value, absolute and relative rounding error.
    """
    rows = []
    for name in FORMATS:
        f = bit_fields(x, name)
        e = f.format.exponent_bits
        bits = f"{f.bits[0]} | {f.bits[1 : 1 + e]} | {f.bits[1 + e :]}"
        unbiased = f.exponent - f.format.bias if f.kind == "normal" else "—"
        if f.kind == "subnormal":
            unbiased = 1 - f.format.bias
        rel = "—" if math.isnan(f.rel_error) else f"{f.rel_error:.3g}"
        rows.append([name, bits, f.kind, unbiased, _number(f.stored), _number(f.abs_error), rel])
    header = ["format", "sign | exponent | mantissa", "kind", "2^", "stored", "abs error", "rel"]
    return f"<p>x = <code>{html.escape(repr(x))}</code></p>" + html_table(header, rows)


def ranges_html() -> str:
    """Largest value, smallest normal and subnormal, and epsilon of each format.

    Numbers come from ``ml_dtypes.finfo`` (the same as ``jnp.finfo``); ``digits`` is the
    decimal precision, log10(2^(mantissa bits + 1)).

    Returns:
      An HTML table.
    """
    rows = []
    for name, fmt in FORMATS.items():
        info = ml_dtypes.finfo(fmt.dtype)
        rows.append(
            [
                name,
                f"1 + {fmt.exponent_bits} + {fmt.mantissa_bits}",
                f"{float(info.max):.4g}",
                f"{float(info.smallest_normal):.4g}",
                f"{float(info.smallest_subnormal):.4g}",
                f"{float(info.eps):.4g}",
                f"{(fmt.mantissa_bits + 1) * math.log10(2):.1f}",
            ]
        )
    header = ["format", "bits", "max", "smallest normal", "smallest subnormal", "eps", "digits"]
    return html_table(header, rows)


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


class BitExplorer(Explorer):
    """Type or slide a number; see its bits and rounding error in three formats.

    CSS classes: the whole explorer ``gl-bits-explorer``, the text box ``gl-bits-text``, the
    slider ``gl-bits-slider``, the readout ``gl-bits-readout``, the figure ``gl-bits-figure``.

    Attributes:
      text: Text box (accepts ``1e-3``, ``inf``, ``nan``, ``-0``, ``2**-8``, ``1+2**-8``).
      slider: A slider over −10 … 10; moving it writes its value into the text box.
      readout: The table from :func:`bits_html`.
      figure: The ``FigureWidget`` of :func:`bits_figure`.
      widget: The whole explorer.
    """

    def __init__(self, x: float = 0.1) -> None:
        """Build the explorer.

        Args:
          x: The first number shown.
        """
        self.x = float(x)
        self.text = widgets.Text(value=repr(self.x), description="x =", continuous_update=False)
        self.text.add_class("gl-bits-text")
        self.slider = widgets.FloatSlider(
            value=max(-10.0, min(10.0, self.x)) if math.isfinite(self.x) else 0.0,
            min=-10.0,
            max=10.0,
            step=0.01,
            description="slide",
            readout_format=".2f",
        )
        self.slider.add_class("gl-bits-slider")
        self.readout = widgets.HTML(bits_html(self.x))
        self.readout.add_class("gl-bits-readout")
        self.figure = go.FigureWidget(bits_figure(self.x))
        self.figure.add_class("gl-bits-figure")
        self.widget = widgets.VBox(
            [widgets.HBox([self.text, self.slider]), self.figure, self.readout]
        )
        self.widget.add_class("gl-bits-explorer")
        self.text.observe(lambda change: self._typed(change["new"]), names="value")
        self.slider.observe(lambda change: self._slid(change["new"]), names="value")

    def _typed(self, text: str) -> None:
        try:
            value = parse_number(text)
        except ValueError:
            self.readout.value = f"<p>Not a number: <code>{html.escape(text)}</code></p>"
            return
        self.set_value(value)

    def _slid(self, value: float) -> None:
        self.text.value = f"{value:g}"  # triggers _typed

    def set_value(self, x: float) -> None:
        """Show the number ``x``.

        Args:
          x: The number.
        """
        self.x = float(x)
        new = bits_figure(self.x)
        self.readout.value = bits_html(self.x)
        with self.figure.batch_update():
            trace = self.figure.data[0]
            trace.z, trace.text = new.data[0].z, new.data[0].text
            trace.customdata = new.data[0].customdata
            self.figure.layout.title.text = new.layout.title.text

    def static(self) -> list[go.Figure | str]:
        """The current number, plus 1 + 2⁻⁸ (lost by bfloat16), 70000 and 1e-6."""
        parts: list[go.Figure | str] = [bits_figure(self.x), bits_html(self.x)]
        for other in (1 + 2**-8, 70000.0, 1e-6):
            parts += [bits_figure(other), bits_html(other)]
        return parts


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


def _thin(n: int, points: int = 300) -> np.ndarray:
    """At most ``points`` evenly spread indices of ``range(n)``, always including the last."""
    return np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(int))


def accumulation_figure(result: Accumulation) -> go.Figure:
    """The running sums of :func:`accumulate` against the step.

    Traces, in order: exact sum, float32, bfloat16 round-to-nearest, the stochastic-rounding
    band (mean ± one standard deviation over seeds: upper, then lower edge), its mean, and the
    first seed's single run.

    Args:
      result: From :func:`accumulate`.

    Returns:
      The figure.
    """
    keep = _thin(len(result.steps_N))
    x_N = result.steps_N[keep]
    mean_N, std_N = result.stochastic_mean_N[keep], result.stochastic_std_N[keep]
    sr_color = PALETTE[0]
    fig = go.Figure(
        [
            go.Scatter(
                x=x_N,
                y=result.exact_N[keep],
                name="exact sum",
                line={"color": "black", "dash": "dash"},
            ),
            go.Scatter(
                x=x_N,
                y=result.float32_N[keep],
                name="float32",
                line={"color": PALETTE[4], "dash": "dot"},
            ),
            go.Scatter(
                x=x_N,
                y=result.nearest_N[keep],
                name="bfloat16, round to nearest",
                line={"color": PALETTE[5], "width": 3},
            ),
            go.Scatter(
                x=x_N, y=mean_N + std_N, line={"width": 0}, showlegend=False, hoverinfo="skip"
            ),
            go.Scatter(
                x=x_N,
                y=mean_N - std_N,
                line={"width": 0},
                fill="tonexty",
                fillcolor=_tint(sr_color, 0.25),
                name="stochastic: ± 1 std over seeds",
                hoverinfo="skip",
            ),
            go.Scatter(
                x=x_N,
                y=mean_N,
                name="bfloat16, stochastic (mean of seeds)",
                line={"color": sr_color, "width": 3},
            ),
            go.Scatter(
                x=x_N,
                y=result.stochastic_SxN[0][keep],
                name="stochastic, one seed",
                line={"color": sr_color, "width": 1},
                opacity=0.6,
            ),
        ]
    )
    fig.update_xaxes(title="update number n")
    fig.update_yaxes(title="running value")
    return style(
        fig,
        height=480,
        title=_accumulation_title(result),
        legend={"orientation": "h", "x": 0, "y": -0.22},
    )


def _accumulation_title(result: Accumulation) -> str:
    ratio = result.update / bfloat16_step(result.start)
    return (
        f"{len(result.steps_N)} updates of u = {result.update:.3g} to {result.start:g}"
        f"<br><sup>u = {ratio:.3g} bfloat16 steps at the start</sup>"
    )


def accumulation_html(result: Accumulation) -> str:
    """The final value under each rule and its distance from the exact sum.

    Args:
      result: From :func:`accumulate`.

    Returns:
      An HTML table.
    """
    exact = result.exact_N[-1]
    mean, std = result.stochastic_mean_N[-1], result.stochastic_std_N[-1]
    rows = [
        ["exact", f"{exact:.6g}", ""],
        ["float32", f"{result.float32_N[-1]:.6g}", f"{result.float32_N[-1] - exact:+.3g}"],
        [
            "bfloat16, round to nearest",
            f"{result.nearest_N[-1]:.6g}",
            f"{result.nearest_N[-1] - exact:+.3g}",
        ],
        [
            f"bfloat16, stochastic ({result.stochastic_SxN.shape[0]} seeds)",
            f"{mean:.6g} ± {std:.2g}",
            f"{mean - exact:+.3g}",
        ],
    ]
    return html_table(["rule", "final value", "minus exact"], rows)


class AccumulationExplorer(Explorer):
    """Slide the update size (log scale) and watch round-to-nearest stall.

    CSS classes: the whole explorer ``gl-accum-explorer``, the update slider
    ``gl-accum-slider``, the step-count buttons ``gl-accum-steps``, the readout
    ``gl-accum-readout``, the figure ``gl-accum-figure``.

    Attributes:
      update: Update size u (10⁻⁵ … 10⁻¹).
      steps: Number of updates.
      readout: Final values (:func:`accumulation_html`).
      figure: The ``FigureWidget``.
      widget: The whole explorer.
    """

    def __init__(self, update: float = 1e-3, steps: int = 1000, seeds: int = 16) -> None:
        """Build the explorer.

        Args:
          update: First update size.
          steps: First number of updates (one of 250, 1000, 4000).
          seeds: Stochastic-rounding runs averaged.
        """
        self.seeds = seeds
        self.update_slider = widgets.FloatLogSlider(
            value=update,
            base=10,
            min=-5,
            max=-1,
            step=0.05,
            description="update u",
            readout_format=".2e",
        )
        self.update_slider.add_class("gl-accum-slider")
        self.steps = widgets.ToggleButtons(
            options=[250, 1000, 4000], value=steps, description="updates"
        )
        self.steps.add_class("gl-accum-steps")
        result = self.result()
        self.readout = widgets.HTML(accumulation_html(result))
        self.readout.add_class("gl-accum-readout")
        self.figure = go.FigureWidget(accumulation_figure(result))
        self.figure.add_class("gl-accum-figure")
        self.widget = widgets.VBox(
            [widgets.HBox([self.update_slider, self.steps]), self.figure, self.readout]
        )
        self.widget.add_class("gl-accum-explorer")
        for control in (self.update_slider, self.steps):
            control.observe(lambda _: self.update(), names="value")

    def result(self) -> Accumulation:
        """The accumulation the controls describe."""
        return accumulate(self.update_slider.value, self.steps.value, seeds=self.seeds)

    def update(self) -> None:
        """Recompute and redraw."""
        result = self.result()
        new = accumulation_figure(result)
        self.readout.value = accumulation_html(result)
        with self.figure.batch_update():
            for trace, fresh in zip(self.figure.data, new.data, strict=True):
                trace.x, trace.y = fresh.x, fresh.y
            self.figure.layout.title.text = new.layout.title.text

    def static(self) -> list[go.Figure | str]:
        """The current state, plus an update below half a bfloat16 step for contrast."""
        result = self.result()
        small = accumulate(
            1e-3 if result.update > 2e-3 else 1e-2, len(result.steps_N), seeds=self.seeds
        )
        return [
            accumulation_figure(result),
            accumulation_html(result),
            accumulation_figure(small),
            accumulation_html(small),
        ]


_PART_COLORS = {
    "params": PALETTE[0],
    "gradients": PALETTE[4],
    "adam_moments": PALETTE[1],
    "master_copy": PALETTE[5],
}
_PART_NAMES = {
    "params": "parameters",
    "gradients": "gradients",
    "adam_moments": "Adam moments (fp32)",
    "master_copy": "fp32 master copy",
}


def memory_figure(policies: Sequence[str] = tuple(POLICIES)) -> go.Figure:
    """Stacked bars of training-state bytes per parameter for each policy (unsharded).

    Args:
      policies: Policy names.

    Returns:
      One trace per part of `gopherlite.costs.bytes_per_parameter`.
    """
    parts = {name: bytes_per_parameter(name) for name in policies}
    fig = go.Figure(
        [
            go.Bar(
                x=list(policies),
                y=[parts[name][part] for name in policies],
                name=_PART_NAMES[part],
                marker_color=color,
            )
            for part, color in _PART_COLORS.items()
        ]
    )
    fig.update_yaxes(title="bytes per parameter")
    return style(fig, barmode="stack", height=360, title="Training state per parameter (unsharded)")


def zero_bytes_per_device(
    policy: str, n_params: float, data_parallel: int, model_parallel: int = 1
) -> dict[str, float]:
    """Bytes per device when the optimizer state is sharded over data-parallel devices (ZeRO).

    Parameters and gradients are split over the ``model_parallel`` devices of one model
    replica (Megatron-style tensor parallelism) and replicated across the ``data_parallel``
    replicas; the optimizer state (Adam's moments, and the master copy when there is one) is
    split over all ``model_parallel · data_parallel`` devices (Rajbhandari et al. 2020, ZeRO
    stage 1; Gopher G Sec. 3.3 used both). Activations are not counted.

    Args:
      policy: Policy name.
      n_params: Model parameters.
      data_parallel: Data-parallel replicas sharing the optimizer state.
      model_parallel: Devices one replica's parameters are split over.

    Returns:
      Bytes per device of ``replicated`` (parameters and gradients), ``sharded`` (optimizer
      state) and ``total``.
    """
    per = bytes_per_parameter(policy)
    replicated = n_params * (per["params"] + per["gradients"]) / model_parallel
    optimizer = per["adam_moments"] + per["master_copy"]
    sharded = n_params * optimizer / (data_parallel * model_parallel)
    return {"replicated": replicated, "sharded": sharded, "total": replicated + sharded}


def sharding_figure(
    n_params: float,
    degrees: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    policies: Sequence[str] = ("fp32", "bf16_sr", "bf16_master"),
    model_parallel: int = 1,
    title: str = "",
) -> go.Figure:
    """Training state per device against the data-parallel degree, under ZeRO sharding.

    Args:
      n_params: Model parameters (e.g. 280e9).
      degrees: Data-parallel degrees (log x axis).
      policies: Policies drawn, one line each.
      model_parallel: Devices each replica is split over (see :func:`zero_bytes_per_device`).
      title: Figure title (default names the model size and the model-parallel degree).

    Returns:
      The figure; y in GiB.
    """
    fig = go.Figure(
        [
            go.Scatter(
                x=list(degrees),
                y=[
                    zero_bytes_per_device(name, n_params, d, model_parallel)["total"] / 2**30
                    for d in degrees
                ],
                name=name,
                mode="lines+markers",
            )
            for name in policies
        ]
    )
    fig.update_xaxes(title="data-parallel replicas sharing the optimizer state", type="log")
    fig.update_yaxes(title="GiB per device (params + grads + optimizer)", type="log")
    title = title or (
        f"{n_params / 1e9:.3g}B parameters, model-parallel degree {model_parallel}: "
        "training state per device with ZeRO"
    )
    return style(fig, height=380, title=title)


def _smooth(y_N: Sequence[float], window: int) -> np.ndarray:
    y_N = np.asarray(y_N, np.float64)
    if window <= 1 or len(y_N) < window:
        return y_N
    kernel = np.ones(window) / window
    return np.convolve(y_N, kernel, mode="valid")


def comparison_figure(
    losses: Mapping[str, Sequence[float]],
    heldout: Mapping[str, Sequence[tuple[int, float]]],
    window: int = 20,
) -> go.Figure:
    """Training loss and held-out bits per byte of the side-by-side runs.

    Left: training loss minus fp32's at the same step (moving average over ``window`` steps),
    which shows gaps far smaller than the loss itself. Right: held-out bits per byte at each
    evaluation.

    Args:
      losses: Run name → loss per step (must include ``"fp32"``).
      heldout: Run name → ``(step, bpb)`` pairs.
      window: Moving-average width of the training losses.

    Returns:
      The figure, one colour per run.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            f"training loss minus fp32's (mean of {window} steps)",
            "held-out bits per byte",
        ),
    )
    base_N = np.asarray(losses["fp32"], np.float64)
    for i, name in enumerate(losses):
        color = PALETTE[i % len(PALETTE)]
        diff_N = _smooth(np.asarray(losses[name], np.float64) - base_N, window)
        steps_N = np.arange(len(base_N) - len(diff_N) + 1, len(base_N) + 1)
        fig.add_trace(
            go.Scatter(x=steps_N, y=diff_N, name=name, legendgroup=name, line={"color": color}),
            row=1,
            col=1,
        )
        points = list(heldout.get(name, []))
        fig.add_trace(
            go.Scatter(
                x=[s for s, _ in points],
                y=[b for _, b in points],
                name=name,
                legendgroup=name,
                showlegend=False,
                mode="lines+markers",
                line={"color": color},
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title="step")
    fig.update_yaxes(title="nats", row=1, col=1)
    fig.update_yaxes(title="bits per byte", row=1, col=2)
    return style(fig, height=400, title="Five precision policies, same weights, same batches")


def comparison_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """The side-by-side table: held-out bpb, gap to fp32, training loss, memory, step time.

    Args:
      rows: From `gopherlite.workbook.experiments.precision_study.summarise`.

    Returns:
      An HTML table.
    """
    fp32 = next(r["final_heldout_bpb"] for r in rows if r["run"] == "fp32")
    body = [
        [
            r["run"],
            POLICIES[r["policy"]].description,
            f"{r['final_heldout_bpb']:.4f}",
            f"{r['final_heldout_bpb'] - fp32:+.4f}",
            f"{r['final_train_loss']:.4f}",
            r["bytes_per_parameter"]["total"],
            f"{r['step_seconds_median']:.3f}",
        ]
        for r in rows
    ]
    header = [
        "run",
        "policy",
        "held-out bpb",
        "minus fp32",
        "train loss (last 10%)",
        "bytes/param",
        "step time (s, median)",
    ]
    return html_table(header, body)
