"""Drawing evaluation and behaviour (ch. 09).

* :func:`by_source_table`: bits per byte per source group (`gopherlite.evaluate`), as HTML.
* :func:`pile_figure`: Gopher's and Chinchilla's reported bits per byte on The Pile's subsets.
* :func:`accuracy_figure`: measured multiple-choice accuracies with error bars against chance.
* :func:`association_figure`: a template probe's log-probability gaps, one bar per word.
* :class:`TaskFamilyExplorer`: pick a task family, see the papers' reported results for it.

The reported numbers come from `gopherlite.workbook.reported`; the measured ones are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets
import plotly.graph_objects as go

from gopherlite.evaluate import EvalResult
from gopherlite.workbook.reported import (
    FAMILIES,
    PILE_BITS_PER_BYTE,
    TASK_COUNTS,
    Reported,
    results_in,
)
from gopherlite.workbook.viz.common import PALETTE, Explorer, html_table, style


def by_source_table(results: Mapping[str, EvalResult]) -> str:
    """One row per source group: bytes, tokens, bytes per token, perplexity and bits per byte.

    Args:
      results: From `gopherlite.evaluate.evaluate_by_source`.

    Returns:
      An HTML table.
    """
    rows = [
        (name, f"{r.bytes:,}", f"{r.tokens:,}", f"{r.bytes / r.tokens:.2f}", f"{r.perplexity:.1f}",
         f"{r.bits_per_byte:.3f}",
         "—" if r.unigram_bits_per_byte is None else f"{r.unigram_bits_per_byte:.3f}")
        for name, r in results.items()
    ]  # fmt: skip
    header = ["source", "bytes", "tokens", "bytes/token", "perplexity", "bits/byte", "unigram"]
    return html_table(header, rows)


def pile_figure() -> go.Figure:
    """Gopher 280B and Chinchilla 70B on The Pile's subsets, bits per byte (C Table A5)."""
    names = sorted(PILE_BITS_PER_BYTE, key=lambda k: PILE_BITS_PER_BYTE[k][0])
    traces = [
        go.Bar(y=names, x=[PILE_BITS_PER_BYTE[k][i] for k in names], orientation="h",
               name=label, marker={"color": color})
        for i, (label, color) in enumerate(
            (("Gopher 280B", PALETTE[5]), ("Chinchilla 70B", PALETTE[2]))
        )
    ]  # fmt: skip
    return style(
        go.Figure(traces),
        title="Reported bits per byte on The Pile (Chinchilla Table A5; lower is better)",
        xaxis={"title": "bits per byte"},
        barmode="group",
        height=620,
        legend={"orientation": "h", "y": -0.1},
    )


def accuracy_figure(
    scores: Mapping[str, tuple[float, float]], chance: float, title: str
) -> go.Figure:
    """Measured accuracies with ± 2 standard errors, and the chance line.

    Args:
      scores: Label → (accuracy, standard error), accuracies in [0, 1].
      chance: Accuracy of guessing.
      title: Figure title.

    Returns:
      A bar chart.
    """
    labels = list(scores)
    bar = go.Bar(
        x=labels,
        y=[100 * scores[k][0] for k in labels],
        error_y={"type": "data", "array": [200 * scores[k][1] for k in labels]},
        marker={"color": [PALETTE[i % len(PALETTE)] for i in range(len(labels))]},
        name="measured (± 2 s.e.)",
    )
    fig = go.Figure([bar])
    fig.add_hline(y=100 * chance, line_dash="dash", annotation_text=f"chance {100 * chance:.0f}%")
    return style(fig, title=title, yaxis={"title": "accuracy %", "range": [0, 100]}, height=380)


def association_figure(gaps: Mapping[str, float], title: str) -> go.Figure:
    """Horizontal bars of a probe's log-probability gap per word (e.g. log p(he) − log p(she)).

    Args:
      gaps: Word → gap in nats.
      title: Figure title.

    Returns:
      The figure, bars sorted by gap.
    """
    names = sorted(gaps, key=gaps.__getitem__)
    colors = [PALETTE[0] if gaps[k] > 0 else PALETTE[1] for k in names]
    bar = go.Bar(y=names, x=[gaps[k] for k in names], orientation="h", marker={"color": colors})
    return style(
        go.Figure([bar]), title=title, xaxis={"title": "gap (nats)"},
        height=max(320, 26 * len(names)),
    )  # fmt: skip


