"""Seeing relative attention: the four score terms, the relative shift, the clamp (chapter 04).

Transformer-XL (Dai et al. 2019, Sec. 3.3), which Gopher adopts (Rae et al. 2021, Sec. 3.1),
scores query i against key j with four terms, with W_kR R_{i−j} the projected sinusoid of the
distance:

  (a) q_i · k_j            content–content      (c) u · k_j            global content bias
  (b) q_i · W_kR R_{i−j}   content–position     (d) v · W_kR R_{i−j}   global position bias

* :func:`relative_score_terms`: the four terms of a real `Attention` layer, computed one by one
  with a distance gather (the slow, obvious way the layer avoids).
* :func:`attention_inputs` and :class:`ScoreTermsExplorer`: heatmaps of every term, per layer
  and head, for a sentence run through a model.
* :func:`rel_shift_steps`, :func:`rel_shift_figure`, :class:`RelShiftStepper`: the
  relative-shift trick (TXL App. B) step by step on a small labelled matrix.
* :func:`sinusoid_figure`: the sinusoid table, and why its dot products depend on distance only.
* :func:`clamp_figure`, :class:`ClampExplorer`: what clamping distances (TXL ``clamp_len``) does.
* :func:`extrapolation_figure`, :class:`ExtrapolationExplorer`: loss per position of models
  trained at one context and read at 2× and 4× (`gopherlite.workbook.experiments.variants`).
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gopherlite.nn.attention import Attention
from gopherlite.nn.positions import clamp_distances, sinusoids
from gopherlite.nn.transformer import GopherLM
from gopherlite.workbook.experiments.variants import ExtrapolationResult
from gopherlite.workbook.viz.common import PALETTE, Explorer, html_table, style

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
_SCORE_COLORS = "RdBu_r"
_WEIGHT_COLORS = "Viridis"
_DASHES = ("solid", "dash", "dot", "dashdot")


@dataclasses.dataclass(frozen=True)
class ScoreTerms:
    """The four unscaled Transformer-XL score terms ``[B, H, Q, C]`` of one attention layer.

    Entries with key j after query i (j > i) are NaN: the causal mask removes them.

    Attributes:
      a_BxHxQxC: (a) content–content, ``q_i · k_j``.
      b_BxHxQxC: (b) content–position, ``q_i · W_kR R_{i−j}``.
      c_BxHxQxC: (c) global content bias, ``u · k_j`` (the same for every query row).
      d_BxHxQxC: (d) global position bias, ``v · W_kR R_{i−j}`` (depends on i − j only).
      d_head: Key size; the layer divides the total by its square root before the softmax.
    """

    a_BxHxQxC: jax.Array
    b_BxHxQxC: jax.Array
    c_BxHxQxC: jax.Array
    d_BxHxQxC: jax.Array
    d_head: int

    def total(self) -> jax.Array:
        """The unscaled score, ``(a) + (b) + (c) + (d)``, as the layer adds it up."""
        return self.a_BxHxQxC + self.b_BxHxQxC + self.c_BxHxQxC + self.d_BxHxQxC

    def weights(self) -> jax.Array:
        """Attention weights: softmax over the visible keys of ``total() / sqrt(d_head)``."""
        masked = jnp.isnan(self.a_BxHxQxC)
        logits = jnp.where(masked, -jnp.inf, self.total() / math.sqrt(self.d_head))
        return jnp.where(masked, jnp.nan, jax.nn.softmax(logits, axis=-1))

    def term(self, name: str) -> jax.Array:
        """One term by name: ``"a"``, ``"b"``, ``"c"``, ``"d"``, ``"total"`` or ``"weights"``."""
        if name == "total":
            return self.total()
        if name == "weights":
            return self.weights()
        if name not in ("a", "b", "c", "d"):
            raise ValueError(f"Unknown term {name!r}; choose one of {list(TERM_LABELS)}.")
        return getattr(self, f"{name}_BxHxQxC")


def relative_score_terms(attn: Attention, x_BxLxD: jax.Array) -> ScoreTerms:
    """Compute the four Transformer-XL terms of a relative `Attention` layer separately.

    Uses the layer's own projections (``query``, ``key``, ``relative_keys`` with its clamp, and
    the biases ``u`` and ``v``), but not its fused computation: W_kR R_{i−j} is gathered for
    every (i, j) pair, an ``[L, L, H, d_head]`` array, instead of the relative shift
    (TXL Sec. 3.3). Their sum equals the layer's unscaled, unmasked scores on and below the
    diagonal.

    Args:
      attn: A relative-attention layer (``config.position == "relative"``).
      x_BxLxD: The layer's (normalised) inputs for positions 0 … L−1.

    Returns:
      The four terms, float32, NaN above the diagonal.

    Raises:
      ValueError: the layer uses absolute positions (it has only term (a)).
    """
    if not attn.relative:
        raise ValueError("An absolute-position layer has no relative terms: only q·k.")
    L = x_BxLxD.shape[1]
    q_BxQxHxK = attn.query(x_BxLxD).astype(jnp.float32)
    k_BxCxHxK = attn.key(x_BxLxD).astype(jnp.float32)
    r_PxHxK = attn.relative_keys(jnp.arange(L)).astype(jnp.float32)  # distances 0 … L−1
    future_QxC = jnp.arange(L)[None, :] > jnp.arange(L)[:, None]
    distance_QxC = clamp_distances(jnp.arange(L)[:, None] - jnp.arange(L)[None, :], None)
    r_QxCxHxK = r_PxHxK[distance_QxC]
    u_HxK = attn.u[...].astype(jnp.float32)
    v_HxK = attn.v[...].astype(jnp.float32)
    B, H = x_BxLxD.shape[0], attn.n_heads
    a = jnp.einsum("BQHK,BCHK->BHQC", q_BxQxHxK, k_BxCxHxK)
    b = jnp.einsum("BQHK,QCHK->BHQC", q_BxQxHxK, r_QxCxHxK)
    c_BxHx1xC = jnp.einsum("HK,BCHK->BHC", u_HxK, k_BxCxHxK)[:, :, None, :]
    c = jnp.broadcast_to(c_BxHx1xC, (B, H, L, L))
    d = jnp.broadcast_to(jnp.einsum("HK,QCHK->HQC", v_HxK, r_QxCxHxK)[None], (B, H, L, L))
    hide = lambda t: jnp.where(future_QxC[None, None], jnp.nan, t)  # noqa: E731
    return ScoreTerms(hide(a), hide(b), hide(c), hide(d), attn.d_head)


def attention_inputs(model: GopherLM, tokens_BxL: jax.Array) -> list[jax.Array]:
    """What each block's attention layer reads: the normalised residual stream.

    Args:
      model: A language model.
      tokens_BxL: Integer token ids.

    Returns:
      One ``[B, L, D]`` array per layer: ``attn_norm`` of the residual stream entering it.
    """
    if model.config.scan_layers:
        raise ValueError(
            "attention_inputs walks the blocks one at a time, but this model stacks them "
            "(scan_layers=True); build the model with scan_layers=False to inspect its layers."
        )
    x_BxLxD = model.embed_tokens(tokens_BxL)
    inputs = []
    for block in model.blocks:
        inputs.append(block.attn_norm(x_BxLxD))
        x_BxLxD, _ = block(x_BxLxD)
    return inputs


def _gaps(values: np.ndarray) -> list:
    """Nested lists with None for NaN: plotly draws gaps, and widget messages stay valid JSON."""
    values = np.asarray(values, np.float64)
    return np.where(np.isnan(values), None, values).tolist()


def _heatmap(
    z_QxC: np.ndarray, labels: Sequence[str], coloraxis: str, name: str, text: bool = False
) -> go.Heatmap:
    """A query × key heatmap on integer axes (labels may repeat), hover showing both tokens."""
    n = len(labels)
    hover = np.array([[f"{labels[i]} → {labels[j]}" for j in range(n)] for i in range(n)])
    return go.Heatmap(
        z=_gaps(z_QxC),
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
      terms: From :func:`relative_score_terms`.
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
        coloraxis={"colorscale": _SCORE_COLORS, "cmid": 0.0, "colorbar": _colorbar(0.78)},
        coloraxis2={
            "colorscale": _WEIGHT_COLORS if weights else _SCORE_COLORS,
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
        tokens_1xL = jnp.asarray(tokens_L, jnp.int32)[None]
        inputs = attention_inputs(model, tokens_1xL)
        self.terms = [
            relative_score_terms(block.attn, x_1xLxD)
            for block, x_1xLxD in zip(model.blocks, inputs, strict=True)
        ]
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


@dataclasses.dataclass(frozen=True)
class ShiftStep:
    """One step of the relative-shift trick.

    Attributes:
      title: What happened in this step.
      values: The numbers after the step.
      labels: A label per entry (same shape as ``values``).
    """

    title: str
    values: np.ndarray
    labels: np.ndarray


def distance_indexed(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The matrix the relative shift starts from, for n queries and n keys.

    Row i holds query i's scores against the distinct distances in descending order:
    column c belongs to distance ``n − 1 − c`` (TXL's ``pos_seq`` runs from klen − 1 down to
    0), so only the last row needs every distance.

    Args:
      n: Sequence length.

    Returns:
      ``(distance_NxN, labels_NxN)``: each entry's distance, and labels ``"q2·r1"``.
    """
    distance_NxN = np.broadcast_to(n - 1 - np.arange(n)[None, :], (n, n)).astype(np.float64)
    labels = np.array([[f"q{i}·r{n - 1 - c}" for c in range(n)] for i in range(n)], dtype=object)
    return distance_NxN, labels


