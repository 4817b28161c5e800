"""Drawing relative attention's four score terms, layer by layer and head by head (ch. 04).

Transformer-XL (Dai et al. 2019, Sec. 3.3), which Gopher adopts (Rae et al. 2021, Sec. 3.1),
scores query i against key j with four terms: (a) q·k content–content, (b) q·W_kR R
content–position, (c) u·k global content bias and (d) v·W_kR R global position bias. The terms
of a real layer are computed by `gopherlite.nn.attention_terms`; this module draws them.

* :class:`ScoreTermsExplorer`, :func:`score_terms_figure`: heatmaps of every term, per layer
  and head, for a sentence run through a model; :func:`terms_table_html`.
* :func:`token_labels`: readable axis labels for token pieces.

The relative shift, the sinusoids and the clamp are drawn by `viz.positions`; the context
extrapolation experiment by `viz.extrapolation`.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gopherlite.nn.attention_terms import TERMS, ScoreTerms, model_score_terms
from gopherlite.nn.transformer import GopherLM
from gopherlite.workbook.viz.common import Explorer, html_table, style

TERM_LABELS: dict[str, str] = {
    "a": "(a) content–content  q·k",
    "b": "(b) content–position  q·W_kR R",
    "c": "(c) global content bias  u·k",
    "d": "(d) global position bias  v·W_kR R",
    "total": "sum of the four",
    "weights": "attention weights",
}
TERM_SHORT: dict[str, str] = {
    "a": "(a) q·k",
    "b": "(b) q·W_kR R",
    "c": "(c) u·k",
    "d": "(d) v·W_kR R",
    "total": "sum of the four",
    "weights": "attention weights",
}
SCORE_COLORS = "RdBu_r"
_WEIGHT_COLORS = "Viridis"


def gaps(values: np.ndarray) -> list:
    """Nested lists with None for NaN: plotly draws gaps, and widget messages stay valid JSON.

    Args:
      values: Any array, NaN where nothing is to be drawn.

    Returns:
      The values as nested lists of floats and None.
    """
    values = np.asarray(values, np.float64)
    return np.where(np.isnan(values), None, values).tolist()


def _heatmap(
    z_QxC: np.ndarray, labels: Sequence[str], coloraxis: str, name: str, text: bool = False
) -> go.Heatmap:
    """A query × key heatmap on integer axes (labels may repeat), hover showing both tokens."""
    n = len(labels)
    hover = np.array([[f"{labels[i]} → {labels[j]}" for j in range(n)] for i in range(n)])
    return go.Heatmap(
        z=gaps(z_QxC),
        x=list(range(n)),
        y=list(range(n)),
        coloraxis=coloraxis,
        name=name,
        customdata=hover,
        hovertemplate="%{customdata}<br>%{z:.3f}<extra>" + html.escape(name) + "</extra>",
        **({"texttemplate": "%{z:.2f}"} if text else {}),
    )


@dataclasses.dataclass(frozen=True)
class TermsView:
    """What :func:`score_terms_figure` shows.

    Attributes:
      head: Head of the top row (every term of one head).
      term: Term of the bottom row (one term for every head), a key of ``TERM_LABELS``.
    """

    head: int = 0
    term: str = "weights"


def score_terms_figure(
    terms: ScoreTerms, labels: Sequence[str], view: TermsView = TermsView(), *, title: str = ""
) -> go.Figure:
    """Heatmaps of one layer's score terms for the first sequence of the batch.

    Top row: terms (a)–(d) and their sum for ``view.head``, on one shared colour scale, so the
    biggest term is the darkest. Bottom row: ``view.term`` for every head, side by side.
    Rows are queries, columns keys; the blank upper triangle is the causal mask.

    Args:
      terms: From `gopherlite.nn.attention_terms.relative_score_terms`.
      labels: One label per position (e.g. the token pieces).
      view: Which head and which term.
      title: Figure title.

    Returns:
      The figure (its top row traces come first, then one per head).
    """
    H = terms.a_BxHxQxC.shape[1]
    cols = max(5, H)
    top = ("a", "b", "c", "d", "total")
    fig = make_subplots(
        rows=2,
        cols=cols,
        horizontal_spacing=0.02,
        vertical_spacing=0.12,
        subplot_titles=[TERM_SHORT[t] for t in top]
        + [""] * (cols - 5)
        + [f"head {h}" for h in range(H)]
        + [""] * (cols - H),
    )
    for col, name in enumerate(top, start=1):
        z = np.asarray(terms.term(name)[0, view.head])
        fig.add_trace(_heatmap(z, labels, "coloraxis", f"head {view.head} {name}"), 1, col)
    for h in range(H):
        z = np.asarray(terms.term(view.term)[0, h])
        fig.add_trace(_heatmap(z, labels, "coloraxis2", f"head {h} {view.term}"), 2, h + 1)
    _style_terms_figure(fig, labels, view, H, cols, title)
    return fig


def _style_terms_figure(
    fig: go.Figure, labels: Sequence[str], view: TermsView, H: int, cols: int, title: str
) -> None:
    n = len(labels)
    ticks = {
        "tickvals": list(range(n)),
        "ticktext": list(labels),
        "tickfont": {"size": 9},
        "showgrid": False,
    }
    fig.update_xaxes(**ticks, tickangle=-90)
    fig.update_yaxes(**ticks, autorange="reversed", showticklabels=False)
    for row in (1, 2):
        fig.update_yaxes(showticklabels=True, row=row, col=1)
    weights = view.term == "weights"
    fig.update_layout(
        coloraxis={"colorscale": SCORE_COLORS, "cmid": 0.0, "colorbar": _colorbar(0.78)},
        coloraxis2={
            "colorscale": _WEIGHT_COLORS if weights else SCORE_COLORS,
            "cmid": None if weights else 0.0,
            "colorbar": _colorbar(0.22),
        },
    )
    style(
        fig,
        height=330 + 25 * n,
        width=max(900, 190 * cols),
        title=title or f"Score terms: head {view.head} (top), {TERM_LABELS[view.term]} (bottom)",
        margin={"t": 100},
    )
    # The bottom row's titles say which term is shown.
    for h in range(H):
        fig.layout.annotations[cols + h].text = f"head {h}: {TERM_SHORT[view.term]}"
        fig.layout.annotations[cols + h].font = {"size": 11}


def _colorbar(y: float) -> dict[str, float]:
    return {"len": 0.4, "y": y, "thickness": 12}


class ScoreTermsExplorer(Explorer):
    """Pick a layer, a head and a term; see the four Transformer-XL terms as heatmaps.

    CSS classes: the layer control ``gl-terms-layer``, the head control ``gl-terms-head``, the
    term control ``gl-terms-term``, the figure ``gl-terms-figure``.

    Attributes:
      layer: Dropdown over the model's layers.
      head: Toggle buttons over the heads (top row of the figure).
      term: Toggle buttons over ``TERM_LABELS`` (bottom row of the figure).
      figure: The ``FigureWidget``.
      widget: The whole explorer.
    """

    def __init__(self, model: GopherLM, tokens_L: Sequence[int], labels: Sequence[str]) -> None:
        """Run the tokens through the model once and compute every layer's terms.

        Args:
          model: A relative-attention model.
          tokens_L: Token ids of one sequence.
          labels: One label per token (e.g. its piece).
        """
        if len(labels) != len(tokens_L):
            raise ValueError(f"{len(tokens_L)} tokens but {len(labels)} labels.")
        self.labels = list(labels)
        self.terms = model_score_terms(model, jnp.asarray(tokens_L, jnp.int32)[None])
        H = model.config.n_heads
        self.layer = widgets.Dropdown(
            options=[(f"layer {i}", i) for i in range(len(self.terms))], description="layer"
        )
        self.layer.add_class("gl-terms-layer")
        self.head = widgets.ToggleButtons(
            options=[(str(h), h) for h in range(H)], description="head (top)"
        )
        self.head.add_class("gl-terms-head")
        self.term = widgets.ToggleButtons(
            options=[(label, key) for key, label in TERM_LABELS.items()],
            value="weights",
            description="term (bottom)",
            style={"button_width": "auto"},
        )
        self.term.add_class("gl-terms-term")
        self.figure = go.FigureWidget(self._figure())
        self.figure.add_class("gl-terms-figure")
        self.widget = widgets.VBox([widgets.HBox([self.layer, self.head]), self.term, self.figure])
        for control in (self.layer, self.head, self.term):
            control.observe(lambda _: self.update(), names="value")

    @property
    def view(self) -> TermsView:
        """The head and term the controls select."""
        return TermsView(head=self.head.value, term=self.term.value)

    def _figure(self) -> go.Figure:
        return score_terms_figure(
            self.terms[self.layer.value],
            self.labels,
            self.view,
            title=f"Layer {self.layer.value}: head {self.head.value} (top), "
            f"{TERM_LABELS[self.term.value]} per head (bottom)",
        )

    def update(self) -> None:
        """Redraw every heatmap for the selected layer, head and term."""
        new = self._figure()
        with self.figure.batch_update():
            for trace, fresh in zip(self.figure.data, new.data, strict=True):
                trace.z, trace.name = fresh.z, fresh.name
            self.figure.layout.coloraxis2 = new.layout.coloraxis2
            self.figure.layout.title.text = new.layout.title.text
            for annotation, fresh in zip(
                self.figure.layout.annotations, new.layout.annotations, strict=True
            ):
                annotation.text = fresh.text

    def static(self) -> list[go.Figure | str]:
        """Every layer's figure for the selected head, with attention weights below."""
        return [
            score_terms_figure(terms, self.labels, self.view, title=f"Layer {i}")
            for i, terms in enumerate(self.terms)
        ]


def token_labels(pieces: Sequence[str]) -> list[str]:
    """Short, readable axis labels for token pieces: spaces as ``▁``, newlines as ``↵``.

    Args:
      pieces: SentencePiece pieces (or any strings).

    Returns:
      The labels, each prefixed with its position so repeated pieces stay distinct to the eye.
    """
    visible: Callable[[str], str] = lambda s: s.replace("\n", "↵").replace("\t", "⇥")  # noqa: E731
    return [f"{i}:{visible(piece)}" for i, piece in enumerate(pieces)]


def terms_table_html(terms: ScoreTerms, head: int = 0) -> str:
    """Mean absolute size of each term for one head, over the visible (causal) entries.

    Args:
      terms: From `gopherlite.nn.attention_terms.relative_score_terms`.
      head: The head.

    Returns:
      An HTML table: term, mean |value|.
    """
    magnitudes = terms.mean_magnitudes(head)
    rows = [[TERM_LABELS[key], f"{magnitudes[key]:.3f}"] for key in TERMS]
    return html_table(["term", f"mean |value|, head {head}"], rows)