def _family_figure(results: list[Reported], family: str) -> go.Figure:
    accuracy = [r for r in results if r.metric == "accuracy %"]
    tasks = [r.task for r in accuracy]
    traces = []
    for label, field, color in (("Gopher 280B", "gopher", PALETTE[5]),
                                ("Chinchilla 70B", "chinchilla", PALETTE[2]),
                                ("GPT-3 175B", "gpt3", PALETTE[0])):  # fmt: skip
        values = [getattr(r, field) for r in accuracy]
        if any(v is not None for v in values):
            traces.append(go.Bar(x=tasks, y=values, name=label, marker={"color": color}))
    return style(
        go.Figure(traces),
        title=f"Reported accuracy: {family}",
        yaxis={"title": "accuracy % (reported)", "range": [0, 100]},
        barmode="group",
        height=500,
        showlegend=True,
        legend={"orientation": "h", "y": -0.5},
        margin={"b": 190},
    )


class TaskFamilyExplorer(Explorer):
    """Pick a task family; see Gopher's reported results in it beside Chinchilla's and GPT-3's.

    Every number is the papers' (`gopherlite.workbook.reported`), none is measured here.

    CSS classes: ``gl-task-explorer`` (the whole), ``gl-task-family`` (the dropdown),
    ``gl-task-readout`` and ``gl-task-figure``.

    Attributes:
      family: Dropdown over ``"all"`` and the families.
      figure: Grouped bars of the family's accuracy results.
      readout: How many of the 152 tasks the family holds, and its non-accuracy results.
      widget: The whole explorer.
    """

    def __init__(self, family: str = "all") -> None:
        """Start on a family.

        Args:
          family: ``"all"`` or one of `gopherlite.workbook.reported.FAMILIES`.
        """
        self.family = widgets.Dropdown(options=["all", *FAMILIES], value=family,
                                       description="family")  # fmt: skip
        self.family.add_class("gl-task-family")
        self.figure = go.FigureWidget(self._figure())
        self.figure.add_class("gl-task-figure")
        self.readout = widgets.HTML(self._readout())
        self.readout.add_class("gl-task-readout")
        self.widget = widgets.VBox([self.family, self.readout, self.figure])
        self.widget.add_class("gl-task-explorer")
        self.family.observe(lambda _: self.update(), names="value")

    def _figure(self) -> go.Figure:
        return _family_figure(results_in(self.family.value), self.family.value)

    def _readout(self) -> str:
        family = self.family.value
        if family == "all":
            count = "152 tasks in all (G abstract)"
        elif family in TASK_COUNTS:
            count = f"{TASK_COUNTS[family]} of Gopher's 152 tasks (split UNVERIFIED, facts §7.1)"
        else:
            count = "analysed apart from the counted families in our notes"
        others = [f"{r.task}: {r.gopher} {r.metric}"
                  + ("" if r.chinchilla is None else f" (Chinchilla {r.chinchilla})")
                  for r in results_in(family) if r.metric != "accuracy %"]  # fmt: skip
        extra = f" Also: {'; '.join(others)}." if others else ""
        return (f"<b>{family}</b>: {count}.{extra} The papers' numbers, not measured here "
                "(C Sec. 4.2 and App. H).")  # fmt: skip

    def update(self) -> None:
        """Redraw the bars, title and readout for the chosen family."""
        new = self._figure()
        with self.figure.batch_update():
            self.figure.data = []
            for trace in new.data:
                self.figure.add_trace(trace)
            self.figure.layout.title.text = new.layout.title.text
        self.readout.value = self._readout()

    def static(self) -> list[go.Figure | str]:
        """The readout and the figure for the chosen family."""
        return [self._readout(), self._figure()]