def rel_shift_steps(
    values_QxC: np.ndarray, labels_QxC: np.ndarray | None = None, pad_value: float = 0.0
) -> list[ShiftStep]:
    """The relative shift of `gopherlite.nn.positions.rel_shift`, one reshape at a time.

    Steps: the distance-indexed input; pad one column on the left; read the same memory as
    ``[C + 1, Q]``; drop the first row; read the rest as ``[Q, C]``. The last step equals
    ``rel_shift(values_QxC)`` (with ``pad_value`` 0, as there).

    Args:
      values_QxC: Any ``Q × C`` matrix with ``Q <= C``.
      labels_QxC: Labels of its entries (default: the values as text).
      pad_value: Value of the padded column (NaN draws it blank).

    Returns:
      Five steps.
    """
    Q, C = values_QxC.shape
    if labels_QxC is None:
        labels_QxC = np.vectorize(lambda v: f"{v:.2g}", otypes=[object])(values_QxC)
    values = np.asarray(values_QxC, np.float64)
    labels = np.asarray(labels_QxC, dtype=object)
    pad_v = np.pad(values, [(0, 0), (1, 0)], constant_values=pad_value)
    pad_l = np.concatenate([np.full((Q, 1), "pad", dtype=object), labels], axis=1)
    tall_v, tall_l = pad_v.reshape(C + 1, Q), pad_l.reshape(C + 1, Q)
    return [
        ShiftStep(f"1. scores by distance<br>[{Q}×{C}]", values, labels),
        ShiftStep(f"2. pad a column on the left<br>[{Q}×{C + 1}]", pad_v, pad_l),
        ShiftStep(f"3. read the same memory<br>as [{C + 1}×{Q}]", tall_v, tall_l),
        ShiftStep(f"4. drop the first row<br>[{C}×{Q}]", tall_v[1:], tall_l[1:]),
        ShiftStep(
            f"5. read as [{Q}×{C}]:<br>[i, j] holds distance i−j",
            tall_v[1:].reshape(Q, C),
            tall_l[1:].reshape(Q, C),
        ),
    ]


