"""A learner's path through each chapter in a real browser.

JupyterLab serves a copy of the notebooks; headless Chromium opens a chapter, waits for an idle
kernel (a "Run All" sent before that is silently lost), runs every cell from the menu, checks
that no cell failed, and answers a quiz question. Chapters with their own checks then work
their widgets: in 00 the architecture explorer's layer slider is moved with the keyboard and
the parameter count and breakdown figure must follow; in 01 typing into the tokenizer
playground must redraw the pieces; in 05 choosing another layout must redraw the mesh
builder's device grids, and a mesh of the wrong size must show the package's error. Screenshots
go to a kept temporary folder whose path is printed.
"""

import importlib
import re
import tempfile
from pathlib import Path

import pytest

from gopherlite import PRESETS
from gopherlite.counts import total_params

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
RUN_ALL_TIMEOUT_MS = 300_000
UI_TIMEOUT_MS = 60_000
LAYER_STEPS = 4  # arrow-key presses on the layer slider
UPDATE_STEPS = 20  # arrow-key presses on chapter 06's update-size slider (0.05 decades)

# The status bar's kernel item reads "Python 3 (ipykernel) | Idle" once the kernel is up; the
# toolbar's execution indicator alone says "idle" before any kernel is connected.
KERNEL_IDLE_JS = """() => {
  const bar = document.querySelector('#jp-main-statusbar');
  return bar !== null && /\\| Idle/.test(bar.innerText);
}"""
ALL_CELLS_RAN_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (panel === null) return false;
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""
TEXT_INCLUDES_JS = """([selector, text]) => {
  const node = document.querySelector(selector);
  return node !== null && node.textContent.includes(text);
}"""


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_in_lab_and_its_widgets_respond(path, browser, lab, capsys):
    base_url, token, _ = lab
    shots = Path(tempfile.mkdtemp(prefix=f"gopherlite-browser-{path.stem}-"))
    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    try:
        # A workspace of its own per chapter, so no other chapter's tab is restored.
        page.goto(f"{base_url}/lab/workspaces/{path.stem}/tree/notebooks/{path.name}?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=UI_TIMEOUT_MS)
        page.wait_for_function(KERNEL_IDLE_JS, timeout=UI_TIMEOUT_MS)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        page.wait_for_function(ALL_CELLS_RAN_JS, timeout=RUN_ALL_TIMEOUT_MS)
        page.wait_for_function(KERNEL_IDLE_JS, timeout=UI_TIMEOUT_MS)
        page.screenshot(path=shots / "1-ran-all.png")
        failures = [
            text
            for text in page.locator(".jp-OutputArea-output").all_inner_texts()
            if "Traceback" in text or "Error displaying widget" in text
        ]
        assert not failures, "a cell failed:\n" + "\n\n".join(failures)

        _answer_a_quiz_question(page, shots)
        check = chapter_check(path.stem)
        if check is not None:
            check(page, shots)
    finally:
        page.screenshot(path=shots / "9-last.png")
        page.close()
        with capsys.disabled():
            print(f"\n{path.name} browser screenshots: {shots}")


def _answer_a_quiz_question(page, shots):
    """Click the first option of the first quiz question; its explanation must appear."""
    quiz = page.locator(".gl-quiz").first
    quiz.scroll_into_view_if_needed()
    quiz.locator("button").first.click()
    quiz.get_by_text(re.compile("Correct|Not quite")).first.wait_for(timeout=UI_TIMEOUT_MS)
    quiz.screenshot(path=shots / "2-quiz-answered.png")


def _check_architecture_explorer(page, shots):
    """00: moving the layer slider changes the parameter count and the breakdown figure."""
    explorer = page.locator(".gl-architecture-explorer")
    explorer.scroll_into_view_if_needed()
    readout = page.locator(".gl-param-count")
    bar_labels = page.locator(".gl-breakdown .main-svg text.bartext")
    bar_labels.first.wait_for(timeout=UI_TIMEOUT_MS)
    start = PRESETS["44m"]
    assert f"{total_params(start):,}" in readout.inner_text()
    labels_before = bar_labels.all_text_contents()
    explorer.screenshot(path=shots / "3-explorer-before.png")

    page.locator(".gl-layers-slider .noUi-handle").focus()
    for _ in range(LAYER_STEPS):
        page.keyboard.press("ArrowRight")
    moved = start.replace(n_layers=start.n_layers + LAYER_STEPS)
    page.wait_for_function(
        TEXT_INCLUDES_JS, arg=[".gl-param-count", f"{total_params(moved):,}"], timeout=UI_TIMEOUT_MS
    )
    page.wait_for_function(
        """([selector, before]) => {
          const now = [...document.querySelectorAll(selector)].map(t => t.textContent);
          return now.length > 0 && JSON.stringify(now) !== JSON.stringify(before);
        }""",
        arg=[".gl-breakdown .main-svg text.bartext", labels_before],
        timeout=UI_TIMEOUT_MS,
    )
    explorer.screenshot(path=shots / "4-explorer-after.png")
    labels_after = bar_labels.all_text_contents()
    assert labels_after != labels_before and all(labels_after)


def _check_tokenizer_playground(page, shots):
    """02: typing into the playground redraws the coloured pieces."""
    text_box = page.locator(".gl-playground-text textarea")
    text_box.scroll_into_view_if_needed()
    text_box.fill("Gopher tokens: 🦫")
    page.wait_for_function(TEXT_INCLUDES_JS, arg=[".gl-pieces", "<0xF0>"], timeout=UI_TIMEOUT_MS)
    # The pieces' HTML is replaced on every keystroke's redraw; the playground box stays.
    page.locator(".gl-playground").first.screenshot(path=shots / "3-playground.png")


def _check_precision_explorers(page, shots):
    """06: a typed number redraws the bit grid; the update-size slider redraws the sums."""
    bits = page.locator(".gl-bits-explorer")
    bits.scroll_into_view_if_needed()
    bits_title = ".gl-bits-figure .main-svg .gtitle"
    page.locator(bits_title).first.wait_for(timeout=UI_TIMEOUT_MS)
    assert "0.1" in page.locator(".gl-bits-readout").inner_text()
    bits.screenshot(path=shots / "3-bits-before.png")
    text_box = page.locator(".gl-bits-text input")
    text_box.fill("1+2**-8")
    text_box.press("Enter")  # the box commits on Enter (continuous_update=False)
    page.wait_for_function(
        TEXT_INCLUDES_JS, arg=[".gl-bits-readout", "1.00390625"], timeout=UI_TIMEOUT_MS
    )
    page.wait_for_function(TEXT_INCLUDES_JS, arg=[bits_title, "1.00390625"], timeout=UI_TIMEOUT_MS)
    bits.screenshot(path=shots / "4-bits-after.png")

    explorer = page.locator(".gl-accum-explorer")
    explorer.scroll_into_view_if_needed()
    title = ".gl-accum-figure .main-svg .gtitle"
    page.locator(title).first.wait_for(timeout=UI_TIMEOUT_MS)
    title_before = page.locator(title).first.text_content()
    readout_before = page.locator(".gl-accum-readout").inner_text()
    explorer.screenshot(path=shots / "5-accumulation-before.png")
    page.locator(".gl-accum-slider .noUi-handle").focus()
    for _ in range(UPDATE_STEPS):
        page.keyboard.press("ArrowRight")
    # Each key press redraws; wait for the last one, u = 10^(-3 + 20 * 0.05) = 0.01.
    page.wait_for_function(TEXT_INCLUDES_JS, arg=[title, "u = 0.01 "], timeout=UI_TIMEOUT_MS)
    explorer.screenshot(path=shots / "6-accumulation-after.png")
    assert page.locator(title).first.text_content() != title_before
    assert page.locator(".gl-accum-readout").inner_text() != readout_before


def _check_mesh_builder(page, shots):
    """07: a new layout redraws the device grids; a bad mesh shows the package's error."""
    builder = page.locator(".gl-mesh-builder")
    builder.scroll_into_view_if_needed()
    grid_text = ".gl-mesh-grid .main-svg text"
    page.locator(grid_text).first.wait_for(timeout=UI_TIMEOUT_MS)
    texts_before = page.locator(grid_text).all_text_contents()
    assert any("'2d'" in text for text in texts_before)
    builder.screenshot(path=shots / "3-mesh-builder-before.png")

    page.locator(".gl-mesh-layout select").select_option("dp")
    page.wait_for_function(
        """([selector, before]) => {
          const now = [...document.querySelectorAll(selector)].map(t => t.textContent);
          return now.length > 0 && JSON.stringify(now) !== JSON.stringify(before)
            && now.some(t => t.includes("'dp'"));
        }""",
        arg=[grid_text, texts_before],
        timeout=UI_TIMEOUT_MS,
    )
    page.wait_for_function(TEXT_INCLUDES_JS, arg=[".gl-mesh-message", "dp"], timeout=UI_TIMEOUT_MS)
    builder.screenshot(path=shots / "4-mesh-builder-dp.png")
    assert page.locator(grid_text).all_text_contents() != texts_before

    page.locator(".gl-mesh-data select").select_option("4")
    page.wait_for_function(
        TEXT_INCLUDES_JS, arg=[".gl-mesh-message", "needs 16 devices"], timeout=UI_TIMEOUT_MS
    )
    message = page.locator(".gl-mesh-message")
    message.scroll_into_view_if_needed()
    builder.screenshot(path=shots / "5-mesh-builder-bad-mesh.png")
    message.screenshot(path=shots / "6-mesh-message-bad-mesh.png")


CHAPTER_CHECKS = {
    "00_welcome": _check_architecture_explorer,
    "02_tokenization": _check_tokenizer_playground,
    "06_bfloat16_stochastic_rounding": _check_precision_explorers,
    "07_mesh_sharding": _check_mesh_builder,
}


def chapter_check(stem):
    """The widget check for a chapter: listed above, or ``check`` in ``checks/<name>.py``.

    A new chapter ``NN_name`` registers its check in its own module ``tests/browser/checks/
    name.py`` (a function ``check(page, shots)``), so chapters do not share one file.
    """
    if stem in CHAPTER_CHECKS:
        return CHAPTER_CHECKS[stem]
    name = stem.split("_", 1)[1]
    try:
        module = importlib.import_module(f"tests.browser.checks.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"tests.browser.checks.{name}":
            raise
        return None
    return module.check
