"""10: moving the budget slider moves the compute-optimal point and its readout."""

from tests.browser.test_chapters_in_lab import TEXT_INCLUDES_JS, UI_TIMEOUT_MS

BUDGET_STEPS = 16  # presses of 0.1 decades: from Gopher's 10^23.76 down to about 10^22.2


def check(page, shots):
    explorer = page.locator(".gl-budget-explorer")
    explorer.scroll_into_view_if_needed()
    title = ".gl-budget-figure .main-svg .gtitle"
    page.locator(title).first.wait_for(timeout=UI_TIMEOUT_MS)
    assert "e+23" in page.locator(title).first.text_content()
    readout_before = page.locator(".gl-budget-readout").inner_text()
    explorer.screenshot(path=shots / "3-budget-before.png")

    page.locator(".gl-budget-slider .noUi-handle").focus()
    for _ in range(BUDGET_STEPS):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(TEXT_INCLUDES_JS, arg=[title, "e+22"], timeout=UI_TIMEOUT_MS)
    explorer.screenshot(path=shots / "4-budget-after.png")
    assert page.locator(".gl-budget-readout").inner_text() != readout_before