def _step_heatmap(step: ShiftStep, zmax: float) -> go.Heatmap:
    rows, cols = step.values.shape
    return go.Heatmap(
        z=_gaps(step.values),
        x=list(range(cols)),
        y=list(range(rows)),
        text=step.labels,
        texttemplate="%{text}",
        textfont={"size": 10},
        zmin=0.0,
        zmax=zmax,
        colorscale="Blues",
        showscale=False,
        xgap=2,
        ygap=2,
        hovertemplate="row %{y}, column %{x}: %{text}<extra></extra>",
    )


def rel_shift_figure(n: int = 4, step: int | None = None) -> go.Figure:
    """The relative shift on a labelled ``n × n`` matrix: one step, or all five side by side.

    Entries are labelled ``q{i}·r{d}``: query i's score against the relative key of distance d,
    coloured by d; the padding is blank. After the last step row i, column j holds
    ``q{i}·r{i−j}`` on and below the diagonal; the entries above it (wrapped from the next row
    or padding) are garbage that the causal mask removes.

    Args:
      n: Queries and keys (2 to 10 reads well).
      step: 0 … 4 for one step, None for all.

    Returns:
      The figure.
    """
    distance, labels = distance_indexed(n)
    steps = rel_shift_steps(distance, labels, pad_value=np.nan)
    chosen = steps if step is None else [steps[step]]
    fig = make_subplots(
        rows=1,
        cols=len(chosen),
        subplot_titles=[s.title for s in chosen],
        horizontal_spacing=0.04,
    )
    for col, s in enumerate(chosen, start=1):
        fig.add_trace(_step_heatmap(s, zmax=float(n)), 1, col)
    fig.update_xaxes(showgrid=False, dtick=1, title="column")
    fig.update_yaxes(showgrid=False, dtick=1, autorange="reversed", title="row")
    width = 260 * len(chosen) if step is None else 120 + 70 * (n + 1)
    return style(
        fig,
        height=170 + 55 * (n + 1),
        width=max(width, 420),
        title="Relative shift",
        margin={"t": 110},
    )


