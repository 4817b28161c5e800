"""Seeing a float's bits: sign, exponent and mantissa in float32, bfloat16 and float16 (chapter 06).

* :func:`bits_figure` and :func:`bits_html`: one number's three encodings, bit by bit, with the
  value each stores and the rounding error.
* :func:`ranges_html`: each format's range, smallest numbers, epsilon and decimal digits.
* :class:`BitExplorer`: type or slide a number and watch all three.

The numbers come from `gopherlite.workbook.experiments.float_bits`; this module only draws.
"""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as widgets
import ml_dtypes
import plotly.graph_objects as go

from gopherlite.workbook.experiments.float_bits import (
    FORMATS,
    FloatFormat,
    bit_fields,
    parse_number,
)
from gopherlite.workbook.viz.common import PALETTE, Explorer, html_table, style, tint

_FIELD_COLORS = {"sign": PALETTE[5], "exponent": PALETTE[0], "mantissa": PALETTE[2]}


def _field_of(fmt: FloatFormat, position: int) -> str:
    if position == 0:
        return "sign"
    return "exponent" if position <= fmt.exponent_bits else "mantissa"


def _bits_colorscale() -> list[list[Any]]:
    """A stepped colour scale for codes 0..5: field · 2 + bit (light for 0, full for 1)."""
    colors = [
        tint(_FIELD_COLORS[field], amount)
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
