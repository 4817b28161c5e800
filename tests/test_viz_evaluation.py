"""Chapter 09's figures, table and task-family explorer, and the reported numbers behind them."""

import pytest

from gopherlite.evaluate import EvalResult
from gopherlite.workbook import reported
from gopherlite.workbook.viz import evaluation as eviz
from gopherlite.workbook.viz.common import static_html


def test_reported_numbers_hold_together():
    assert sum(reported.TASK_COUNTS.values()) == 152  # G abstract; the split is unverified
    assert len(reported.PILE_BITS_PER_BYTE) == 19  # the Pile subsets of C Table A5
    # Chinchilla was better than Gopher on every Pile subset (C Table A5).
    assert all(c < g for g, c in reported.PILE_BITS_PER_BYTE.values())
    assert all(0 < r.gopher < 100 for r in reported.RESULTS)
    assert reported.results_in("MMLU")[0].gopher == 60.0
    assert len(reported.results_in("all")) == len(reported.RESULTS)
    with pytest.raises(ValueError, match="Unknown family"):
        reported.results_in("astrology")


def test_by_source_table_lists_each_group_with_bytes_per_token():
    result = EvalResult(2.0, 7.389, 1.234, 100, 420, 128, 1.9)
    html = eviz.by_source_table({"topic": result, "module": result})
    assert html.count("<tr>") == 3 and "4.20" in html and "1.234" in html and "1.900" in html


def test_pile_figure_sorts_subsets_and_draws_both_models():
    fig = eviz.pile_figure()
    gopher, chinchilla = fig.data
    assert list(gopher.x) == sorted(gopher.x) and gopher.y[0] == "github"
    assert chinchilla.x[list(chinchilla.y).index("europarl")] == 0.833


def test_accuracy_figure_draws_two_standard_errors_and_chance():
    fig = eviz.accuracy_figure({"untrained": (0.25, 0.03), "trained": (0.6, 0.035)}, 0.25, "t")
    assert list(fig.data[0].y) == [25.0, 60.0]
    assert list(fig.data[0].error_y.array) == pytest.approx([6.0, 7.0])
    assert fig.layout.shapes[0].y0 == 25.0


def test_association_figure_sorts_and_colours_by_sign():
    fig = eviz.association_figure({"nurse": -0.5, "engineer": 0.7, "cook": 0.1}, "probe")
    assert list(fig.data[0].y) == ["nurse", "cook", "engineer"]
    assert len(set(fig.data[0].marker.color)) == 2


def test_task_family_explorer_redraws_for_the_chosen_family():
    explorer = eviz.TaskFamilyExplorer()
    assert "152 tasks" in explorer.readout.value
    all_tasks = len(explorer.figure.data[0].x)
    explorer.family.value = "question answering"
    assert len(explorer.figure.data[0].x) == 6 < all_tasks
    assert "question answering" in explorer.figure.layout.title.text
    assert "3 of Gopher's 152 tasks" in explorer.readout.value
    explorer.family.value = "language modelling"
    assert "WikiText103: 7.75 perplexity (Chinchilla 7.16)" in explorer.readout.value
    assert [t.name for t in explorer.figure.data] == [
        "Gopher 280B", "Chinchilla 70B", "GPT-3 175B"
    ]  # fmt: skip
    explorer.family.value = "truthfulness"
    assert "analysed apart" in explorer.readout.value
    assert "TruthfulQA, 10-shot" in static_html(explorer.static())