_SHIFT_NOTES = (
    "Query i needs its scores against distances i, i−1, …, 0 in columns 0 … i. Computing "
    "q_i · W_kR R_d for every distance d once per row is one [Q × C] product; but row i's "
    "distance i sits in column n−1−i, not column 0.",
    "A column of zeros on the left makes every row one entry longer. Nothing moved yet.",
    "Same numbers in the same memory order, just read with a different shape. Because rows are "
    "now one entry shorter than before the pad, every old row slides one place further left "
    "than the row above it.",
    "The first row is now junk (padding and the start of row 0): drop it.",
    "Read back as the original shape: row i now starts with distance i. On and below the "
    "diagonal, entry [i, j] is q_i · r_{i−j}; above it are leftovers the causal mask hides.",
)


class RelShiftStepper(Explorer):
    """Step through the relative shift with a slider; a second slider sets the matrix size.

    CSS classes: the step slider ``gl-shift-step``, the size slider ``gl-shift-size``, the
    figure ``gl-shift-figure``.

    Attributes:
      step: Step slider (0 … 4).
      size: Matrix size slider (2 … 8).
      note: What the current step does.
      figure: The ``FigureWidget``.
      widget: The whole stepper.
    """

    def __init__(self, n: int = 4) -> None:
        """Build the stepper.

        Args:
          n: Initial matrix size.
        """
        self.step = widgets.IntSlider(value=0, min=0, max=4, description="step")
        self.step.add_class("gl-shift-step")
        self.size = widgets.IntSlider(value=n, min=2, max=8, description="size")
        self.size.add_class("gl-shift-size")
        self.note = widgets.HTML()
        self.figure = go.FigureWidget(rel_shift_figure(n, 0))
        self.figure.add_class("gl-shift-figure")
        self.widget = widgets.VBox([widgets.HBox([self.step, self.size]), self.note, self.figure])
        self.step.observe(lambda _: self.update(), names="value")
        self.size.observe(lambda _: self.update(), names="value")
        self.update()

    def update(self) -> None:
        """Redraw the selected step at the selected size."""
        new = rel_shift_figure(self.size.value, self.step.value)
        self.note.value = f"<p>{html.escape(_SHIFT_NOTES[self.step.value])}</p>"
        with self.figure.batch_update():
            trace, fresh = self.figure.data[0], new.data[0]
            trace.update(z=fresh.z, x=fresh.x, y=fresh.y, text=fresh.text, zmax=fresh.zmax)
            self.figure.layout.annotations[0].text = new.layout.annotations[0].text
            self.figure.layout.height = new.layout.height
            self.figure.layout.width = new.layout.width

    def static(self) -> list[go.Figure | str]:
        """All five steps side by side."""
        return [rel_shift_figure(self.size.value)]


