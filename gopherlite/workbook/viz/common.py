"""Shared look and display rules for the workbook's figures and widgets.

Every interactive piece is shown with :func:`show`, which sends one output carrying two
renderings: the live ipywidgets view and a static HTML fallback (a plotly figure, a table, a
quiz's answers). A frontend with a widget manager (JupyterLab, Jupyter Notebook 7, VS Code,
Colab) draws the widget; a frontend without one (nbconvert HTML, nbviewer, a notebook run
headless by the tests) falls back to the HTML. Jupyter picks the richest rendering it supports,
so nothing needs to detect the frontend and nothing is shown twice.

Figures use the ``"gopherlite"`` plotly template (white background, the palette below) through
:func:`style`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
import plotly.io as pio
from IPython.display import display

TEMPLATE = "gopherlite"

# Colour-blind-friendly (Okabe & Ito 2008), in the order plotly cycles through them.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#CC79A7",  # pink
    "#56B4E9",  # sky
    "#D55E00",  # vermilion
    "#F0E442",  # yellow
    "#000000",  # black
)

# One colour per part of a model, used by every chapter's figures.
COMPONENT_COLORS: dict[str, str] = {
    "embedding": PALETTE[0],
    "attention": PALETTE[1],
    "position": PALETTE[3],
    "feed_forward": PALETTE[2],
    "norm": PALETTE[4],
    "scores": PALETTE[5],
    "logits": "#999999",
}

pio.templates[TEMPLATE] = go.layout.Template(
    layout=go.Layout(
        colorway=list(PALETTE),
        font={"family": "Inter, Helvetica, Arial, sans-serif", "size": 13},
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        hoverlabel={"namelength": -1},
    )
)
_BASE_TEMPLATE = f"plotly_white+{TEMPLATE}"


def style(fig: go.Figure, **layout: Any) -> go.Figure:
    """Apply the workbook's template and extra layout settings to a figure, in place.

    Args:
      fig: A plotly figure (or ``FigureWidget``).
      **layout: Further ``fig.update_layout`` arguments (title, axis titles, height...).

    Returns:
      The same figure, for chaining.
    """
    fig.update_layout(template=_BASE_TEMPLATE, **layout)
    return fig


def figure_html(fig: go.Figure) -> str:
    """Render a figure as an HTML fragment that loads plotly.js from its CDN.

    Args:
      fig: A plotly figure.

    Returns:
      A ``<div>`` plus script, for static renderings such as nbconvert's HTML export.
    """
    return go.Figure(fig).to_html(full_html=False, include_plotlyjs="cdn")


class WithFallback:
    """A widget together with a static HTML rendering of the same content.

    Displaying it sends one output whose mime bundle holds the widget view and ``text/html``;
    each frontend picks the richest of the two it can render.

    Attributes:
      widget: The live widget.
      fallback_html: The static rendering.
    """

    def __init__(self, widget: widgets.Widget, fallback_html: str) -> None:
        """Pair a widget with its static rendering.

        Args:
          widget: The live widget.
          fallback_html: HTML shown where widgets cannot be drawn.
        """
        self.widget = widget
        self.fallback_html = fallback_html

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget's own bundle plus ``text/html``."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/html"] = self.fallback_html
        return bundle


def show(widget: widgets.Widget, *static: go.Figure | str) -> None:
    """Display a widget with a static fallback made of figures and HTML snippets.

    Args:
      widget: The live widget (for example an explorer's ``VBox``).
      *static: What a frontend without widgets shows instead: plotly figures (rendered with
        :func:`figure_html`) and HTML strings, in order.
    """
    display(WithFallback(widget, static_html(static)))


class Explorer:
    """Base for interactive explorers: a live ``widget`` plus a static rendering.

    Subclasses set ``self.widget`` and implement :meth:`static`; :meth:`show` displays both
    through :func:`show`.
    """

    widget: widgets.Widget

    def static(self) -> list[go.Figure | str]:
        """Figures and HTML showing the explorer's current state without widgets."""
        raise NotImplementedError

    def show(self) -> None:
        """Display the widget, with :meth:`static` as the fallback."""
        show(self.widget, *self.static())


def static_html(parts: Iterable[go.Figure | str]) -> str:
    """Join figures and HTML snippets into one HTML fragment.

    Args:
      parts: Plotly figures and HTML strings.

    Returns:
      The fragment.
    """
    return "\n".join(part if isinstance(part, str) else figure_html(part) for part in parts)


def html_table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """A small HTML table; every cell is escaped.

    Args:
      header: Column titles.
      rows: Rows of cells (converted with ``str``).

    Returns:
      The ``<table>`` element.
    """
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def tint(color: str, amount: float) -> str:
    """``color`` mixed with white.

    Args:
      color: A ``#rrggbb`` colour.
      amount: 0 gives white, 1 the colour itself.

    Returns:
      An ``rgb(r,g,b)`` string.
    """
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(255 + (c - 255) * amount) for c in (r, g, b)]
    return f"rgb({mix[0]},{mix[1]},{mix[2]})"


def format_count(n: float) -> str:
    """Format a count with a unit: ``43.7M``, ``1.37B``, ``280B``, ``2.05k``.

    Args:
      n: A non-negative number.

    Returns:
      Three significant figures with k, M, B or T.
    """
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.3g}"


def format_bytes(n: float) -> str:
    """Format a byte count in binary units: ``512 B``, ``1.5 GiB``, ``2.55 TiB``.

    Args:
      n: Bytes.

    Returns:
      Three significant figures with B, KiB, MiB, GiB or TiB.
    """
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def format_flops(n: float) -> str:
    """Format a FLOP count in scientific notation: ``4.13e+08 FLOPs``.

    Args:
      n: FLOPs.

    Returns:
      The formatted count.
    """
    return f"{n:.3g} FLOPs"
