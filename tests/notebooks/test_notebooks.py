"""The workbook chapters: committed clean, shaped alike, and runnable headless in smoke mode.

Every ``notebooks/*.ipynb`` is picked up, so new chapters are tested without touching this file.
Execution uses a fresh kernel per chapter with ``GOPHERLITE_SMOKE=1``.
"""

import pathlib
import re
import time

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

# Smoke-mode budgets on a 2-core machine: all chapters together must run in under 10 minutes.
NOTEBOOK_BUDGET_S = 240
CELL_TIMEOUT_S = 240
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# Headings every chapter has, in this order (matched case-insensitively).
SECTION_HEADINGS = ("check your understanding", "exercise", "recap", "references")


def _read(path):
    return nbformat.read(path, as_version=4)


def test_the_first_chapters_exist():
    assert {"00_welcome", "02_tokenization"} <= {path.stem for path in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = _read(path)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} has outputs; clear them"
            assert cell.execution_count is None, f"{path.name} cell {index} has a count"
    assert "widgets" not in nb.metadata, f"{path.name} stores widget state; clear it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_the_workbook_shape(path):
    cells = _read(path).cells
    first = cells[0]
    assert first.cell_type == "markdown" and "colab-badge.svg" in first.source
    assert re.search(r"^# \S", first.source, re.M), "the first cell holds the title"

    code = [cell.source for cell in cells if cell.cell_type == "code"]
    install, setup = code[0], code[1]
    assert "REPO_URL" in install and "import gopherlite" in install and "%pip install" in install
    assert "from gopherlite.workbook import notebook" in setup and "notebook.setup(" in setup

    headings = [
        (index, line.lstrip("#").strip().lower())
        for index, cell in enumerate(cells)
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("#")
    ]
    positions = []
    for wanted in SECTION_HEADINGS:
        found = [index for index, text in headings if text.startswith(wanted)]
        assert found, f"{path.name} has no heading starting with {wanted!r}"
        positions.append(found[0])
    assert positions == sorted(positions), f"{path.name}: sections out of order"
    quiz_at, exercises_at, _, references_at = positions

    after_quiz = [c.source for c in cells[quiz_at:exercises_at] if c.cell_type == "code"]
    assert any("quiz" in source.lower() for source in after_quiz), "no quiz under its heading"
    exercise_text = "\n".join(c.source for c in cells[exercises_at:] if c.cell_type == "markdown")
    assert "<details>" in exercise_text, "exercises need hidden solutions in <details>"
    assert "2112.11446" in "\n".join(c.source for c in cells[references_at:])


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_headless_in_smoke_mode(path, new_kernel_manager, monkeypatch, capsys):
    monkeypatch.setenv("GOPHERLITE_SMOKE", "1")
    nb = _read(path)
    km = new_kernel_manager()
    client = NotebookClient(
        nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    start = time.perf_counter()
    try:
        client.execute()  # raises CellExecutionError, with the traceback, if any cell fails
    finally:  # nbclient leaves a kernel it was given running (it held ~1 GB per chapter)
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n{path.name}: executed in smoke mode in {elapsed:.1f} s")
    assert elapsed < NOTEBOOK_BUDGET_S, f"{path.name} took {elapsed:.0f} s in smoke mode"

    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    setup_text = "".join(output.get("text", "") for output in nb.cells[_code_index(nb, 1)].outputs)
    assert "platform" in setup_text and "smoke mode" in setup_text
    widget_outputs = [o for o in outputs if WIDGET_MIME in o.get("data", {})]
    for output in widget_outputs:
        assert output["data"].get("text/html"), "every widget needs a static HTML fallback"


def _code_index(nb, n):
    """Index in ``nb.cells`` of the n-th code cell (0-based)."""
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"][n]