def sinusoid_figure(
    max_distance: int = 64, d: int = 64, starts: Sequence[int] = (0, 17, 40)
) -> go.Figure:
    """The sinusoid table R, and the dot product of two of its rows against their distance.

    ``R_p · R_{p+k} = Σ_f [sin(p w_f) sin((p+k) w_f) + cos(p w_f) cos((p+k) w_f)]
    = Σ_f cos(k w_f)``: it depends on the offset k alone, whatever p is. The right panel shows
    one curve per start p, and they coincide.

    Args:
      max_distance: Rows of the table (distances 0 … max_distance − 1).
      d: Embedding width (even).
      starts: Start positions p of the dot-product curves.

    Returns:
      The two-panel figure.
    """
    table_PxD = np.asarray(sinusoids(jnp.arange(max_distance + max(starts)), d))
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.45, 0.55],
        subplot_titles=(
            f"R: sine half | cosine half (d = {d})",
            "R_p · R_(p+k) depends only on k",
        ),
    )
    fig.add_trace(
        go.Heatmap(
            z=table_PxD[:max_distance],
            colorscale=_SCORE_COLORS,
            zmid=0.0,
            showscale=False,
            hovertemplate="distance %{y}, feature %{x}: %{z:.2f}<extra></extra>",
        ),
        1,
        1,
    )
    offsets = np.arange(max_distance)
    for i, p in enumerate(starts):
        dots = table_PxD[p + offsets] @ table_PxD[p]
        fig.add_trace(
            go.Scatter(
                x=offsets,
                y=dots,
                mode="lines",
                name=f"p = {p}",
                line={
                    "color": PALETTE[i % len(PALETTE)],
                    "width": 4 - i,
                    "dash": ("solid", "dash", "dot")[i % 3],
                },
            ),
            1,
            2,
        )
    fig.update_xaxes(title="feature", row=1, col=1)
    fig.update_yaxes(title="distance", autorange="reversed", row=1, col=1)
    fig.update_xaxes(title="offset k", row=1, col=2)
    fig.update_yaxes(title="dot product", row=1, col=2)
    return style(
        fig, height=420, title="Fixed sinusoids: a table that never runs out", margin={"t": 90}
    )


