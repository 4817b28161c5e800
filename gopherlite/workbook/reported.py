"""Evaluation results as the papers reported them, for ch. 09's tables and explorer.

Nothing here is measured by the workbook: every number is copied from the project's facts
sheet with its source (G: Rae et al. 2021, Gopher; C: Hoffmann et al. 2022, Chinchilla). Where
the facts sheet marks something UNVERIFIED, the field ``verified`` says so and the chapter
prints the mark.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Reported:
    """One benchmark result as a paper reported it.

    Attributes:
      family: Task family (language modelling, reading comprehension, ...).
      task: Benchmark and setting, e.g. ``"MMLU, 5-shot average"``.
      metric: ``"accuracy %"``, ``"perplexity"`` or ``"bits per byte"``.
      gopher: Gopher 280B's score.
      chinchilla: Chinchilla 70B's score, None where the facts sheet has none.
      gpt3: GPT-3 175B's score where the sources give it beside Gopher's.
      source: Where the numbers are from.
    """

    family: str
    task: str
    metric: str
    gopher: float
    chinchilla: float | None = None
    gpt3: float | None = None
    source: str = "C Sec. 4.2 and App. H"

    @property
    def higher_is_better(self) -> bool:
        """Accuracy rises with skill; perplexity and bits per byte fall."""
        return self.metric == "accuracy %"


RESULTS: tuple[Reported, ...] = (
    Reported("language modelling", "WikiText103", "perplexity", 7.75, 7.16),
    Reported("language modelling", "LAMBADA, 0-shot", "accuracy %", 74.5, 77.4, 76.2),
    Reported("reading comprehension", "RACE-m, few-shot", "accuracy %", 75.1),
    Reported("reading comprehension", "RACE-h, few-shot", "accuracy %", 71.6),
    Reported("MMLU", "MMLU, 5-shot average", "accuracy %", 60.0, 67.6, 43.9),
    Reported("BIG-bench", "BIG-bench, 62-task average", "accuracy %", 54.4, 65.1),
    Reported("common sense", "HellaSwag, 0-shot", "accuracy %", 79.2),
    Reported("common sense", "PIQA, 0-shot", "accuracy %", 81.8),
    Reported("common sense", "Winogrande, 0-shot", "accuracy %", 70.1),
    Reported("common sense", "SIQA, 0-shot", "accuracy %", 50.6),
    Reported("common sense", "BoolQ, 0-shot", "accuracy %", 79.3),
    Reported("question answering", "Natural Questions, 0-shot", "accuracy %", 10.1),
    Reported("question answering", "Natural Questions, 5-shot", "accuracy %", 24.5),
    Reported("question answering", "Natural Questions, 64-shot", "accuracy %", 28.2),
    Reported("question answering", "TriviaQA, 0-shot", "accuracy %", 52.8),
    Reported("question answering", "TriviaQA, 5-shot", "accuracy %", 63.6),
    Reported("question answering", "TriviaQA, 64-shot", "accuracy %", 61.3),
    Reported("truthfulness", "TruthfulQA, 0-shot", "accuracy %", 29.5),
    Reported("truthfulness", "TruthfulQA, 10-shot", "accuracy %", 43.7),
)
"""Headline results of Gopher 280B (facts sheet §7.2: C Sec. 4.2 and App. H)."""

FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(r.family for r in RESULTS))

TASK_COUNTS: dict[str, int] = {
    "language modelling": 20,
    "reading comprehension": 3,
    "fact checking": 3,
    "question answering": 3,
    "common sense": 4,
    "MMLU": 57,
    "BIG-bench": 62,
}
"""Gopher's 152 tasks by family. The total is G's abstract; the split is UNVERIFIED (facts
sheet §7.1: remembered, not checked against the paper; it adds up to 152)."""

PILE_BITS_PER_BYTE: dict[str, tuple[float, float]] = {
    "pile_cc": (0.691, 0.667),
    "pubmed_abstracts": (0.578, 0.559),
    "stackexchange": (0.641, 0.614),
    "github": (0.377, 0.337),
    "openwebtext2": (0.677, 0.647),
    "arxiv": (0.662, 0.627),
    "uspto_backgrounds": (0.546, 0.526),
    "freelaw": (0.513, 0.476),
    "pubmed_central": (0.525, 0.504),
    "dm_mathematics": (1.142, 1.111),
    "hackernews": (0.890, 0.859),
    "nih_exporter": (0.590, 0.572),
    "opensubtitles": (0.900, 0.871),
    "europarl": (0.938, 0.833),
    "books3": (0.712, 0.675),
    "philpapers": (0.695, 0.656),
    "gutenberg_pg_19": (0.656, 0.548),
    "bookcorpus2": (0.741, 0.714),
    "ubuntu_irc": (1.090, 1.026),
}
"""Bits per byte on The Pile's subsets, (Gopher 280B, Chinchilla 70B) (C Table A5)."""


def results_in(family: str) -> list[Reported]:
    """The reported results of one family (``"all"`` for every one).

    Args:
      family: One of `FAMILIES`, or ``"all"``.

    Returns:
      The results, in `RESULTS` order.

    Raises:
      ValueError: an unknown family.
    """
    if family != "all" and family not in FAMILIES:
        raise ValueError(f"Unknown family {family!r}; choose 'all' or one of {FAMILIES}.")
    return [r for r in RESULTS if family in ("all", r.family)]
