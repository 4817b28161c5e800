"""09: choosing a task family in the explorer redraws the reported bars and the readout."""

from tests.browser.test_chapters_in_lab import TEXT_INCLUDES_JS, UI_TIMEOUT_MS


def check(page, shots):
    explorer = page.locator(".gl-task-explorer")
    explorer.scroll_into_view_if_needed()
    title = ".gl-task-figure .main-svg .gtitle"
    page.locator(title).first.wait_for(timeout=UI_TIMEOUT_MS)
    assert "all" in page.locator(title).first.text_content()
    bars = ".gl-task-figure .main-svg .bars path"
    bars_before = page.locator(bars).count()
    readout_before = page.locator(".gl-task-readout").inner_text()
    assert "152 tasks" in readout_before
    explorer.screenshot(path=shots / "3-tasks-all.png")

    page.locator(".gl-task-family select").select_option("question answering")
    page.wait_for_function(TEXT_INCLUDES_JS, arg=[title, "question answering"],
                           timeout=UI_TIMEOUT_MS)  # fmt: skip
    page.wait_for_function(TEXT_INCLUDES_JS, arg=[".gl-task-readout", "3 of Gopher"],
                           timeout=UI_TIMEOUT_MS)  # fmt: skip
    explorer.screenshot(path=shots / "4-tasks-question-answering.png")
    assert 0 < page.locator(bars).count() < bars_before
