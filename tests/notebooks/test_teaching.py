"""Every chapter teaches by code (design §8): the shape of each notebook, read without running it.

* no markdown cell over 300 words (one idea per cell);
* every chapter but the welcome asks for a prediction before a measured run and keeps the
  answer collapsed in ``<details>`` after it (a code cell between the two);
* every chapter but the welcome checks learner-visible code against the package (an
  ``assert`` in a code cell);
* every chapter states its full-mode time, measured ("Full mode takes about **…**").
"""

import pathlib
import re

import nbformat
import pytest

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if not p.name.startswith("00_")]
MAX_WORDS = 300


def _cells(path):
    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_markdown_cell_is_over_300_words(path):
    for index, cell in enumerate(_cells(path)):
        if cell.cell_type == "markdown":
            words = len(cell.source.split())
            assert words <= MAX_WORDS, f"{path.name} cell {index}: {words} words; split it"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_prediction_comes_before_a_run_and_its_answer_is_collapsed_after(path):
    cells = _cells(path)
    pairs = 0
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown" or not re.search(r"\bpredict", cell.source, re.I):
            continue
        if "<details" in cell.source.split("redict", 1)[0]:
            continue  # an answer that merely mentions the prediction
        later = cells[i + 1 :]
        runs = [j for j, c in enumerate(later) if c.cell_type == "code"]
        answers = [
            j for j, c in enumerate(later) if c.cell_type == "markdown" and "<details" in c.source
        ]
        if runs and answers and runs[0] < answers[0]:
            pairs += 1
    assert pairs >= 1, f"{path.name}: no prediction followed by a run and a collapsed answer"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_learner_code_is_checked_against_the_package(path):
    code = [c.source for c in _cells(path) if c.cell_type == "code"]
    assert any(re.search(r"^\s*assert |np\.testing\.assert", s, re.M) for s in code), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_chapter_states_its_measured_full_mode_time(path):
    text = "\n".join(c.source for c in _cells(path) if c.cell_type == "markdown")
    found = re.search(r"Full mode takes about \*\*([^*]+)\*\*", text)
    assert found, f"{path.name}: state 'Full mode takes about **N minutes**' (measured)"
    assert re.search(r"\d", found.group(1)), found.group(1)
