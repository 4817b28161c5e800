"""Drawing data curation (ch. 01): what Gopher's quality thresholds keep and remove.

* :func:`outcome_figure`: bytes kept, removed by the quality rules and removed by the
  repetition rules, per group of documents (real text by source, planted junk by kind), from
  `gopherlite.workbook.experiments.curation.filter_outcome`.
* :class:`ThresholdExplorer`: sliders for three of the quality thresholds (alphabetic-word
  share, word count, mean word length); the repetition rules stay at G Table A1's; the figure
  and a readout follow.

Every decision comes from `gopherlite.data.filters` (`quality_failures`,
`repetition_failures`); nothing is re-decided here.
"""

from __future__ import annotations

import collections
import dataclasses
import html
from collections.abc import Sequence

import ipywidgets as widgets
import plotly.graph_objects as go

from gopherlite.data.corpus import Document
from gopherlite.data.filters import QualityRules, repetition_failures, words
from gopherlite.workbook.experiments.curation import (
    JUNK_KINDS,
    NEAR_COPY,
    FilterOutcome,
    filter_outcome,
)
from gopherlite.workbook.viz.common import PALETTE, Explorer, format_bytes, style


def _title(rules: QualityRules) -> str:
    return (
        f"Bytes kept: alphabetic words ≥ {rules.min_alphabetic_words:.2f}, "
        f"words ≥ {rules.min_words}, mean word length ≥ {rules.min_mean_word_length:.1f}"
    )


_JUNK_ORDER = [f"junk: {kind}" for kind in (*JUNK_KINDS, NEAR_COPY)]


def _group_order(group: str) -> tuple[int, str]:
    """Real groups first (by name), then junk in `JUNK_KINDS` order."""
    if group in _JUNK_ORDER:
        return 1, f"{_JUNK_ORDER.index(group):02d}"
    return 0, group


def outcome_figure(outcome: FilterOutcome, rules: QualityRules) -> go.Figure:
    """Horizontal stacked bars: bytes kept, removed by quality and by repetition, per group.

    Args:
      outcome: From `filter_outcome`.
      rules: The thresholds it was computed with (for the title).

    Returns:
      The figure: trace 0 kept, trace 1 removed by the quality rules, trace 2 by the
      repetition rules.
    """
    groups = sorted(outcome.kept_bytes, key=_group_order)[::-1]  # real text on top
    why = [
        ", ".join(f"{r} {n}" for r, n in outcome.group_rules[g].most_common(3)) or "—"
        for g in groups
    ]
    parts = (
        ("kept", outcome.kept_bytes, PALETTE[2]),
        ("removed: quality", outcome.removed_bytes, PALETTE[5]),
        ("removed: repetition", outcome.repetition_bytes, PALETTE[1]),
    )
    traces = [
        go.Bar(y=groups, x=[table[g] for g in groups], orientation="h", name=name,
               marker={"color": color}, customdata=why,
               hovertemplate=f"%{{y}}: %{{x:,}} bytes {name} (%{{customdata}})<extra></extra>")
        for name, table, color in parts
    ]  # fmt: skip
    return style(
        go.Figure(traces),
        title=_title(rules),
        barmode="stack",
        xaxis={"title": "UTF-8 bytes"},
        height=160 + 28 * len(groups),
        margin={"l": 200, "r": 20, "t": 90, "b": 50},
        legend={
            "orientation": "h",
            "y": 1.0,
            "x": 0.0,
            "yanchor": "bottom",
            "traceorder": "normal",
        },
    )


def outcome_readout(outcome: FilterOutcome) -> str:
    """One paragraph: documents and bytes kept, and each rule's count, largest first.

    Args:
      outcome: From `filter_outcome`.

    Returns:
      HTML.
    """
    n_kept = sum(outcome.kept)
    share = outcome.bytes_kept / outcome.bytes_in if outcome.bytes_in else 0.0
    quality = collections.Counter(rule for failed in outcome.failures for rule in failed)
    repetition = collections.Counter(
        rule
        for q, r in zip(outcome.failures, outcome.repetition, strict=True)
        if not q
        for rule in r
    )
    n_quality = sum(map(bool, outcome.failures))
    n_repetition = len(outcome.failures) - n_kept - n_quality

    def top(counts: collections.Counter) -> str:
        return html.escape(", ".join(f"{rule} {n}" for rule, n in counts.most_common(3)) or "—")

    return (
        f"Kept <b>{n_kept} of {len(outcome.failures)} documents</b>, "
        f"{format_bytes(outcome.bytes_kept)} of {format_bytes(outcome.bytes_in)} "
        f"(<b>{share:.1%}</b> of the bytes). The quality rules removed {n_quality} "
        f"(most failed: {top(quality)}); the repetition rules then removed {n_repetition} "
        f"(most failed: {top(repetition)})."
    )


