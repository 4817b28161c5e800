"""01: lowering the alphabetic-word threshold with the keyboard brings real text back: the
figure's title and the readout's kept bytes must change."""

from tests.browser.test_chapters_in_lab import TEXT_INCLUDES_JS, UI_TIMEOUT_MS

ALPHA_STEPS = 4  # presses of 0.05: from the paper's 0.80 down to 0.60


def check(page, shots):
    explorer = page.locator(".gl-threshold-explorer")
    explorer.scroll_into_view_if_needed()
    title = ".gl-threshold-figure .main-svg .gtitle"
    page.locator(title).first.wait_for(timeout=UI_TIMEOUT_MS)
    assert "alphabetic words ≥ 0.80" in page.locator(title).first.text_content()
    readout_before = page.locator(".gl-threshold-readout").inner_text()
    explorer.screenshot(path=shots / "3-threshold-before.png")

    page.locator(".gl-threshold-alpha .noUi-handle").focus()
    for _ in range(ALPHA_STEPS):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        TEXT_INCLUDES_JS, arg=[title, "alphabetic words ≥ 0.60"], timeout=UI_TIMEOUT_MS
    )
    page.wait_for_function(
        """([selector, before]) => {
          const node = document.querySelector(selector);
          return node !== null && node.innerText !== before;
        }""",
        arg=[".gl-threshold-readout", readout_before],
        timeout=UI_TIMEOUT_MS,
    )
    explorer.screenshot(path=shots / "4-threshold-after.png")
    assert page.locator(".gl-threshold-readout").inner_text() != readout_before