def clamp_figure(length: int = 24, clamp_len: int | None = 8, d: int = 32) -> go.Figure:
    """What clamping relative distances does (Transformer-XL ``clamp_len``).

    Left: the distance each (query, key) pair feeds to the sinusoids, after
    `gopherlite.nn.positions.clamp_distances`; everything further than ``clamp_len`` reads as
    ``clamp_len``. Right: the sinusoid rows actually used for distances 0 … length − 1: rows
    past the clamp repeat.

    Args:
      length: Sequence length.
      clamp_len: Largest distinct distance, or None for no clamp.
      d: Sinusoid width of the right panel.

    Returns:
      The two-panel figure.
    """
    distance_LxL = np.asarray(
        clamp_distances(jnp.arange(length)[:, None] - jnp.arange(length)[None, :], clamp_len),
        np.float64,
    )
    distance_LxL[np.triu_indices(length, 1)] = np.nan
    rows_PxD = np.asarray(sinusoids(clamp_distances(jnp.arange(length), clamp_len), d))
    label = "no clamp" if clamp_len is None else f"clamp_len = {clamp_len}"
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.18,
        subplot_titles=(
            f"distance fed to the sinusoids ({label})",
            "sinusoid row used for each true distance",
        ),
    )
    fig.add_trace(
        go.Heatmap(
            z=_gaps(distance_LxL),
            colorscale="Blues",
            zmin=0,
            zmax=length - 1,
            colorbar={
                "title": "distance",
                "x": 0.42,
                "xanchor": "left",
                "len": 0.8,
                "thickness": 12,
            },
            hovertemplate="query %{y}, key %{x}: distance %{z}<extra></extra>",
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Heatmap(
            z=rows_PxD,
            colorscale=_SCORE_COLORS,
            zmid=0.0,
            showscale=False,
            hovertemplate="true distance %{y}, feature %{x}: %{z:.2f}<extra></extra>",
        ),
        1,
        2,
    )
    fig.update_xaxes(title="key j", row=1, col=1)
    fig.update_yaxes(title="query i", autorange="reversed", row=1, col=1)
    fig.update_xaxes(title="feature", row=1, col=2)
    fig.update_yaxes(title="true distance i − j", autorange="reversed", row=1, col=2)
    return style(fig, height=440, title=f"Clamping relative distances: {label}", margin={"t": 90})


class ClampExplorer(Explorer):
    """A ``clamp_len`` slider over :func:`clamp_figure`.

    CSS classes: the slider ``gl-clamp-slider``, the figure ``gl-clamp-figure``.

    Attributes:
      clamp: Slider from 1 to ``length``; ``length`` means no clamp (no distance reaches it).
      figure: The ``FigureWidget``.
      widget: The whole explorer.
    """

    def __init__(self, length: int = 24, clamp_len: int = 8) -> None:
        """Build the explorer.

        Args:
          length: Sequence length.
          clamp_len: Initial clamp.
        """
        self.length = length
        self.clamp = widgets.IntSlider(value=clamp_len, min=1, max=length, description="clamp_len")
        self.clamp.add_class("gl-clamp-slider")
        self.figure = go.FigureWidget(clamp_figure(length, clamp_len))
        self.figure.add_class("gl-clamp-figure")
        self.widget = widgets.VBox([self.clamp, self.figure])
        self.clamp.observe(lambda _: self.update(), names="value")

    def update(self) -> None:
        """Redraw for the slider's clamp."""
        new = clamp_figure(self.length, self.clamp.value)
        with self.figure.batch_update():
            for trace, fresh in zip(self.figure.data, new.data, strict=True):
                trace.z = fresh.z
            self.figure.layout.title.text = new.layout.title.text
            self.figure.layout.annotations[0].text = new.layout.annotations[0].text

    def static(self) -> list[go.Figure | str]:
        """The figure at the current clamp."""
        return [clamp_figure(self.length, self.clamp.value)]


def smooth(y_L: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average that skips NaN entries; ``window <= 1`` returns a copy.

    Args:
      y_L: A curve, NaN where there is no value.
      window: Width of the average in points.

    Returns:
      The smoothed curve, same length (NaN only where a whole window was NaN).
    """
    y_L = np.asarray(y_L, np.float64)
    if window <= 1:
        return y_L.copy()
    kernel = np.ones(window)
    valid = ~np.isnan(y_L)
    total = np.convolve(np.where(valid, y_L, 0.0), kernel, mode="same")
    count = np.convolve(valid.astype(np.float64), kernel, mode="same")
    return np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0)


def extrapolation_figure(
    result: ExtrapolationResult, *, window: int = 1, lengths: Sequence[int] | None = None
) -> go.Figure:
    """Loss per position at each evaluation length, and the mean loss per length.

    Left: one curve per (variant, length); colour is the variant, dash the length; the grey
    line marks the training context L. Right: the mean held-out loss per length, grouped by
    variant (the same targets at every length).

    Args:
      result: From `gopherlite.workbook.experiments.variants.context_extrapolation`.
      window: Moving-average width for the curves (1: raw).
      lengths: Evaluation lengths to draw (default: all).

    Returns:
      The figure: the curve traces first (variant-major), then one bar trace per variant.
    """
    lengths = list(result.lengths if lengths is None else lengths)
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.68, 0.32],
        subplot_titles=("loss at each position", "mean held-out loss"),
    )
    for v, (name, scores) in enumerate(result.scores.items()):
        color = PALETTE[v % len(PALETTE)]
        for k, length in enumerate(result.lengths):
            curve = _gaps(smooth(scores.per_position[length], window))
            fig.add_trace(
                go.Scatter(
                    x=np.arange(length),
                    y=curve,
                    mode="lines",
                    name=f"{name}, {length // result.seq_len}L",
                    legendgroup=name,
                    visible=length in lengths,
                    line={"color": color, "dash": _DASHES[k % len(_DASHES)]},
                    hovertemplate="position %{x}: %{y:.3f} nats<extra>%{fullData.name}</extra>",
                ),
                1,
                1,
            )
    for v, (name, scores) in enumerate(result.scores.items()):
        fig.add_trace(
            go.Bar(
                x=[f"{n // result.seq_len}L = {n}" for n in result.lengths],
                y=[scores.loss[n] for n in result.lengths],
                name=name,
                legendgroup=name,
                showlegend=False,
                marker={"color": PALETTE[v % len(PALETTE)]},
                hovertemplate="%{x}: %{y:.4f} nats<extra>" + html.escape(name) + "</extra>",
            ),
            1,
            2,
        )
    fig.add_vline(x=result.seq_len - 0.5, line={"color": "#777", "dash": "dot"}, row=1, col=1)
    fig.add_annotation(
        x=result.seq_len, y=1.0, yref="y domain", text=f"trained context L = {result.seq_len}",
        showarrow=False, xanchor="left", yanchor="top", row=1, col=1,
    )  # fmt: skip
    fig.update_xaxes(title="position in the window", row=1, col=1)
    fig.update_yaxes(title="loss (nats per token)", row=1, col=1)
    all_losses = [loss for s in result.scores.values() for loss in s.loss.values()]
    spread = max(all_losses) - min(all_losses)
    fig.update_yaxes(
        range=[min(all_losses) - spread - 0.05, max(all_losses) + spread + 0.05], row=1, col=2
    )
    fig.update_layout(barmode="group")
    return style(fig, height=460, title="Trained on L tokens, read with L, 2L and 4L")


class ExtrapolationExplorer(Explorer):
    """Smooth the loss-per-position curves and choose which evaluation lengths to show.

    CSS classes: the smoothing slider ``gl-extrapolation-smooth``, the length selector
    ``gl-extrapolation-lengths``, the figure ``gl-extrapolation-figure``.

    Attributes:
      window: Moving-average width slider.
      lengths: Which evaluation lengths are drawn.
      figure: The ``FigureWidget``.
      widget: The whole explorer.
    """

    def __init__(self, result: ExtrapolationResult, window: int = 1) -> None:
        """Build the explorer.

        Args:
          result: From `gopherlite.workbook.experiments.variants.context_extrapolation`.
          window: Initial moving-average width.
        """
        self.result = result
        self.window = widgets.IntSlider(
            value=window, min=1, max=max(1, result.seq_len // 2), description="smoothing"
        )
        self.window.add_class("gl-extrapolation-smooth")
        self.lengths = widgets.SelectMultiple(
            options=[(f"{n // result.seq_len}L = {n}", n) for n in result.lengths],
            value=tuple(result.lengths),
            description="lengths",
            rows=len(result.lengths),
        )
        self.lengths.add_class("gl-extrapolation-lengths")
        self.figure = go.FigureWidget(extrapolation_figure(result, window=window))
        self.figure.add_class("gl-extrapolation-figure")
        self.table = widgets.HTML(extrapolation_table_html(result))
        self.widget = widgets.VBox(
            [widgets.HBox([self.window, self.lengths]), self.figure, self.table]
        )
        self.window.observe(lambda _: self.update(), names="value")
        self.lengths.observe(lambda _: self.update(), names="value")

    def update(self) -> None:
        """Redraw the curves with the current smoothing and lengths."""
        new = extrapolation_figure(
            self.result, window=self.window.value, lengths=self.lengths.value
        )
        with self.figure.batch_update():
            for trace, fresh in zip(self.figure.data, new.data, strict=True):
                trace.y, trace.visible = fresh.y, fresh.visible

    def static(self) -> list[go.Figure | str]:
        """The figure at the current settings and the loss table."""
        return [
            extrapolation_figure(self.result, window=self.window.value, lengths=self.lengths.value),
            extrapolation_table_html(self.result),
        ]


def extrapolation_table_html(result: ExtrapolationResult) -> str:
    """The mean held-out loss per variant and length as an HTML table.

    Args:
      result: From `gopherlite.workbook.experiments.variants.context_extrapolation`.

    Returns:
      The table (nats per token; lower is better).
    """
    header = ["variant", *(f"{n // result.seq_len}L = {n} tokens" for n in result.lengths)]
    rows = [
        [name, *(f"{scores.loss[n]:.4f}" for n in result.lengths)]
        for name, scores in result.scores.items()
    ]
    return html_table(header, rows)


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
      terms: From :func:`relative_score_terms`.
      head: The head.

    Returns:
      An HTML table: term, mean |value|.
    """
    rows = []
    for key in ("a", "b", "c", "d"):
        z = np.asarray(terms.term(key)[0, head])
        rows.append([TERM_LABELS[key], f"{np.nanmean(np.abs(z)):.3f}"])
    return html_table(["term", f"mean |value|, head {head}"], rows)