class ThresholdExplorer(Explorer):
    """Move three quality thresholds; see which documents leave, why, and the bytes left.

    The repetition rules are applied after the quality rules at G Table A1's thresholds (they
    are computed once), so junk that passes the quality rules shows where it is removed.

    CSS classes: ``gl-threshold-explorer`` (the whole), ``gl-threshold-alpha``,
    ``gl-threshold-words``, ``gl-threshold-length`` (the sliders), ``gl-threshold-readout``
    and ``gl-threshold-figure``.

    Attributes:
      alpha, min_words, min_length: Sliders for `QualityRules`' ``min_alphabetic_words``,
        ``min_words`` and ``min_mean_word_length``; the other thresholds stay the paper's.
      figure: `outcome_figure` at the current thresholds.
      readout: `outcome_readout` at the current thresholds.
      widget: The whole explorer.
    """

    def __init__(self, documents: Sequence[Document], rules: QualityRules | None = None) -> None:
        """Split every document into words and apply the repetition rules, once; draw.

        Args:
          documents: The documents to filter (a few hundred keep each redraw well under a
            second).
          rules: Starting thresholds (default: the paper's).
        """
        self.documents = list(documents)
        self.tokens = [words(doc.text) for doc in self.documents]
        self.repetition = [repetition_failures(doc.text) for doc in self.documents]
        self.base = rules or QualityRules()
        self.alpha = widgets.FloatSlider(
            value=self.base.min_alphabetic_words, min=0.0, max=1.0, step=0.05,
            description="alphabetic ≥", readout_format=".2f", continuous_update=False,
            style={"description_width": "110px"}, layout={"width": "420px"},
        )  # fmt: skip
        self.alpha.add_class("gl-threshold-alpha")
        self.min_words = widgets.IntSlider(
            value=self.base.min_words, min=0, max=300, step=10, description="words ≥",
            continuous_update=False, style={"description_width": "110px"},
            layout={"width": "420px"},
        )  # fmt: skip
        self.min_words.add_class("gl-threshold-words")
        self.min_length = widgets.FloatSlider(
            value=self.base.min_mean_word_length, min=1.0, max=6.0, step=0.25,
            description="mean length ≥", readout_format=".2f", continuous_update=False,
            style={"description_width": "110px"}, layout={"width": "420px"},
        )  # fmt: skip
        self.min_length.add_class("gl-threshold-length")
        outcome = self.outcome()
        self.figure = go.FigureWidget(outcome_figure(outcome, self.rules))
        self.figure.add_class("gl-threshold-figure")
        self.readout = widgets.HTML(outcome_readout(outcome))
        self.readout.add_class("gl-threshold-readout")
        self.widget = widgets.VBox(
            [self.alpha, self.min_words, self.min_length, self.readout, self.figure]
        )
        self.widget.add_class("gl-threshold-explorer")
        for control in (self.alpha, self.min_words, self.min_length):
            control.observe(lambda _: self.update(), names="value")

    @property
    def rules(self) -> QualityRules:
        """The thresholds the sliders set (the others stay those of ``rules`` at the start)."""
        return dataclasses.replace(
            self.base,
            min_alphabetic_words=round(self.alpha.value, 4),
            min_words=self.min_words.value,
            min_mean_word_length=round(self.min_length.value, 4),
        )

    def outcome(self) -> FilterOutcome:
        """`filter_outcome` of the documents at the current thresholds."""
        return filter_outcome(self.documents, self.rules, self.tokens, self.repetition)

    def update(self) -> None:
        """Recompute the decisions; redraw the bars, the title and the readout."""
        outcome = self.outcome()
        fresh = outcome_figure(outcome, self.rules)
        with self.figure.batch_update():
            for trace, new in zip(self.figure.data, fresh.data, strict=True):
                trace.x, trace.customdata = new.x, new.customdata
            self.figure.layout.title.text = fresh.layout.title.text
        self.readout.value = outcome_readout(outcome)

    def static(self) -> list[go.Figure | str]:
        """The readout and figure at the current thresholds."""
        outcome = self.outcome()
        return [outcome_readout(outcome), outcome_figure(outcome, self.rules)]
